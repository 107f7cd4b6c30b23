// dm:send: direct messages, online and offline.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ErrorCode, type DirectMessage } from "../../protocol/index.js";
import {
  client,
  connected,
  DEADLINE_MS,
  next,
  ok,
  record,
  request,
  usingTokens,
  within,
  type TestSocket,
} from "../support/clients.js";
import {
  conversationOf,
  dmBarrier,
  expectError,
  inbox,
  isMessageId,
  names,
  type ClientOptions,
  type Inbox,
  type Nodes,
} from "./helpers.js";

/** A fresh key that claims a name in open mode (LIMITS.claimKey: 16 to 256 characters). */
const claimKey = (): string => randomBytes(16).toString("hex");

/**
 * Connects a socket that records from its first packet on: held DMs follow the handshake at once,
 * before a recorder started after `connect` would see them.
 */
async function connectedWithInbox(url: string, user: string, options: ClientOptions): Promise<[TestSocket, Inbox]> {
  const socket = client(url, user, options);
  const seen = inbox(socket);
  await within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(undefined));
      socket.once("connect_error", reject);
    }),
    `${user} to connect to ${url}`,
  );
  return [socket, seen];
}

/** Registers the dm:send tests. */
export function dmTests(nodes: Nodes): void {
  describe("dm:send", () => {
    it("delivers once to every socket of both users, and to nobody else", async () => {
      const [alice, bob, carol] = names("alice", "bob", "carol");
      const sockets = await nodes.connectAll([alice, bob, alice, bob, carol]);
      const [aliceSocket, bobSocket, , , carolSocket] = sockets;
      const pair = sockets.slice(0, 4);
      const seen = sockets.map(inbox);

      const arrived = Promise.all(pair.map((socket) => next(socket, "dm:message", (dm) => dm.text === "psst")));
      const answer = await ok(aliceSocket, "dm:send", { to: bob, text: "psst" });
      const message: DirectMessage = conversationOf(answer.message);
      expect({ ...answer, message }).toEqual({
        ok: true,
        online: true,
        message: { id: expect.any(String), from: alice, to: bob, text: "psst", ts: expect.any(Number), prev: "" },
      });
      expect(isMessageId(message.id)).toBe(true);
      // Copies differ only in their place in each user's DM feed (token mode: every user has one).
      expect((await arrived).map(conversationOf)).toEqual(pair.map(() => message));

      // The reply continues the same conversation.
      const reply = await dmBarrier(bobSocket, alice, pair);
      expect(reply.prev).toBe(message.id);
      expect(reply.id > message.id).toBe(true);
      for (const { dms } of seen.slice(0, 4)) expect(dms.map(conversationOf)).toEqual([message, conversationOf(reply)]);

      const toCarol = await dmBarrier(aliceSocket, carol, [carolSocket]);
      expect(seen[4]!.dms.map(conversationOf)).toEqual([conversationOf(toCarol)]);
    });

    it("keeps a DM to an offline user and delivers it when they connect, on any node", async () => {
      const [alice, dave] = names("alice", "dave");
      // DMs wait only for a name someone proved theirs: dave claims his with a key, then leaves.
      const withKey = { auth: { user: dave, key: claimKey() } };
      (await connected(nodes.url(1), dave, withKey)).disconnect();
      const [aliceSocket] = await nodes.connectAll([alice]);
      const aliceCopies = record(aliceSocket, "dm:message");

      // No event says when his disconnect has reached every node: alice writes until he counts
      // as offline. Whatever she sent while he still counted online is not kept.
      let attempts = 0;
      let first: { message?: DirectMessage; online?: boolean } = {};
      const writeWhileOut = async () => {
        first = await ok(aliceSocket, "dm:send", { to: dave, text: `while you were out ${++attempts}` });
        return first.online;
      };
      await expect.poll(writeWhileOut, { timeout: DEADLINE_MS }).toBe(false);
      expect(first).toMatchObject({ online: false, message: { from: alice, to: dave } });
      const copied = next(aliceSocket, "dm:message", (dm) => dm.text === "and this");
      const second = await ok(aliceSocket, "dm:send", { to: dave, text: "and this" });
      // The sender's own sockets get their copy at once (in order, so the first's came before).
      expect(await copied).toEqual(second.message);
      expect(aliceCopies).toContainEqual(first.message);

      // Held DMs come with an ack callback; dave acknowledges each, and the server lets it go.
      const daveSocket = client(nodes.url(2), dave, withKey);
      const seen = inbox(daveSocket);
      daveSocket.on("dm:message", (_dm, received) => received?.());
      const delivered = next(daveSocket, "dm:message", (dm) => dm.text === "and this");
      await delivered;
      expect(seen.dms.map(conversationOf)).toEqual([first.message!, second.message].map(conversationOf));
      // Dave proved his name: his copies have their place in his DM feed.
      expect(seen.dms.every((dm) => dm.feedId !== undefined)).toBe(true);

      // Handed over once: a tab that connects after the acks gets only what comes later. The
      // release has no event of its own, so each try opens a tab and sends it a barrier.
      const heldOnNewTab = async () => {
        const [tab, later] = await connectedWithInbox(nodes.url(0), dave, withKey);
        const now = await dmBarrier(aliceSocket, dave, [daveSocket, tab]);
        return later.dms.filter((dm) => dm.id !== now.id);
      };
      await expect.poll(heldOnNewTab, { timeout: DEADLINE_MS }).toEqual([]);
    });

    it("keeps nothing for an offline user who has not claimed the name", async () => {
      const [alice, erin] = names("alice", "erin");
      const [aliceSocket] = await nodes.connectAll([alice]);
      const answer = await ok(aliceSocket, "dm:send", { to: erin, text: "anyone?" });
      expect(answer).toMatchObject({ online: false, message: { from: alice, to: erin } });

      // Even the first connection that claims the name gets only what comes after it.
      const claim = { auth: { user: erin, key: claimKey() } };
      const [erinSocket, seen] = await connectedWithInbox(nodes.url(1), erin, claim);
      const now = await dmBarrier(aliceSocket, erin, [erinSocket]);
      if (usingTokens()) {
        // In token mode every user is proven by their token: the DM was held for erin after all.
        await expect
          .poll(() => seen.dms.map(conversationOf))
          .toEqual(expect.arrayContaining([answer.message, now].map(conversationOf)));
      } else {
        expect(seen.dms.map(conversationOf)).toEqual([conversationOf(now)]);
      }
    });

    it("to oneself reaches each of one's sockets once", async () => {
      const [alice] = names("alice");
      const sockets = await nodes.connectAll([alice, alice]);
      const seen = sockets.map(inbox);
      const note = await dmBarrier(sockets[0]!, alice, sockets);
      expect(note).toMatchObject({ from: alice, to: alice });
      const last = await dmBarrier(sockets[0]!, alice, sockets);
      for (const { dms } of seen) expect(dms).toEqual([note, last]);
    });

    it("with a clientId seen before answers the original and delivers nothing new", async () => {
      const [alice, bob] = names("alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      const seen = inbox(bobSocket);
      const first = await ok(aliceSocket, "dm:send", { to: bob, text: "once", clientId: "dm-1" });
      const again = await ok(aliceSocket, "dm:send", { to: bob, text: "once", clientId: "dm-1" });
      expect(again).toEqual(first);
      const last = await dmBarrier(aliceSocket, bob, [bobSocket]);
      // Bob's copies carry their places in his feed; the answers, alice's.
      expect(seen.dms.map(conversationOf)).toEqual([first.message, last].map(conversationOf));
    });

    it("answers too_long above MAX_MESSAGE_LENGTH", async () => {
      const [alice, bob] = names("alice", "bob");
      const [aliceSocket] = await nodes.connectAll([alice]);
      expectError(await request(aliceSocket, "dm:send", { to: bob, text: "a".repeat(2001) }), ErrorCode.TooLong);
    });
  });
}
