import { afterEach, describe, expect, it } from "vitest";
import { formatMessageId, type DirectMessage } from "../../protocol/index.js";
import type { Presence } from "../../server/presence/presence.js";
import { DEADLINE_MS } from "./fixtures.js";

/** A presence store under test, started, on an empty backing store of its own. */
export interface PresenceUnderTest {
  presence: Presence;
  /** The node the presence counts its sockets on. */
  nodeId: string;
  close(): Promise<void>;
}

/** Opens and starts a fresh presence that holds up to `maxHeldPerUser` DMs per offline user. */
export type OpenPresence = (options: { maxHeldPerUser: number }) => Promise<PresenceUnderTest>;

let dms = 0;
/** A direct message with a fresh id, as the chat layer would store it. */
export function directMessage(from: string, to: string, text: string): DirectMessage {
  dms += 1;
  return { id: formatMessageId(1_700_000_000_000 + dms, 0), from, to, text, ts: 1_700_000_000_000 + dms, prev: "" };
}

/**
 * What every `Presence` implementation promises on one node, as one suite: call it once per
 * implementation. `open` runs inside the tests, so it may use servers a `beforeAll` started.
 */
export function describePresenceContract(name: string, open: OpenPresence): void {
  describe(`Presence contract: ${name}`, () => {
    const opened: PresenceUnderTest[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    async function given(maxHeldPerUser = 100): Promise<PresenceUnderTest> {
      const store = await open({ maxHeldPerUser });
      opened.push(store);
      return store;
    }

    describe("rooms", () => {
      it("counts a user's sockets: first in once, last out once, members exact at every step", async () => {
        const { presence } = await given();
        for (const user of ["ann", "ann", "bob"]) await presence.userConnected(user);

        expect(await presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: true, members: 1 });
        expect(await presence.membersOf("lobby")).toEqual(["ann"]);
        expect(await presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: false, members: 1 });
        expect(await presence.membersOf("lobby")).toEqual(["ann"]);
        expect(await presence.joinedRoom("lobby", "bob")).toEqual({ firstInRoom: true, members: 2 });
        expect(await presence.membersOf("lobby")).toEqual(["ann", "bob"]);

        expect(await presence.leftRoom("lobby", "ann")).toEqual({ lastInRoom: false, members: 2 });
        expect(await presence.membersOf("lobby")).toEqual(["ann", "bob"]);
        expect(await presence.leftRoom("lobby", "ann")).toEqual({ lastInRoom: true, members: 1 });
        expect(await presence.membersOf("lobby")).toEqual(["bob"]);
        expect(await presence.leftRoom("lobby", "bob")).toEqual({ lastInRoom: true, members: 0 });
        expect(await presence.membersOf("lobby")).toEqual([]);
      });

      it("a user who joins again after leaving is first in again", async () => {
        const { presence } = await given();
        await presence.userConnected("ann");
        await presence.joinedRoom("lobby", "ann");
        await presence.leftRoom("lobby", "ann");
        expect(await presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: true, members: 1 });
      });

      it("a leave by a user who is not in the room changes nothing", async () => {
        const { presence } = await given();
        await presence.userConnected("ann");
        await presence.joinedRoom("lobby", "ann");
        expect(await presence.leftRoom("lobby", "carl")).toEqual({ lastInRoom: false, members: 1 });
        expect(await presence.leftRoom("empty", "carl")).toEqual({ lastInRoom: false, members: 0 });
        expect(await presence.membersOf("lobby")).toEqual(["ann"]);
        expect(await presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: false, members: 1 });
      });

      it("lists rooms with members, sorted by name, with distinct users", async () => {
        const { presence } = await given();
        for (const user of ["ann", "ann", "bob"]) await presence.userConnected(user);
        await presence.joinedRoom("zebra", "ann");
        await presence.joinedRoom("zebra", "ann");
        await presence.joinedRoom("zebra", "bob");
        await presence.joinedRoom("alpha", "bob");
        expect(await presence.listRooms()).toEqual([
          { room: "alpha", members: 1 },
          { room: "zebra", members: 2 },
        ]);

        await presence.leftRoom("alpha", "bob");
        await presence.leftRoom("zebra", "ann");
        expect(await presence.listRooms()).toEqual([{ room: "zebra", members: 2 }]);
      });
    });

    describe("users and nodes", () => {
      it("knows a user is on this node while any of their sockets is", async () => {
        const { presence, nodeId } = await given();
        expect(await presence.nodesOf("ann")).toEqual([]);
        await presence.userConnected("ann");
        await presence.userConnected("ann");
        expect(await presence.nodesOf("ann")).toEqual([nodeId]);
        await presence.userDisconnected("ann");
        expect(await presence.nodesOf("ann")).toEqual([nodeId]);
        await presence.userDisconnected("ann");
        expect(await presence.nodesOf("ann")).toEqual([]);
      });

      it("lists this node with its socket and user counts", async () => {
        const { presence, nodeId } = await given();
        for (const user of ["ann", "ann", "bob"]) await presence.userConnected(user);
        // A Redis node publishes its counts with its heartbeat.
        await expect
          .poll(
            async () => (await presence.listNodes()).map(({ node, sockets, users }) => ({ node, sockets, users })),
            {
              timeout: DEADLINE_MS,
            },
          )
          .toEqual([{ node: nodeId, sockets: 3, users: 2 }]);
      });
    });

    describe("direct messages held for offline users", () => {
      const KEEP_MS = 60_000;

      it("holds DMs for an offline user, oldest first, until each is released", async () => {
        const { presence } = await given();
        const first = directMessage("ann", "dora", "first");
        const second = directMessage("bob", "dora", "second");
        const forEve = directMessage("ann", "eve", "not for dora");
        expect(await presence.holdUnlessOnline(first, KEEP_MS)).toBe(false);
        expect(await presence.holdUnlessOnline(forEve, KEEP_MS)).toBe(false);
        expect(await presence.holdUnlessOnline(second, KEEP_MS)).toBe(false);

        // Reading hands nothing over: a connection that drops before acknowledging loses nothing.
        expect(await presence.heldFor("dora")).toEqual([first, second]);
        await presence.userConnected("dora");
        expect(await presence.heldFor("dora")).toEqual([first, second]);
        await presence.releaseHeld(first);
        expect(await presence.heldFor("dora")).toEqual([second]);
        // Releasing twice (two sockets acknowledged it) is harmless.
        await presence.releaseHeld(first);
        await presence.releaseHeld(second);
        expect(await presence.heldFor("dora")).toEqual([]);
        expect(await presence.heldFor("eve")).toEqual([forEve]);
      });

      it("holds nothing without a holding time: the recipient gets only live DMs", async () => {
        const { presence } = await given();
        expect(await presence.holdUnlessOnline(directMessage("ann", "dora", "unkept"))).toBe(false);
        expect(await presence.heldFor("dora")).toEqual([]);
      });

      it("does not hold a DM for a user who is online, and holds again once they are gone", async () => {
        const { presence } = await given();
        await presence.userConnected("dora");
        expect(await presence.holdUnlessOnline(directMessage("ann", "dora", "live"), KEEP_MS)).toBe(true);
        expect(await presence.heldFor("dora")).toEqual([]);
        await presence.userDisconnected("dora");
        const later = directMessage("ann", "dora", "later");
        expect(await presence.holdUnlessOnline(later, KEEP_MS)).toBe(false);
        expect(await presence.heldFor("dora")).toEqual([later]);
      });

      it("keeps only the newest maxHeldPerUser DMs of a user", async () => {
        const { presence } = await given(3);
        const sent = ["m1", "m2", "m3", "m4", "m5"].map((text) => directMessage("ann", "dora", text));
        for (const dm of sent) expect(await presence.holdUnlessOnline(dm, KEEP_MS)).toBe(false);
        expect(await presence.heldFor("dora")).toEqual(sent.slice(2));
      });

      it("lets an inbox lapse once its holding time has passed since the last DM held", async () => {
        const { presence } = await given();
        const dm = directMessage("ann", "dora", "short-lived");
        expect(await presence.holdUnlessOnline(dm, 50)).toBe(false);
        expect(await presence.heldFor("dora")).toEqual([dm]);
        await expect.poll(() => presence.heldFor("dora"), { timeout: 5000 }).toEqual([]);
      });
    });
  });
}
