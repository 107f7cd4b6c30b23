// room:presence: one join per user, one leave when their last socket goes; in a large room, batches.
import { describe, expect, it } from "vitest";
import { LIMITS, type RoomPresenceBatch } from "../../protocol/index.js";
import { connected, next, ok, record, within, type TestSocket } from "../support/clients.js";
import { barrier, inbox, join, joinSeen, names, unique, type Nodes } from "./helpers.js";

/** Registers the presence tests. */
export function presenceTests(nodes: Nodes): void {
  describe("presence", () => {
    it("two tabs of one user: one join, and a leave only when the last tab leaves", async () => {
      const [room, olga, ursula] = names("tabs", "olga", "ursula");
      const [olgaSocket, tab1, tab2] = await nodes.connectAll([olga, ursula, ursula]);
      await join(olgaSocket, room);
      const seen = inbox(olgaSocket);

      expect(await joinSeen(tab1, room, olgaSocket)).toEqual({ room, user: ursula, event: "join", members: 2 });
      await join(tab2, room);
      await barrier(tab2, room, [olgaSocket]);
      expect(seen.presence).toHaveLength(1);

      await ok(tab1, "room:leave", { room });
      await barrier(tab2, room, [olgaSocket]);
      expect(seen.presence).toHaveLength(1);

      const left = next(olgaSocket, "room:presence", (presence) => presence.event === "leave");
      await ok(tab2, "room:leave", { room });
      expect(await left).toEqual({ room, user: ursula, event: "leave", members: 1 });
    });

    it("two tabs of one user: a disconnect leaves only with the last tab", async () => {
      const [before, room, after, olga, ursula] = names("before", "tabs", "after", "olga", "ursula");
      const [olgaSocket, tab1, tab2] = await nodes.connectAll([olga, ursula, ursula]);
      for (const shared of [before, room, after]) {
        await join(olgaSocket, shared);
        await joinSeen(tab1, shared, olgaSocket);
      }
      await join(tab2, room);
      const seen = inbox(olgaSocket);

      // tab1 is the last of ursula in the rooms joined before and after the shared one, so the
      // two leave events there bracket whatever its disconnect does in the shared room.
      const leftOthers = Promise.all(
        [before, after].map((other) =>
          next(olgaSocket, "room:presence", (presence) => presence.room === other && presence.event === "leave"),
        ),
      );
      tab1.disconnect();
      await leftOthers;
      await barrier(tab2, room, [olgaSocket]);
      expect(seen.presence.filter((presence) => presence.room === room)).toEqual([]);

      const left = next(olgaSocket, "room:presence", (presence) => presence.room === room);
      tab2.disconnect();
      expect(await left).toEqual({ room, user: ursula, event: "leave", members: 1 });
    });

    it("counts distinct users in members as they come and go", async () => {
      const [room, olga, a, b] = names("counts", "olga", "a", "b");
      const [olgaSocket, aSocket, bSocket, aTab] = await nodes.connectAll([olga, a, b, a]);
      await join(olgaSocket, room);
      const seen = inbox(olgaSocket);
      // Each event is awaited before the next action: from several nodes they may overtake.
      await joinSeen(aSocket, room, olgaSocket);
      await joinSeen(bSocket, room, olgaSocket);
      await join(aTab, room);
      await ok(aSocket, "room:leave", { room });
      const left = next(olgaSocket, "room:presence", (presence) => presence.event === "leave");
      await ok(aTab, "room:leave", { room });
      await left;
      await barrier(bSocket, room, [olgaSocket]);
      expect(seen.presence).toEqual([
        { room, user: a, event: "join", members: 2 },
        { room, user: b, event: "join", members: 3 },
        { room, user: a, event: "leave", members: 2 },
      ]);
      expect((await join(olgaSocket, room)).members).toEqual([b, olga].sort());
    });
  });
}

/** Rooms of more than 2 members get batches, gathered for 100 ms. */
export const PRESENCE_BATCH_ENV = { PRESENCE_BATCH_ABOVE: "2", PRESENCE_BATCH_MS: "100" };
/** Rooms of more than 2 members get batches, which only a full batch sends (within a test). */
export const FULL_PRESENCE_BATCH_ENV = { PRESENCE_BATCH_ABOVE: "2", PRESENCE_BATCH_MS: "60000" };

type BatchedEvent = RoomPresenceBatch["events"][number];

/** Resolves with the events of the `room:presence:batch`es for `room` once `count` have come. */
function batchedEvents(socket: TestSocket, room: string, count: number): Promise<BatchedEvent[]> {
  const events: BatchedEvent[] = [];
  let listener: (batch: RoomPresenceBatch) => void = () => {};
  const all = new Promise<BatchedEvent[]>((resolve) => {
    listener = (batch) => {
      if (batch.room !== room) return;
      events.push(...batch.events);
      if (events.length >= count) resolve(events);
    };
    socket.on("room:presence:batch", listener);
  });
  return within(all, `${count} batched presence events in ${room}`).finally(() =>
    socket.off("room:presence:batch", listener),
  );
}

const byMembers = (events: BatchedEvent[]) => [...events].sort((a, b) => a.members - b.members);

/**
 * Connects `extra` + 2 users to node 0 (each node gathers its own batches) and brings the first
 * two into a new room: olga, who watches, and one more, which puts the room at the limit (2).
 * Returns the room, olga's socket, and the `extra` other users and their sockets, in order.
 */
