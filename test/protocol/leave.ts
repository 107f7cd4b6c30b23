// room:leave.
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../protocol/index.js";
import { next, ok, request } from "../support/clients.js";
import { dmBarrier, expectError, inbox, join, joinAll, names, send, type Nodes } from "./helpers.js";

/** Registers the room:leave tests. */
export function leaveTests(nodes: Nodes): void {
  describe("room:leave", () => {
    it("stops delivery to the leaver and tells the room", async () => {
      const [room, alice, bob] = names("leave", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      await joinAll(room, [aliceSocket, bobSocket]);
      const seenByBob = inbox(bobSocket);

      const told = next(aliceSocket, "room:presence", (presence) => presence.event === "leave");
      expect(await request(bobSocket, "room:leave", { room })).toEqual({ ok: true });
      expect(await told).toEqual({ room, user: bob, event: "leave", members: 1 });

      await send(aliceSocket, room, "after bob left");
      await dmBarrier(aliceSocket, bob, [bobSocket]);
      expect(seenByBob.messages).toEqual([]);
    });

    it("answers not_joined for a room not joined, and after leaving", async () => {
      const [room, alice] = names("not-joined", "alice");
      const [socket] = await nodes.connectAll([alice]);
      expectError(await request(socket, "room:leave", { room }), ErrorCode.NotJoined);
      await join(socket, room);
      await ok(socket, "room:leave", { room });
      expectError(await request(socket, "room:leave", { room }), ErrorCode.NotJoined);
      expectError(await request(socket, "room:send", { room, text: "hi" }), ErrorCode.NotJoined);
      expectError(await request(socket, "room:history", { room }), ErrorCode.NotJoined);
    });
  });
}
