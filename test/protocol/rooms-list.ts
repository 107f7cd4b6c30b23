// rooms:list.
import { describe, expect, it } from "vitest";
import type { AckOf } from "../../protocol/index.js";
import { DEADLINE_MS, ok, request } from "../support/clients.js";
import { join, joinAll, names, untyped, type Nodes } from "./helpers.js";

/** Registers the rooms:list tests. */
export function roomsListTests(nodes: Nodes): void {
  describe("rooms:list", () => {
    it("lists rooms with members, sorted by name, with distinct user counts", async () => {
      const [a, b, gone, alice, bob, carol] = names("list-a", "list-b", "list-gone", "alice", "bob", "carol");
      const [aliceSocket, bobSocket, aliceTab, carolSocket] = await nodes.connectAll([alice, bob, alice, carol]);
      await joinAll(a, [aliceSocket, bobSocket, aliceTab]);
      await join(bobSocket, b);
      await join(carolSocket, gone);
      await ok(carolSocket, "room:leave", { room: gone });

      const ours = new Set([a, b, gone]);
      const listed = async (answer: Promise<AckOf<"rooms:list">>) => {
        const result = await answer;
        if (!result.ok) throw new Error(`rooms:list failed: ${result.error.code}`);
        return result.rooms.filter((summary) => ours.has(summary.room));
      };
      const expected = [
        { room: a, members: 2 },
        { room: b, members: 1 },
      ];
      expect(await listed(request(carolSocket, "rooms:list", {}))).toEqual(expected);
      // Older clients send no payload at all, only the ack.
      const bare = untyped(carolSocket).timeout(DEADLINE_MS).emitWithAck("rooms:list");
      expect(await listed(bare as Promise<AckOf<"rooms:list">>)).toEqual(expected);
      const { rooms } = await ok(bobSocket, "rooms:list", {});
      const listedNames = rooms.map((summary) => summary.room);
      expect(listedNames).toEqual([...listedNames].sort());
    });
  });
}
