// room:send: delivery, ids, idempotency and text.
import { describe, expect, it } from "vitest";
import { ErrorCode, type ChatMessage } from "../../protocol/index.js";
import { ok, request } from "../support/clients.js";
import {
  arrivals,
  barrier,
  dmBarrier,
  expectError,
  inbox,
  isMessageId,
  join,
  joinAll,
  names,
  send,
  type Nodes,
} from "./helpers.js";

/** Registers the room:send tests. */
export function sendTests(nodes: Nodes): void {
  describe("room:send", () => {
    it("delivers once to every member's every socket, the sender's included", async () => {
      const [room, alice, bob, carol] = names("send", "alice", "bob", "carol");
      const sockets = await nodes.connectAll([alice, bob, alice, carol]);
      await joinAll(room, sockets);
      const seen = sockets.map(inbox);

      const before = Date.now();
      const arrived = arrivals(sockets, "hello");
      const message = await send(sockets[0]!, room, "hello");
      expect(message).toEqual({
        id: expect.any(String),
        room,
        from: alice,
        text: "hello",
        ts: expect.any(Number),
        prev: "",
      });
      expect(isMessageId(message.id)).toBe(true);
      expect(message.ts).toBeGreaterThanOrEqual(before);
      expect(message.ts).toBeLessThanOrEqual(Date.now());
      expect(await arrived).toEqual(sockets.map(() => message));

      const last = await barrier(sockets[0]!, room, sockets);
      for (const messages of seen.map((s) => s.messages)) expect(messages).toEqual([message, last]);
    });

    it("delivers a room's messages in id order to every member, when senders on several nodes send at once", async () => {
      const [room, alice, bob, carol, dave] = names("crossing", "alice", "bob", "carol", "dave");
      const sockets = await nodes.connectAll([alice, bob, carol, dave]);
      await joinAll(room, sockets);
      const seen = sockets.map(inbox);
      // Emitted without waiting, from sockets spread over the nodes, so that their messages cross.
      const bursts = [sockets[0]!, sockets[1]!].map((socket, s) =>
        Promise.all(Array.from({ length: 30 }, (_, i) => send(socket, room, `s${s} m${i}`))),
      );
      await Promise.all(bursts);
      await barrier(sockets[0]!, room, sockets);
      for (const { messages } of seen) {
        expect(messages).toHaveLength(61);
        // Each names the one delivered just before it: no member needs `prev` to repair the order.
        expect(messages.map((m) => m.prev)).toEqual(["", ...messages.slice(0, -1).map((m) => m.id)]);
      }
    });

    it("gives ids that sort in send order, each naming the one before", async () => {
      const [room, alice, bob] = names("order", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      await joinAll(room, [aliceSocket, bobSocket]);
      const seen = inbox(bobSocket);
      // Emitted without waiting, so that several land in the same millisecond.
      const texts = Array.from({ length: 20 }, (_, i) => `burst ${i}`);
      const sent = await Promise.all(texts.map((text) => send(aliceSocket, room, text)));
      expect(sent.map((m) => m.text)).toEqual(texts);
      const ids = sent.map((m) => m.id);
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      expect(sent.slice(1).map((m) => m.prev)).toEqual(ids.slice(0, -1));

      await barrier(aliceSocket, room, [bobSocket]);
      expect(seen.messages.slice(0, -1)).toEqual(sent);
    });

    it("with a clientId seen before answers the original and broadcasts nothing", async () => {
      const [room, alice, bob] = names("idempotent", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      await joinAll(room, [aliceSocket, bobSocket]);
      const seen = inbox(bobSocket);

      const arrived = arrivals([bobSocket], "once");
      const first = await send(aliceSocket, room, "once", "client-1");
      await arrived;
      const again = await send(aliceSocket, room, "once", "client-1");
      expect(again).toEqual(first);
      // The key belongs to its sender: the same clientId from bob is a new message.
      const bobs = await send(bobSocket, room, "mine", "client-1");
      expect(bobs.id).not.toBe(first.id);

      const last = await barrier(aliceSocket, room, [bobSocket]);
      expect(seen.messages).toEqual([first, bobs, last]);
      const { messages } = await ok(bobSocket, "room:history", { room });
      expect(messages).toEqual([first, bobs, last]);
    });

    it("answers not_joined to a room not joined, and delivers nothing there", async () => {
      const [room, alice, bob] = names("outside", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      await join(bobSocket, room);
      const seen = inbox(bobSocket);
      expectError(await request(aliceSocket, "room:send", { room, text: "let me in" }), ErrorCode.NotJoined);
      await dmBarrier(aliceSocket, bob, [bobSocket]);
      expect(seen.messages).toEqual([]);
    });

    it("answers too_long above MAX_MESSAGE_LENGTH (2000 by default)", async () => {
      const [room, alice] = names("long", "alice");
      const [socket] = await nodes.connectAll([alice]);
      await join(socket, room);
      expect((await send(socket, room, "a".repeat(2000))).text).toHaveLength(2000);
      expectError(await request(socket, "room:send", { room, text: "a".repeat(2001) }), ErrorCode.TooLong);
    });

    it("stores and sends the text exactly as given", async () => {
      const [room, alice, bob, carol] = names("verbatim", "alice", "bob", "carol");
      const [aliceSocket, bobSocket, carolSocket] = await nodes.connectAll([alice, bob, carol]);
      await joinAll(room, [aliceSocket, bobSocket]);
      const texts = [
        "<img src=x onerror=alert(1)>",
        "<script>alert('x')</script> & &amp; \"quoted\"",
        "  padded with spaces  ",
        "line one\nline two\r\n\ttabbed",
        // Not normalized, unlike names: the decomposed form stays decomposed.
        "Cafe\u0301 \u202eright-to-left\u202c 😀 房间",
        "\u0000 and \u001b[31m escapes",
        '{"__proto__": {"admin": true}}',
      ];
      const seen = inbox(bobSocket);
      for (const text of texts) expect((await send(aliceSocket, room, text)).text).toBe(text);
      await barrier(aliceSocket, room, [bobSocket]);
      expect(seen.messages.slice(0, -1).map((m) => m.text)).toEqual(texts);

      const { history } = await join(carolSocket, room);
      expect(history.slice(0, -1).map((m: ChatMessage) => m.text)).toEqual(texts);
    });
  });
}
