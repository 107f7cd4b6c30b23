import { afterEach, describe, expect, it } from "vitest";
import { ChatPage, PAGE_NODE_ENV, pageTestbed, screenshotPath, type OpenOptions } from "./support/browser.js";
import { closeAllClients, connected, ok } from "./support/clients.js";
import { startProcessCluster } from "./support/processes.js";

const MAX_MESSAGE_LENGTH = 500;

/** Two real node processes on one Redis, each serving the built page. */
const deploy = () =>
  startProcessCluster({ nodes: 2, env: { ...PAGE_NODE_ENV, MAX_MESSAGE_LENGTH: String(MAX_MESSAGE_LENGTH) } });

describe("the chat page, two people on two nodes", () => {
  const bed = pageTestbed(deploy);
  afterEach(closeAllClients);

  /** Opens the page served by node `index`, which connects there first and fails over to the rest. */
  function open(index: number, options: OpenOptions = {}): Promise<ChatPage> {
    const { urls } = bed.deployment;
    const nodes = [...urls.slice(index), ...urls.slice(0, index)];
    return bed.open(urls[index]!, { nodes, ...options });
  }

  // Each test signs in under names of its own: a page claims its name with a key of its own (kept
  // in its browser context), so a name another test used is taken.
  it("lets two people chat in a room, see each other, and see each other typing", async () => {
    const [ada, ben] = await Promise.all([open(0), open(1)]);
    await Promise.all([ada.signIn("ada"), ben.signIn("ben")]);

    await ada.join("lobby");
    expect(new URL(ada.page.url()).hash).toBe("#/room/lobby");
    await ben.join("lobby");

    // Each sees the other in the member list, and ada is told that ben joined.
    await ada.member("ben").waitFor();
    await ben.member("ada").waitFor();
    await ada.timeline.getByText("ben joined", { exact: true }).waitFor();
    await ada.room("lobby").getByText("2 members").waitFor();

    await ada.send("Hi Ben, Ada here on node 0");
    const atBen = await ben.waitForMessage("Hi Ben, Ada here on node 0");
    await ben.send("Hi Ada! Ben on node 1");
    const atAda = await ada.waitForMessage("Hi Ada! Ben on node 1");

    // Own messages on the right, others' on the left, each with its time and the sender's name.
    expect(await atBen.getAttribute("class")).toContain("other");
    expect(await atAda.getAttribute("class")).toContain("other");
    expect(await (await ada.waitForMessage("Hi Ben, Ada here on node 0")).getAttribute("class")).toContain("own");
    expect(await atBen.locator(".author").textContent()).toBe("ada");
    expect(await atBen.locator("time").getAttribute("datetime")).toMatch(/^\d{4}-\d\d-\d\dT/);
    await ben.timeline.locator("li.day").getByText("Today").waitFor();

    // Typing shows on the other side, and stops when the message goes.
    await ben.messageInput.pressSequentially("I am typ");
    await ada.typing.getByText("ben is typing…").waitFor();
    await ben.messageInput.pressSequentially("ing this");
    await ben.messageInput.press("Enter");
    await ada.waitForMessage("I am typing this");
    await ada.waitFor(() => document.querySelector("#typing")?.textContent === "");

    // Both ended with exactly the three messages, once each, in order.
    for (const page of [ada, ben]) {
      expect(await page.timeline.locator("li.message .text").allTextContents()).toEqual([
        "Hi Ben, Ada here on node 0",
        "Hi Ada! Ben on node 1",
        "I am typing this",
      ]);
    }
  });

  it("sends direct messages in their own conversation, with an unread count", async () => {
    const [cleo, dan] = await Promise.all([open(0), open(1)]);
    await Promise.all([cleo.signIn("cleo"), dan.signIn("dan")]);
    await cleo.join("dm-room");
    await dan.join("dm-room");

    // Cleo picks dan in the member list: a conversation of their own opens.
    await cleo.member("dan").getByRole("button").click();
    await cleo.waitForTitle("dan");
    expect(new URL(cleo.page.url()).hash).toBe("#/dm/dan");
    await cleo.send("Psst, just between us");
    await cleo.waitForMessage("Psst, just between us");
    await cleo.page.screenshot({ path: screenshotPath("dm.png") });

    // Dan is still in the room: the conversation shows up with one unread message.
    await dan.direct("cleo").getByText("1 unread").waitFor();
    expect(await dan.messages("Psst, just between us").count()).toBe(0);
    await dan.direct("cleo").getByRole("button").click();
    await dan.waitForTitle("cleo");
    await dan.waitForMessage("Psst, just between us");
    await dan.direct("cleo").locator(".badge").waitFor({ state: "hidden" });

    await dan.send("Got it");
    await cleo.waitForMessage("Got it");
    const texts = await cleo.timeline.locator("li.message .text").allTextContents();
    expect(texts).toEqual(["Psst, just between us", "Got it"]);
  });

  it("pages back through history without moving what the reader is looking at", async () => {
    const writer = await connected(bed.deployment.urls[0]!, "writer");
    await ok(writer, "room:join", { room: "archive" });
    for (let index = 1; index <= 70; index += 1) {
      await ok(writer, "room:send", { room: "archive", text: `archive message ${index}` });
    }

    const carol = await open(1);
    await carol.signIn("carol");
    await carol.join("archive");
    // The newest 50 are shown, scrolled to the newest.
    await carol.waitForMessage("archive message 70");
    expect(await carol.timeline.locator("li.message").count()).toBe(50);
    expect(await carol.messages("archive message 20").count()).toBe(0);
    await carol.page.waitForFunction(() => {
      const scroller = document.querySelector("#scroller")!;
      return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 4;
    });

    // Reading upwards, the reader asks for older messages from the keyboard.
    await carol.page.locator("#scroller").evaluate((scroller) => (scroller.scrollTop = 0));
    // (The bubble: the message's header goes once message 20 above joins its group.)
    const anchor = carol.messages("archive message 21").locator(".bubble");
    const before = (await anchor.boundingBox())!.y;
    await carol.page.getByRole("button", { name: "Load older messages" }).focus();
    await carol.page.keyboard.press("Enter");
    await carol.messages("archive message 1").waitFor({ state: "attached" });
    await carol.page.getByText("This is the beginning of # archive.").waitFor();
    expect(Math.abs((await anchor.boundingBox())!.y - before)).toBeLessThan(2);
    const texts = await carol.timeline.locator("li.message .text").allTextContents();
    expect(texts).toEqual(Array.from({ length: 70 }, (_, index) => `archive message ${index + 1}`));

    // A new message while the reader is up in the history does not yank the view.
    const top = await carol.page.locator("#scroller").evaluate((scroller) => scroller.scrollTop);
    await ok(writer, "room:send", { room: "archive", text: "archive message 71" });
    await carol.waitForMessage("archive message 71");
    const jump = carol.page.getByRole("button", { name: /New messages/ });
    await jump.waitFor();
    expect(await carol.page.locator("#scroller").evaluate((scroller) => scroller.scrollTop)).toBe(top);
    await jump.click();
    await jump.waitFor({ state: "hidden" });
    expect(await carol.messages("archive message 71").isVisible()).toBe(true);
  });

  it("works from the keyboard alone", async () => {
    const [kim, lee] = await Promise.all([open(0), open(1)]);
    await lee.signIn("lee");
    await lee.join("keys");
    const focused = (id: string) => kim.waitFor((expected) => document.activeElement?.id === expected, id);
    const { keyboard } = kim.page;
    const enter = async (text: string) => {
      await keyboard.type(text);
      await keyboard.press("Enter");
    };

    // The name field has the focus on arrival; then Room, then Message follow by themselves.
    await focused("signin-name");
    await enter("kim");
    await focused("join-room");
    await enter("keys");
    await kim.waitForTitle("# keys");
    await focused("message");
    await enter("typed, not clicked");
    await lee.waitForMessage("typed, not clicked");
    // Shift+Enter starts a new line instead of sending.
    await keyboard.type("two");
    await keyboard.press("Shift+Enter");
    await enter("lines");
    await lee.waitForMessage("two\nlines");

    // Tab reaches lee in the member list; Enter opens the conversation with him.
    for (let presses = 0; presses < 10; presses += 1) {
      const inList = await kim.page.evaluate(() =>
        document.activeElement?.closest("#member-list li")?.getAttribute("data-user"),
      );
      if (inList === "lee") break;
      await keyboard.press("Tab");
    }
    await keyboard.press("Enter");
    await kim.waitForTitle("lee");
    await focused("message");
    await enter("hello from the keyboard");
    await lee.direct("kim").getByText("1 unread").waitFor();
  });

  it("says why the server refused a message, and lets the sender drop it", async () => {
    const page = await open(0);
    await page.signIn("wordy");
    await page.join("limits");
    const long = "x".repeat(MAX_MESSAGE_LENGTH + 1);
    await page.send(long);
    const refused = page.messages(long);
    await refused.getByText(`Not sent: text is longer than ${MAX_MESSAGE_LENGTH} characters.`).waitFor();
    await page.send("short enough");
    await page.waitForMessage("short enough");
    await refused.getByRole("button", { name: "Discard" }).click();
    await refused.waitFor({ state: "detached" });
    expect(await page.timeline.locator("li.message .text").allTextContents()).toEqual(["short enough"]);
    // Said once, beside the message, not again in a toast.
    expect(await page.page.locator(".toast").count()).toBe(0);
  });

  it("keeps the room in the address, and leaves rooms", async () => {
    const [dave, erin] = await Promise.all([open(0, { hash: `#/room/${encodeURIComponent("Team Room")}` }), open(1)]);
    // Signing in on a room's address opens that room.
    await dave.signIn("dave");
    await dave.waitForTitle("# Team Room");
    expect(new URL(dave.page.url()).hash).toBe("#/room/Team%20Room");
    await erin.signIn("erin");
    await erin.join("Team Room");
    await dave.member("erin").waitFor();

    await dave.join("elsewhere");
    expect(new URL(dave.page.url()).hash).toBe("#/room/elsewhere");
    await dave.page.goBack();
    await dave.waitForTitle("# Team Room");

    // Leaving: the room stays listed for its other members, and erin sees dave go.
    await dave.page.getByRole("button", { name: "Leave", exact: true }).click();
    await dave.page.locator("#welcome").waitFor();
    expect(new URL(dave.page.url()).hash).toBe("#/");
    await erin.timeline.getByText("dave left", { exact: true }).waitFor();
    await erin.member("dave").waitFor({ state: "detached" });
    await dave.room("Team Room").getByText("1 member", { exact: true }).waitFor();
    expect(await dave.room("Team Room").getAttribute("class")).not.toContain("joined");
  });

  it("works on a phone-sized screen, one pane at a time", async () => {
    const [frank, gina] = await Promise.all([open(0, { viewport: { width: 390, height: 844 } }), open(1)]);
    await Promise.all([frank.signIn("frank"), gina.signIn("gina")]);
    // Before any room is open, the room list is the page.
    await frank.roomInput.waitFor();
    await frank.join("phones");
    expect(await frank.page.locator("#sidebar").isVisible()).toBe(false);
    await gina.join("phones");
    await gina.send("Can you read this on your phone? It should wrap nicely on a narrow screen.");
    await frank.waitForMessage("Can you read this on your phone? It should wrap nicely on a narrow screen.");
    await frank.send("Yes, every word");
    const mine = await frank.waitForMessage("Yes, every word");
    const box = (await mine.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    // Nothing is wider than the screen.
    expect(await frank.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await frank.page.getByRole("button", { name: "Members", exact: true }).click();
    await frank.member("gina").waitFor();
    await frank.page.screenshot({ path: screenshotPath("phone-members.png") });
    await frank.page.keyboard.press("Escape");
    await frank.page.getByRole("button", { name: /Rooms/ }).click();
    await frank.room("phones").waitFor();
    await frank.page.screenshot({ path: screenshotPath("phone-rooms.png") });
    await frank.room("phones").getByRole("button").click();
    await frank.waitForMessage("Yes, every word");
    await frank.page.screenshot({ path: screenshotPath("phone-chat.png") });
  });

  it("takes a screenshot of two people chatting", async () => {
    const [alice, bob] = await Promise.all([open(0), open(1)]);
    await Promise.all([alice.signIn("alice"), bob.signIn("bob")]);
    await alice.join("general");
    await bob.join("general");
    await alice.member("bob").waitFor();
    const lines: [ChatPage, string][] = [
      [bob, "Morning! Is the new cluster up?"],
      [alice, "Yes, two nodes behind the load balancer since 9."],
      [alice, "Redis keeps the history, so either node can answer."],
      [bob, "Nice. What happens if one of them dies?"],
      [alice, "Your page reconnects to the other one and picks up exactly where it stopped."],
      [bob, "Even the messages sent while I was away?"],
      [alice, "Each of them, once, in order."],
    ];
    for (const [page, text] of lines) {
      await page.send(text);
      await Promise.all([alice.waitForMessage(text), bob.waitForMessage(text)]);
    }
    // A direct message waiting for alice, and bob typing in the room.
    await bob.member("alice").getByRole("button").click();
    await bob.waitForTitle("alice");
    await bob.send("Lunch after the demo?");
    await alice.direct("bob").getByText("1 unread").waitFor();
    await bob.room("general").getByRole("button").click();
    await bob.waitForTitle("# general");
    await bob.messageInput.pressSequentially("Let me try");
    await alice.typing.getByText("bob is typing…").waitFor();
    await alice.page.mouse.move(1, 1); // no hover left on the last button clicked
    await alice.page.screenshot({ path: screenshotPath("chat.png") });
    if (process.env.UPDATE_SCREENSHOT === "1") {
      await alice.page.screenshot({ path: new URL("../docs/screenshot.png", import.meta.url).pathname });
    }
  });
});
