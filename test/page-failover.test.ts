import { afterEach, describe, expect, it } from "vitest";
import { PAGE_NODE_ENV, pageTestbed, screenshotPath, TcpGate } from "./support/browser.js";
import { startProcessCluster } from "./support/processes.js";

const deploy = () => startProcessCluster({ nodes: 2, env: PAGE_NODE_ENV });

/** The longest the page may take to reconnect once a node is reachable again (an upper bound). */
const RECONNECT_DEADLINE_MS = 25_000;

describe("the chat page when its node dies", () => {
  const bed = pageTestbed(deploy);
  let gates: TcpGate[] = [];
  afterEach(async () => {
    await Promise.all(gates.map((gate) => gate.close()));
    gates = [];
  });

  it("shows reconnecting, fails over to the other node, and shows what it missed exactly once", async () => {
    const cluster = bed.deployment;
    const [url0, url1] = cluster.urls as [string, string];
    // Bob reaches node 0 through a gate, shut until alice has written, so that he really is away
    // meanwhile; through it, his connection is the real one to node 0.
    const gate = await TcpGate.start(url0);
    gates.push(gate);
    gate.shut();
    const alice = await bed.open(url0, { nodes: [url0, url1] });
    const bob = await bed.open(url1, { nodes: [url1, gate.url] });

    await Promise.all([alice.signIn("alice"), bob.signIn("bob")]);
    await alice.join("failover");
    await bob.join("failover");
    await alice.send("before the crash");
    await bob.waitForMessage("before the crash");

    // Bob's node dies.
    await cluster.kill(1);
    await bob.banner.getByText(/Reconnecting/).waitFor();

    // Bob writes while away: the message waits, marked as such.
    await bob.send("sent while away");
    await bob.messages("sent while away").getByText("Waiting for the connection…").waitFor();
    await bob.page.screenshot({ path: screenshotPath("reconnecting.png") });

    // Alice, on the live node, goes on writing.
    await alice.send("missed 1");
    await alice.send("missed 2");
    await alice.waitForMessage("missed 2");

    // The way to node 0 opens: bob reconnects there and catches up.
    gate.open();
    // Reconnect attempts back off (up to 10 s apart in the SDK): allow for two more of them.
    await bob.banner.waitFor({ state: "hidden", timeout: RECONNECT_DEADLINE_MS });
    expect(gate.passed).toBeGreaterThan(0);
    await bob.waitForMessage("missed 2");
    await bob.waitForMessage("sent while away");
    await alice.waitForMessage("sent while away");
    await alice.send("after the failover");
    await bob.waitForMessage("after the failover");

    const expected = ["before the crash", "missed 1", "missed 2", "sent while away", "after the failover"];
    for (const page of [alice, bob]) {
      expect(await page.timeline.locator("li.message .text").allTextContents()).toEqual(expected);
      expect(await page.timeline.locator("li.pending").count()).toBe(0);
    }
  });
});
