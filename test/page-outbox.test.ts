import { afterEach, describe, expect, it } from "vitest";
import { PAGE_NODE_ENV, pageTestbed, TcpGate, type ChatPage } from "./support/browser.js";
import { closeAllClients, connected, ok, record } from "./support/clients.js";
import { startProcessCluster } from "./support/processes.js";

/** Node 0 serves the page and the watcher; the page's socket goes to node 1, through a gate. */
const deploy = () => startProcessCluster({ nodes: 2, env: PAGE_NODE_ENV });

/** The longest the page may take to connect once its node is reachable (SDK backoff: up to 10 s). */
const RECONNECT_DEADLINE_MS = 25_000;
const ITEM_PREFIX = "roomcast.outbox:";

/** What the page keeps in `localStorage` for its unsent messages: every entry of every item. */
function savedEntries(page: ChatPage): Promise<{ text: string; clientId: string }[]> {
  return page.page.evaluate((prefix) => {
    const entries: { text: string; clientId: string }[] = [];
    for (let index = 0; index < localStorage.length; index += 1) {
      const item = localStorage.key(index);
      if (item?.startsWith(prefix)) entries.push(...(JSON.parse(localStorage.getItem(item)!) as typeof entries));
    }
    return entries;
  }, ITEM_PREFIX);
}

describe("the chat page keeps what you typed", () => {
  const bed = pageTestbed(deploy);
  let gates: TcpGate[] = [];
  afterEach(async () => {
    closeAllClients();
    await Promise.all(gates.map((gate) => gate.close()));
    gates = [];
  });

  it("sends messages written offline once each, in order, after a reload while still offline", async () => {
    const cluster = bed.deployment;
    const [url0] = cluster.urls as [string, string];
    const gate = await TcpGate.start(cluster.urls[1]!);
    gates.push(gate);

    // A watcher on node 0 records every message of the room.
    const watcher = await connected(url0, "watcher");
    await ok(watcher, "room:join", { room: "outbox" });
    const seen = record(watcher, "room:message");

    // The page comes from node 0 over HTTP; its chat connection goes to node 1 through the gate.
    const eve = await bed.open(url0, { nodes: [gate.url] });
    await eve.signIn("eve");
    await eve.join("outbox");
    await eve.send("before the outage");
    await eve.waitForMessage("before the outage");

    // Offline: no new connection gets through, and the open one dies with its node.
    gate.shut();
    await cluster.kill(1);
    await eve.banner.getByText(/Reconnecting/).waitFor();
    await cluster.restart(1);

    const written = ["offline 1", "offline 2", "offline 3"];
    for (const text of written) await eve.send(text);
    for (const text of written) await eve.messages(text).getByText("Waiting for the connection…").waitFor();
    await expect.poll(async () => (await savedEntries(eve)).map((entry) => entry.text)).toEqual(written);
    const clientIds = (await savedEntries(eve)).map((entry) => entry.clientId);
    expect(new Set(clientIds).size).toBe(3);

    // Reloaded while still offline: the page loads (node 0), the chat server stays out of reach.
    await eve.page.reload();
    await eve.signInAsRemembered();
    await eve.page.getByText("Still trying to reach the chat server…").waitFor();
    expect(gate.passed).toBe(1);
    expect((await savedEntries(eve)).map((entry) => entry.clientId)).toEqual(clientIds);

    // As if the first send had reached the server and only its ack was lost: "offline 1" is
    // stored under its clientId by eve (her key) on node 0. Resent under the same clientId it is
    // not stored again; under a new one, it would be, and the watcher would get it twice.
    const key = await eve.page.evaluate(() => localStorage.getItem("roomcast.key"));
    const eveElsewhere = await connected(url0, "eve", { auth: { user: "eve", key } });
    await ok(eveElsewhere, "room:join", { room: "outbox" });
    await ok(eveElsewhere, "room:send", { room: "outbox", text: written[0], clientId: clientIds[0] });
    eveElsewhere.disconnect();

    // Online again: the page signs in, rejoins the room and sends the three, as they were.
    gate.open();
    await eve.page.locator("#chat").waitFor({ state: "visible", timeout: RECONNECT_DEADLINE_MS });
    await eve.waitForTitle("# outbox");
    for (const text of written) await eve.waitForMessage(text);
    await eve.send("after the reload");
    await eve.waitForMessage("after the reload");
    // Sends go one at a time, in order: a duplicate of the three would have arrived before this one.
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(5);

    const expected = ["before the outage", ...written, "after the reload"];
    expect(seen.map((message) => `${message.from}: ${message.text}`)).toEqual(expected.map((text) => `eve: ${text}`));
    const { messages } = await ok(watcher, "room:history", { room: "outbox" });
    expect(messages.map((message) => message.text)).toEqual(expected);
    expect(await eve.timeline.locator("li.message .text").allTextContents()).toEqual(expected);
    expect(await eve.timeline.locator("li.pending").count()).toBe(0);
    await expect.poll(() => savedEntries(eve)).toEqual([]);
  });

  it("keeps DMs through a reload: those received before and while away, and those written offline, once each", async () => {
    const cluster = bed.deployment;
    const [url0] = cluster.urls as [string, string];
    const gate = await TcpGate.start(cluster.urls[1]!);
    gates.push(gate);

    const bob = await connected(url0, "bob");
    const atBob = record(bob, "dm:message");
    const fay = await bed.open(url0, { nodes: [gate.url] });
    await fay.signIn("fay");
    await ok(bob, "dm:send", { to: "fay", text: "hello fay" });
    await fay.direct("bob").getByText("1 unread").waitFor();
    await fay.direct("bob").getByRole("button").click();
    await fay.waitForTitle("bob");
    await fay.waitForMessage("hello fay");

    // Offline: her node dies, and the gate lets no new connection through.
    gate.shut();
    await cluster.kill(1);
    await fay.banner.getByText(/Reconnecting/).waitFor();
    await cluster.restart(1);
    await ok(bob, "dm:send", { to: "fay", text: "while you were away" });
    const written = ["dm offline 1", "dm offline 2", "dm offline 3"];
    for (const text of written) await fay.send(text);
    for (const text of written) await fay.messages(text).getByText("Waiting for the connection…").waitFor();
    await expect.poll(async () => (await savedEntries(fay)).map((entry) => entry.text)).toEqual(written);

    // Reloaded while still offline, then online: the page reads her DM feed, and sends the three.
    await fay.page.reload();
    await fay.signInAsRemembered();
    await fay.page.getByText("Still trying to reach the chat server…").waitFor();
    gate.open();
    await fay.page.locator("#chat").waitFor({ state: "visible", timeout: RECONNECT_DEADLINE_MS });
    await fay.waitForTitle("bob");
    for (const text of written) await fay.waitForMessage(text);
    await fay.waitForMessage("while you were away");
    await ok(bob, "dm:send", { to: "fay", text: "welcome back" });
    await fay.waitForMessage("welcome back");

    const expected = ["hello fay", "while you were away", ...written, "welcome back"];
    expect(await fay.timeline.locator("li.message .text").allTextContents()).toEqual(expected);
    expect(await fay.timeline.locator("li.pending").count()).toBe(0);
    // Bob got each of hers once (a duplicate would have come before his own last DM's echo).
    await expect
      .poll(() => atBob.map((dm) => dm.text))
      .toEqual(["hello fay", "while you were away", ...written, "welcome back"]);
    await expect.poll(() => savedEntries(fay)).toEqual([]);
  });
});
