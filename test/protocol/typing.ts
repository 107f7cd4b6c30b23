// typing: relayed to the others in the room, never kept.
import { describe, expect, it } from "vitest";
import { ErrorCode, type ChatMessage } from "../../protocol/index.js";
import { next, request } from "../support/clients.js";
import { barrier, expectError, inbox, join, joinAll, names, type Nodes } from "./helpers.js";

/** Registers the typing tests. */
export function typingTests(nodes: Nodes): void {
  describe("typing", () => {
    it("reaches the others, never a socket of the typist, and is not kept", async () => {
      const [room, alice, bob, carol] = names("typing", "alice", "bob", "carol");
      const [aliceSocket, bobSocket, aliceTab, carolSocket] = await nodes.connectAll([alice, bob, alice, carol]);
      await joinAll(room, [aliceSocket, bobSocket, aliceTab]);
      const [aliceSeen, bobSeen, tabSeen] = [inbox(aliceSocket), inbox(bobSocket), inbox(aliceTab)];

      const told = next(bobSocket, "room:typing");
      expect(await request(aliceSocket, "typing", { room, typing: true })).toEqual({ ok: true });
      expect(await told).toEqual({ room, user: alice, typing: true });
      expect(await request(aliceSocket, "typing", { room, typing: false })).toEqual({ ok: true });

      await barrier(aliceSocket, room, [aliceSocket, bobSocket, aliceTab]);
      expect(bobSeen.typing).toEqual([
        { room, user: alice, typing: true },
        { room, user: alice, typing: false },
      ]);
      expect(aliceSeen.typing).toEqual([]);
      expect(tabSeen.typing).toEqual([]);

      const { history } = await join(carolSocket, room);
      expect(history.map((m: ChatMessage) => m.from)).toEqual([alice]);
    });

    it("answers not_joined for a room not joined", async () => {
      const [room, alice] = names("typing-outside", "alice");
      const [socket] = await nodes.connectAll([alice]);
      expectError(await request(socket, "typing", { room, typing: true }), ErrorCode.NotJoined);
    });
  });
}