async function roomAtTheLimitOnOneNode(nodes: Nodes, label: string, extra: number) {
  const room = unique(label);
  const users = Array.from({ length: extra + 2 }, (_, k) => unique(`${label}${k}`));
  const [olga, first, ...others] = await Promise.all(users.map((user) => connected(nodes.url(0), user)));
  await join(olga!, room);
  await joinSeen(first!, room, olga!);
  return { room, olga: olga!, users: users.slice(2), others };
}

/** Registers the tests of a deployment with PRESENCE_BATCH_ENV. */
export function presenceBatchTests(nodes: Nodes): void {
  describe("presence in a room over PRESENCE_BATCH_ABOVE members", () => {
    it("comes in batches that say what room:presence would, and singly again at the limit", async () => {
      const [room, olga, a, b, c] = names("big", "olga", "a", "b", "c");
      const [olgaSocket, aSocket, bSocket, cSocket] = await nodes.connectAll([olga, a, b, c]);
      await join(olgaSocket, room);
      // At the limit (2 members), still one event at once.
      expect(await joinSeen(aSocket, room, olgaSocket)).toEqual({ room, user: a, event: "join", members: 2 });
      const singly = inbox(olgaSocket).presence;
      const batches = record(olgaSocket, "room:presence:batch");

      const joined = batchedEvents(olgaSocket, room, 2);
      await join(bSocket, room);
      await join(cSocket, room);
      // From several nodes, batches may overtake each other; each event carries its count.
      expect(byMembers(await joined)).toEqual([
        { user: b, event: "join", members: 3 },
        { user: c, event: "join", members: 4 },
      ]);

      const cLeft = batchedEvents(olgaSocket, room, 1);
      await ok(cSocket, "room:leave", { room });
      expect(await cLeft).toEqual([{ user: c, event: "leave", members: 3 }]);
      expect(singly).toEqual([]);

      // Back at the limit, with no batch waiting: one event at once again.
      const bLeft = next(olgaSocket, "room:presence", (presence) => presence.user === b);
      await ok(bSocket, "room:leave", { room });
      expect(await bLeft).toEqual({ room, user: b, event: "leave", members: 2 });
      expect(batches.every((batch) => batch.room === room && batch.events.length > 0)).toBe(true);
    });

    it("delivers every one of many joins on one node once, in batches of at most the limit", async () => {
      const count = LIMITS.maxPresenceBatch + 50;
      const { room, olga, users, others } = await roomAtTheLimitOnOneNode(nodes, "many", count);
      const batches = record(olga, "room:presence:batch");
      const joined = batchedEvents(olga, room, count);
      await Promise.all(others.map((socket) => join(socket, room)));
      expect((await joined).map(({ user }) => user).sort()).toEqual(users.sort());
      expect(batches.every(({ events }) => events.length <= LIMITS.maxPresenceBatch)).toBe(true);
    });

    it("batches the leave of a user whose last socket disconnects", async () => {
      const [room, olga, a, b, c] = names("big-gone", "olga", "a", "b", "c");
      const [olgaSocket, aSocket, bSocket, cSocket] = await nodes.connectAll([olga, a, b, c]);
      for (const socket of [olgaSocket, aSocket]) await join(socket, room);
      const joined = batchedEvents(olgaSocket, room, 2);
      for (const socket of [bSocket, cSocket]) await join(socket, room);
      expect(byMembers(await joined).map(({ user }) => user)).toEqual([b, c]);

      const left = batchedEvents(olgaSocket, room, 1);
      cSocket.disconnect();
      expect(await left).toEqual([{ user: c, event: "leave", members: 3 }]);
    });
  });
}

/** Registers the tests of a deployment with FULL_PRESENCE_BATCH_ENV. */
export function fullPresenceBatchTests(nodes: Nodes): void {
  describe("presence batches", () => {
    it(`go at once when they hold ${LIMITS.maxPresenceBatch} events, before their time is up`, async () => {
      const { room, olga, users, others } = await roomAtTheLimitOnOneNode(nodes, "full", LIMITS.maxPresenceBatch);
      const batch = next(olga, "room:presence:batch", (batch) => batch.room === room);
      await Promise.all(others.map((socket) => join(socket, room)));
      const { events } = await batch;
      expect(events).toHaveLength(LIMITS.maxPresenceBatch);
      expect(events.map((event) => event.user).sort()).toEqual(users.sort());
      expect(events.every((event) => event.event === "join")).toBe(true);
      expect(events.map((event) => event.members).sort((x, y) => x - y)).toEqual(
        Array.from({ length: LIMITS.maxPresenceBatch }, (_, k) => k + 3),
      );
    });

    it("keeps a room's later events in its waiting batch, in order, even once the room shrank", async () => {
      const { room, olga, users, others } = await roomAtTheLimitOnOneNode(
        nodes,
        "shrinking",
        LIMITS.maxPresenceBatch - 1,
      );
      const [leaverSocket, ...fillers] = others;
      const singly = record(olga, "room:presence");
      const batch = next(olga, "room:presence:batch", (batch) => batch.room === room);
      // Over the limit: the join waits. The leave brings the room back to the limit, and waits
      // behind it all the same; the fillers' joins then fill the batch, which goes at once.
      await join(leaverSocket!, room);
      await ok(leaverSocket!, "room:leave", { room });
      for (const socket of fillers) await join(socket, room);
      const { events } = await batch;
      expect(events).toHaveLength(LIMITS.maxPresenceBatch);
      expect(events).toEqual([
        { user: users[0], event: "join", members: 3 },
        { user: users[0], event: "leave", members: 2 },
        ...users.slice(1).map((user, k) => ({ user, event: "join", members: k + 3 })),
      ]);
      expect(singly).toEqual([]);
    });
  });
}
