// Bad input: every malformed payload gets a coded error, and nobody else notices.
import { describe, expect, it } from "vitest";
import { CLIENT_EVENTS, ErrorCode } from "../../protocol/index.js";
import { DEADLINE_MS, next, request, usingTokens } from "../support/clients.js";
import { tokenFor } from "../support/tokens.js";
import { badInput, LARGE, OVERSIZED, valid } from "./bad-input.js";
import {
  barrier,
  bystanders,
  conversationOf,
  disconnected,
  dmBarrier,
  expectError,
  inbox,
  join,
  joinAll,
  names,
  untyped,
  type Nodes,
} from "./helpers.js";

/** Registers the bad input tests. */
export function validationTests(nodes: Nodes): void {
  describe("bad input", () => {
    for (const event of CLIENT_EVENTS) {
      it(`${event}: every malformed payload gets a coded error, and nobody else notices`, async () => {
        const [room, spare, mallory, bob] = names("sweep", "spare", "mallory", "bob");
        const calm = await bystanders(nodes);
        const [socket, bobSocket] = await nodes.connectAll([mallory, bob]);
        await joinAll(room, [socket, bobSocket]);
        await join(socket, spare);

        for (const { label, payload, code = ErrorCode.BadRequest } of badInput(room, bob)[event]) {
          expectError(await request(socket, event, payload), code, `${event} with ${label}`);
        }
        // In open mode this socket brought no key: its name is not proven, so it has no DM feed to read.
        const unprovenSync = event === "dm:sync" && !usingTokens();
        // An ack but no payload at all.
        const bare = await untyped(socket).timeout(DEADLINE_MS).emitWithAck(event);
        if (unprovenSync) expectError(bare, ErrorCode.Forbidden, "dm:sync without a proven name");
        else if (event === "rooms:list" || event === "dm:sync") expect(bare.ok).toBe(true);
        else expectError(bare, ErrorCode.BadRequest, `${event} without a payload`);

        expect(socket.connected).toBe(true);
        if (unprovenSync) {
          expectError(await request(socket, event, valid(room, spare, bob)[event]), ErrorCode.Forbidden, event);
        } else if (event === "auth:refresh" && !usingTokens()) {
          const answer = await request(socket, event, valid(room, spare, bob)[event]);
          expectError(answer, ErrorCode.BadRequest, "auth:refresh in open mode");
        } else {
          // In token mode, a fresh token for the socket's own user.
          const payload = event === "auth:refresh" ? { token: tokenFor(mallory) } : valid(room, spare, bob)[event];
          expect(await request(socket, event, payload)).toMatchObject({ ok: true });
        }
        await calm.check();
      });
    }

    it("tolerates events without an ack callback, and unknown events", async () => {
      const [room, spare, mallory, bob] = names("no-ack", "spare", "mallory", "bob");
      const calm = await bystanders(nodes);
      const [socket, bobSocket] = await nodes.connectAll([mallory, bob]);
      await joinAll(room, [socket, bobSocket]);
      await join(socket, spare);
      const bobSeen = inbox(bobSocket);

      const raw = untyped(socket);
      const requests = valid(room, spare, bob);
      // The valid ones still do their work; the rest are answered into the void.
      const effects = Promise.all([
        next(bobSocket, "room:message"),
        next(bobSocket, "room:typing"),
        next(bobSocket, "dm:message"),
      ]);
      for (const event of CLIENT_EVENTS) {
        raw.emit(event, requests[event]);
        raw.emit(event, null);
        raw.emit(event);
      }
      raw.emit("no such event", { room });
      raw.emit("no such event");
      await effects;

      const last = await barrier(socket, room, [bobSocket]);
      const lastDm = await dmBarrier(socket, bob, [bobSocket]);
      expect(bobSeen.messages).toEqual([expect.objectContaining({ text: "hello", from: mallory }), last]);
      expect(bobSeen.typing).toEqual([{ room, user: mallory, typing: true }]);
      // The sender's copy places the DM in the sender's feed, bob's in bob's: compare the conversation.
      expect(bobSeen.dms.map(conversationOf)).toEqual([
        expect.objectContaining({ text: "hello", from: mallory }),
        conversationOf(lastDm),
      ]);
      expect(bobSeen.presence).toEqual([]);
      expect(socket.connected).toBe(true);
      expect(await request(socket, "rooms:list", {})).toMatchObject({ ok: true });
      await calm.check();
    });

    for (const transport of ["websocket", "polling"] as const) {
      it(`over ${transport}: a binary packet closes the connection at once (the protocol is JSON only)`, async () => {
        const [room, mallory] = names("binary", "mallory");
        const calm = await bystanders(nodes);
        const [socket] = await nodes.connectAll([mallory], { transports: [transport] });
        await join(socket, room);

        const closed = disconnected(socket);
        untyped(socket).emit("room:send", { room, text: Buffer.from("hi") });
        expect(await closed).toMatch(/transport close|transport error|parse error/);
        await calm.check();
        const [again] = await nodes.connectAll([mallory], { transports: [transport] });
        expect(await join(again, room)).toMatchObject({ ok: true });
      });

      it(`over ${transport}: 60 KB gets a coded error, above 64 KB the server closes the connection`, async () => {
        const [room, mallory] = names("size", "mallory");
        const calm = await bystanders(nodes);
        const [socket] = await nodes.connectAll([mallory], { transports: [transport] });
        await join(socket, room);

        expectError(await request(socket, "room:send", { room, text: LARGE }), ErrorCode.TooLong);
        expectError(await request(socket, "room:join", { room: LARGE }), ErrorCode.BadRequest);
        expect(socket.connected).toBe(true);

        const closed = disconnected(socket);
        untyped(socket).emit("room:send", { room, text: OVERSIZED });
        // Over WebSocket the server closes the socket; over polling it answers the POST with 413.
        expect(await closed).toBe(transport === "websocket" ? "transport close" : "transport error");
        await calm.check();
        // The server is none the worse: the same user connects again.
        const [again] = await nodes.connectAll([mallory], { transports: [transport] });
        expect(await join(again, room)).toMatchObject({ ok: true });
      });
    }
  });
}
