// room:presence: one join per user, one leave when their last socket goes.
import { describe, expect, it } from "vitest";
import { next, ok } from "../support/clients.js";
import { barrier, inbox, join, joinSeen, names, type Nodes } from "./helpers.js";

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
