// room:history: paging back through a room's log.
import { describe, expect, it } from "vitest";
import { ErrorCode, LIMITS } from "../../protocol/index.js";
import { ok, request } from "../support/clients.js";
import { expectError, join, names, send, sendMany, type Nodes } from "./helpers.js";

/** Registers the room:history tests. */
export function historyTests(nodes: Nodes): void {
  describe("room:history", () => {
    it("pages back with before and limit, oldest first", async () => {
      const [room, alice] = names("paging", "alice");
      const [socket] = await nodes.connectAll([alice]);
      await join(socket, room);
      const m = await sendMany(socket, room, 5);
      const page = async (query: object) => (await ok(socket, "room:history", { room, ...query })).messages;

      expect(await page({})).toEqual(m);
      expect(await page({ limit: 2 })).toEqual([m[3], m[4]]);
      expect(await page({ before: m[3]!.id, limit: 2 })).toEqual([m[1], m[2]]);
      expect(await page({ before: m[1]!.id })).toEqual([m[0]]);
      expect(await page({ before: m[0]!.id })).toEqual([]);
      expect(await page({ limit: LIMITS.maxHistoryPage })).toEqual(m);
    });

    it("answers not_joined for a room with messages the caller has not joined", async () => {
      const [room, alice, bob] = names("private-log", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      await join(aliceSocket, room);
      await send(aliceSocket, room, "secret");
      expectError(await request(bobSocket, "room:history", { room }), ErrorCode.NotJoined);
    });

    it("answers the newest 50 by default, up to 200 with limit, and bad_request above 200", async () => {
      // The README's promise, in numbers: LIMITS must not drift from it unnoticed.
      expect(LIMITS).toMatchObject({ defaultHistory: 50, maxHistoryPage: 200 });
      const [room, alice] = names("long-log", "alice");
      const [socket] = await nodes.connectAll([alice]);
      await join(socket, room);
      const sent = await sendMany(socket, room, 205);
      const page = async (query: object) => (await ok(socket, "room:history", { room, ...query })).messages;

      expect(await page({})).toEqual(sent.slice(-50));
      expect(await page({ before: sent[120]!.id })).toEqual(sent.slice(70, 120));
      expect(await page({ limit: 200 })).toEqual(sent.slice(-200));
      expect(await page({ before: sent[202]!.id, limit: 200 })).toEqual(sent.slice(2, 202));
      expectError(await request(socket, "room:history", { room, limit: 201 }), ErrorCode.BadRequest);
    });
  });
}
