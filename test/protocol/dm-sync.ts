// dm:sync: each proven user's DM feed, every DM to or from them in order, read back after a gap.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ErrorCode, type DirectMessage, type DirectSyncResult } from "../../protocol/index.js";
import { connected, ok, request, usingTokens, type TestSocket } from "../support/clients.js";
import { conversationOf, dmBarrier, expectError, inbox, isMessageId, names, type Nodes } from "./helpers.js";

/** The handshake of a user who proves their name: a claim key in open mode (a token in token mode). */
const proven = (user: string) => ({ auth: { user, key: randomBytes(16).toString("hex") } });

/** Connects each user, proven, the k-th to node k. */
const connectProven = <T extends string[]>(nodes: Nodes, users: [...T]) =>
  Promise.all(users.map((user, k) => connected(nodes.url(k), user, proven(user)))) as Promise<{
    [K in keyof T]: TestSocket;
  }>;

const sync = (socket: TestSocket, since?: string): Promise<DirectSyncResult> =>
  ok(socket, "dm:sync", since === undefined ? {} : { since });

/** Sends `count` DMs, one after another, and answers them as the sender's feed has them. */
async function dmMany(sender: TestSocket, to: string, count: number, label = "dm"): Promise<DirectMessage[]> {
  const sent: DirectMessage[] = [];
  for (let i = 0; i < count; i++) sent.push((await ok(sender, "dm:send", { to, text: `${label} ${i}` })).message);
  return sent;
}

/** Checks that `feed` is one unbroken run of a feed, in order: each entry's `feedPrev` is the one before. */
function expectUnbroken(feed: readonly DirectMessage[]): void {
  for (const [index, dm] of feed.entries()) {
    expect(isMessageId(dm.feedId)).toBe(true);
    if (index > 0) expect(dm.feedPrev).toBe(feed[index - 1]!.feedId);
  }
}

/** Registers the dm:sync tests. */
export function dmSyncTests(nodes: Nodes): void {
  describe("dm:sync", () => {
    it("a proven user's feed holds every DM to or from them, in order, the same live and read back", async () => {
      const [alice, bob, carol] = names("alice", "bob", "carol");
      const [aliceSocket, bobSocket, carolSocket] = await connectProven(nodes, [alice, bob, carol]);
      const live = inbox(aliceSocket);
      const toAlice = await dmBarrier(bobSocket, alice, [aliceSocket]);
      const fromAlice = (await ok(aliceSocket, "dm:send", { to: carol, text: "hi carol" })).message;
      const fromCarol = await dmBarrier(carolSocket, alice, [aliceSocket]);

      const whole = await sync(aliceSocket);
      expect(whole.recovered).toBe(true);
      expect(whole.messages.map(conversationOf)).toEqual([toAlice, fromAlice, fromCarol].map(conversationOf));
      expectUnbroken(whole.messages);
      expect(whole.messages[0]!.feedPrev).toBe("");
      // Live copies carry the same feed places as the read-back ones (the sender's own included).
      expect(live.dms).toEqual(whole.messages);
      expect(whole.messages[1]).toEqual(fromAlice);

      // Each side has its own feed: bob's holds only his DM to alice.
      expect((await sync(bobSocket)).messages.map(conversationOf)).toEqual([conversationOf(toAlice)]);
      // After an id: only what came later.
      expect(await sync(aliceSocket, whole.messages[0]!.feedId)).toEqual({
        ok: true,
        messages: whole.messages.slice(1),
        recovered: true,
      });
      expect(await sync(aliceSocket, whole.messages[2]!.feedId)).toEqual({ ok: true, messages: [], recovered: true });
    });

    it("a clientId sent again stores the DM in each feed once", async () => {
      const [alice, bob] = names("alice", "bob");
      const [aliceSocket, bobSocket] = await connectProven(nodes, [alice, bob]);
      const request = { to: bob, text: "once", clientId: "feed-once" };
      const first = await ok(aliceSocket, "dm:send", request);
      expect(await ok(aliceSocket, "dm:send", request)).toEqual(first);
      await dmBarrier(aliceSocket, bob, [bobSocket]);
      for (const socket of [aliceSocket, bobSocket]) {
        expect((await sync(socket)).messages.map((dm) => dm.text)).toEqual([
          "once",
          expect.stringMatching(/^dm-barrier/),
        ]);
      }
    });

    it("a DM to oneself is in one's feed once", async () => {
      const [alice] = names("alice");
      const socket = await connected(nodes.url(0), alice, proven(alice));
      const note = await dmBarrier(socket, alice, [socket]);
      expect((await sync(socket)).messages).toEqual([note]);
    });

    it("keeps no feed for a name nobody proved: what was sent before the claim stays out of it", async () => {
      const [alice, erin] = names("alice", "erin");
      const aliceSocket = await connected(nodes.url(0), alice, proven(alice));
      await ok(aliceSocket, "dm:send", { to: erin, text: "before the claim" });
      const erinSocket = await connected(nodes.url(1), erin, proven(erin));
      const after = await dmBarrier(aliceSocket, erin, [erinSocket]);
      const feed = (await sync(erinSocket)).messages;
      if (usingTokens()) {
        // In token mode every name is someone's: the first DM was kept for erin too.
        expect(feed.map((dm) => dm.text)).toEqual(["before the claim", after.text]);
      } else {
        expect(feed.map(conversationOf)).toEqual([conversationOf(after)]);
      }
    });

    it.skipIf(usingTokens())("is refused to a connection that did not prove its name", async () => {
      const [alice] = names("alice");
      const keyless = await connected(nodes.url(0), alice);
      expectError(await request(keyless, "dm:sync", {}), ErrorCode.Forbidden);
      expect(keyless.connected).toBe(true);
    });
  });
}

/** Registers the dm:sync tests that need HISTORY_SIZE=`size`. */
export function dmSyncOnShortFeedTests(short: Nodes, size: number): void {
  it("dm:sync with since older than the feed answers recovered: false and the newest it keeps", async () => {
    const [alice, bob] = names("alice", "bob");
    const [aliceSocket, bobSocket] = await connectProven(short, [alice, bob]);
    // Short texts: this deployment's MAX_MESSAGE_LENGTH is 10. An ack means the DM is stored.
    await ok(aliceSocket, "dm:send", { to: bob, text: "first" });
    const [first] = (await sync(bobSocket)).messages;
    expect(first?.text).toBe("first");
    const later = await dmMany(aliceSocket, bob, size + 2, "l");

    const answer = await sync(bobSocket, first!.feedId);
    expect(answer.recovered).toBe(false);
    expect(answer.messages).toHaveLength(size);
    expectUnbroken(answer.messages);
    expect(answer.messages.map(conversationOf)).toEqual(later.slice(-size).map(conversationOf));
  });
}
