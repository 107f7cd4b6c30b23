// room:join: members, history and recovery.
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../protocol/index.js";
import { next, ok } from "../support/clients.js";
import { barrier, inbox, join, joinSeen, names, send, sendMany, type Nodes } from "./helpers.js";

/** Registers the room:join tests. */
export function joinTests(nodes: Nodes): void {
  describe("room:join", () => {
    it("answers the members, the history and recovered, and tells the room", async () => {
      const [room, alice, bob] = names("join", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      const first = await join(aliceSocket, room);
      expect(first).toEqual({ ok: true, room, members: [alice], memberCount: 1, history: [], recovered: true });
      const sent = [await send(aliceSocket, room, "one"), await send(aliceSocket, room, "two")];

      const told = next(aliceSocket, "room:presence", (presence) => presence.user === bob);
      const answer = await join(bobSocket, room);
      expect(answer).toEqual({
        ok: true,
        room,
        members: [alice, bob].sort(),
        memberCount: 2,
        history: sent,
        recovered: true,
      });
      expect(await told).toEqual({ room, user: bob, event: "join", members: 2 });
    });

    it("without since answers the newest 50 messages, oldest first", async () => {
      const [room, alice, bob] = names("newest", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      await join(aliceSocket, room);
      const sent = await sendMany(aliceSocket, room, LIMITS.defaultHistory + 2);

      const { history } = await join(bobSocket, room);
      expect(history).toEqual(sent.slice(-LIMITS.defaultHistory));
    });

    it("with since answers every message after it, beyond 50, and recovered", async () => {
      const [room, alice, bob] = names("since", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      await join(aliceSocket, room);
      const sent = await sendMany(aliceSocket, room, LIMITS.defaultHistory + 5);

      const missed = await join(bobSocket, room, sent[0]!.id);
      expect(missed).toMatchObject({ history: sent.slice(1), recovered: true });
      const upToDate = await join(bobSocket, room, sent.at(-1)!.id);
      expect(upToDate).toMatchObject({ history: [], recovered: true });
    });

    it("joining again answers again without a second presence event", async () => {
      const [room, alice, bob] = names("rejoin", "alice", "bob");
      const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
      await join(aliceSocket, room);
      await joinSeen(bobSocket, room, aliceSocket);
      const seen = inbox(aliceSocket);
      const again = await join(bobSocket, room);
      expect(again).toMatchObject({ ok: true, members: [alice, bob].sort() });
      await barrier(bobSocket, room, [aliceSocket]);
      expect(seen.presence).toEqual([]);
    });
  });
}

/** HISTORY_SIZE of the deployment `joinOnShortLogTests` runs on. */
export const SHORT_HISTORY_SIZE = 3;

/** Registers the room:join tests that need a log of SHORT_HISTORY_SIZE messages per room. */
export function joinOnShortLogTests(short: Nodes): void {
  it("room:join with since older than the log answers recovered: false and what is left", async () => {
    const [room, alice, bob] = names("trimmed", "alice", "bob");
    const [aliceSocket, bobSocket] = await short.connectAll([alice, bob]);
    await join(aliceSocket, room);
    const sent = await sendMany(aliceSocket, room, 5);

    expect(await join(bobSocket, room, sent[0]!.id)).toMatchObject({ history: sent.slice(2), recovered: false });
    expect(await join(bobSocket, room, sent[1]!.id)).toMatchObject({ history: sent.slice(2), recovered: true });
    expect(await join(bobSocket, room, sent[3]!.id)).toMatchObject({ history: sent.slice(4), recovered: true });
    // The log keeps at least the newest 3, as one unbroken run (a store may trim loosely).
    const { messages } = await ok(bobSocket, "room:history", { room, limit: 10 });
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages).toEqual(sent.slice(-messages.length));
  });
}
