import { afterEach, describe, expect, it } from "vitest";
import { formatMessageId, type DirectMessage, type RoomSummary } from "../../protocol/index.js";
import type { HeldCaps, Presence } from "../../server/presence/presence.js";
import { DEADLINE_MS } from "./fixtures.js";

/** A presence store under test, started, on an empty backing store of its own. */
export interface PresenceUnderTest {
  presence: Presence;
  /** The node the presence counts its sockets on. */
  nodeId: string;
  close(): Promise<void>;
}

/** Opens and starts a fresh presence that holds DMs for offline users within `caps`. */
export type OpenPresence = (caps: HeldCaps) => Promise<PresenceUnderTest>;

let dms = 0;
/** A direct message with a fresh id, as the chat layer would store it. */
export function directMessage(from: string, to: string, text: string): DirectMessage {
  dms += 1;
  return { id: formatMessageId(1_700_000_000_000 + dms, 0), from, to, text, ts: 1_700_000_000_000 + dms, prev: "" };
}

/** Every page of the room listing, following the cursors to the end. */
export async function everyPage(presence: Presence, limit: number): Promise<RoomSummary[][]> {
  const pages: RoomSummary[][] = [];
  let cursor: string | undefined;
  do {
    const page = await presence.listRooms({ cursor, limit });
    pages.push(page.rooms);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return pages;
}

/** `count` names that sort as their index does, made in another order, so that sorting is tested too. */
export function numberedNames(prefix: string, count: number): string[] {
  const names = Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(5, "0")}`);
  return names.map((_, index) => names[(index * 7919) % count]!);
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

    async function given(caps: Partial<HeldCaps> = {}): Promise<PresenceUnderTest> {
      const store = await open({ maxHeldPerRecipient: 100, maxHeldPerSender: 100, ...caps });
      opened.push(store);
      return store;
    }

    describe("rooms", () => {
      it("counts a user's sockets: first in once, last out once, members exact at every step", async () => {
        const { presence } = await given();
        for (const user of ["ann", "ann", "bob"]) await presence.userConnected(user);
        const members = (room: string) => presence.membersOf(room, 10);

        expect(await presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: true, members: 1 });
        expect(await members("lobby")).toEqual({ members: ["ann"], count: 1 });
        expect(await presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: false, members: 1 });
        expect(await members("lobby")).toEqual({ members: ["ann"], count: 1 });
        expect(await presence.joinedRoom("lobby", "bob")).toEqual({ firstInRoom: true, members: 2 });
        expect(await members("lobby")).toEqual({ members: ["ann", "bob"], count: 2 });

        expect(await presence.leftRoom("lobby", "ann")).toEqual({ lastInRoom: false, members: 2 });
        expect(await members("lobby")).toEqual({ members: ["ann", "bob"], count: 2 });
        expect(await presence.leftRoom("lobby", "ann")).toEqual({ lastInRoom: true, members: 1 });
        expect(await members("lobby")).toEqual({ members: ["bob"], count: 1 });
        expect(await presence.leftRoom("lobby", "bob")).toEqual({ lastInRoom: true, members: 0 });
        expect(await members("lobby")).toEqual({ members: [], count: 0 });
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
        expect(await presence.membersOf("lobby", 10)).toEqual({ members: ["ann"], count: 1 });
        expect(await presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: false, members: 1 });
      });

      it("answers `limit` members of a room bigger than that, sorted, and counts them all", async () => {
        const { presence } = await given();
        // More than Redis keeps in a compact hash (128), so that the bounded read is the one tested.
        const users = numberedNames("user-", 300);
        for (const user of users) await presence.joinedRoom("crowd", user);

        const { members, count } = await presence.membersOf("crowd", 50);
        expect(count).toBe(300);
        expect(members).toHaveLength(50);
        expect(members).toEqual([...members].sort());
        expect(new Set(members).size).toBe(50);
        for (const member of members) expect(users).toContain(member);

        expect(await presence.membersOf("crowd", 300)).toEqual({ members: [...users].sort(), count: 300 });
        expect(await presence.membersOf("crowd", 0)).toEqual({ members: [], count: 300 });
      });

      it("lists rooms with members, sorted by name, with distinct users", async () => {
        const { presence } = await given();
        for (const user of ["ann", "ann", "bob"]) await presence.userConnected(user);
        await presence.joinedRoom("zebra", "ann");
        await presence.joinedRoom("zebra", "ann");
        await presence.joinedRoom("zebra", "bob");
        await presence.joinedRoom("alpha", "bob");
        expect(await presence.listRooms({ limit: 10 })).toEqual({
          rooms: [
            { room: "alpha", members: 1 },
            { room: "zebra", members: 2 },
          ],
        });

        await presence.leftRoom("alpha", "bob");
        await presence.leftRoom("zebra", "ann");
        expect(await presence.listRooms({ limit: 10 })).toEqual({ rooms: [{ room: "zebra", members: 2 }] });
      });

      it("sorts names by code point, as Redis orders bytes of UTF-8", async () => {
        const { presence } = await given();
        // U+FF8A sorts before U+1D49C by code point, after it by UTF-16 code unit.
        const names = ["\u{1D49C}", "\uFF8A", "房间", "é", "a"];
        for (const name of names) await presence.joinedRoom(name, "ann");
        const inOrder = ["a", "é", "房间", "\uFF8A", "\u{1D49C}"];
        expect((await everyPage(presence, 2)).flat().map(({ room }) => room)).toEqual(inOrder);

        for (const name of names) await presence.joinedRoom("users", name);
        expect((await presence.membersOf("users", 10)).members).toEqual(inOrder);
      });

      it("pages through 250 rooms 100 at a time: every room once, in name order, no cursor at the end", async () => {
        const { presence } = await given();
        const rooms = numberedNames("room-", 250);
        for (const room of rooms) await presence.joinedRoom(room, "ann");
        await presence.joinedRoom("room-00007", "bob");

        const pages = await everyPage(presence, 100);
        expect(pages.map((page) => page.length)).toEqual([100, 100, 50]);
        expect(pages.flat().map(({ room }) => room)).toEqual([...rooms].sort());
        expect(pages[0]![7]).toEqual({ room: "room-00007", members: 2 });
      });

      it("leaves an emptied room out of the listing, and lists it again once joined again", async () => {
        const { presence } = await given();
        for (const room of ["a", "b", "c"]) await presence.joinedRoom(room, "ann");
        await presence.leftRoom("b", "ann");
        expect(await everyPage(presence, 1)).toEqual([[{ room: "a", members: 1 }], [{ room: "c", members: 1 }], []]);

        await presence.joinedRoom("b", "bob");
        expect(await presence.listRooms({ cursor: "a", limit: 10 })).toEqual({
          rooms: [
            { room: "b", members: 1 },
            { room: "c", members: 1 },
          ],
        });
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

      it("refuses a socket beyond maxSockets and records nothing for it; a disconnect makes room", async () => {
        const { presence, nodeId } = await given();
        expect(await presence.userConnected("ann", 2)).toBe(true);
        expect(await presence.userConnected("ann", 2)).toBe(true);
        expect(await presence.userConnected("ann", 2)).toBe(false);
        expect(await presence.userConnected("bob", 2)).toBe(true);
        await expect
          .poll(async () => (await presence.listNodes()).map(({ sockets, users }) => ({ sockets, users })), {
            timeout: DEADLINE_MS,
          })
          .toEqual([{ sockets: 3, users: 2 }]);

        await presence.userDisconnected("ann");
        expect(await presence.userConnected("ann", 2)).toBe(true);
        expect(await presence.userConnected("ann", 2)).toBe(false);
        // Two sockets in all: had a refusal counted one, ann would still be here after two disconnects.
        await presence.userDisconnected("ann");
        expect(await presence.nodesOf("ann")).toEqual([nodeId]);
        await presence.userDisconnected("ann");
        expect(await presence.nodesOf("ann")).toEqual([]);
      });

      it("caps nothing with maxSockets 0 or none", async () => {
        const { presence, nodeId } = await given();
        for (let socket = 0; socket < 5; socket++) expect(await presence.userConnected("ann", 0)).toBe(true);
        for (let socket = 0; socket < 5; socket++) expect(await presence.userConnected("ann")).toBe(true);
        // All ten were counted: ann stays until the tenth disconnect.
        for (let socket = 0; socket < 9; socket++) await presence.userDisconnected("ann");
        expect(await presence.nodesOf("ann")).toEqual([nodeId]);
        await presence.userDisconnected("ann");
        expect(await presence.nodesOf("ann")).toEqual([]);
      });
    });

    describe("direct messages held for offline users", () => {
      const KEEP_MS = 60_000;

      it("holds DMs for an offline user, oldest first, until each is released", async () => {
        const { presence } = await given();
        const first = directMessage("ann", "dora", "first");
        const second = directMessage("bob", "dora", "second");
        const forEve = directMessage("ann", "eve", "not for dora");
        expect(await presence.holdUnlessOnline(first, KEEP_MS)).toBe("held");
        expect(await presence.holdUnlessOnline(forEve, KEEP_MS)).toBe("held");
        expect(await presence.holdUnlessOnline(second, KEEP_MS)).toBe("held");

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
        expect(await presence.holdUnlessOnline(directMessage("ann", "dora", "unkept"))).toBe("not_held");
        expect(await presence.heldFor("dora")).toEqual([]);
      });

      it("does not hold a DM for a user who is online, and holds again once they are gone", async () => {
        const { presence } = await given();
        await presence.userConnected("dora");
        expect(await presence.holdUnlessOnline(directMessage("ann", "dora", "live"), KEEP_MS)).toBe("online");
        expect(await presence.holdUnlessOnline(directMessage("ann", "dora", "live, unkept"))).toBe("online");
        expect(await presence.heldFor("dora")).toEqual([]);
        await presence.userDisconnected("dora");
        const later = directMessage("ann", "dora", "later");
        expect(await presence.holdUnlessOnline(later, KEEP_MS)).toBe("held");
        expect(await presence.heldFor("dora")).toEqual([later]);
      });

      it("answers not_held once an inbox is full, keeping the DMs it holds", async () => {
        const { presence } = await given({ maxHeldPerRecipient: 3 });
        const sent = ["m1", "m2", "m3", "m4", "m5"].map((text, index) => directMessage(`user${index}`, "dora", text));
        const outcomes = [];
        for (const dm of sent) outcomes.push(await presence.holdUnlessOnline(dm, KEEP_MS));
        expect(outcomes).toEqual(["held", "held", "held", "not_held", "not_held"]);
        expect(await presence.heldFor("dora")).toEqual(sent.slice(0, 3));

        await presence.releaseHeld(sent[0]!);
        expect(await presence.holdUnlessOnline(sent[3]!, KEEP_MS)).toBe("held");
        expect(await presence.heldFor("dora")).toEqual([...sent.slice(1, 4)]);
      });

      it("stops a flood at maxHeldPerSender, across recipients, without pushing out anyone else's DMs", async () => {
        const { presence } = await given({ maxHeldPerRecipient: 10, maxHeldPerSender: 5 });
        const real = [directMessage("bob", "dora", "real 1"), directMessage("bob", "dora", "real 2")];
        for (const dm of real) expect(await presence.holdUnlessOnline(dm, KEEP_MS)).toBe("held");

        const flood = Array.from({ length: 20 }, (_, index) => directMessage("mallory", "dora", `spam ${index}`));
        const outcomes = [];
        for (const dm of flood) outcomes.push(await presence.holdUnlessOnline(dm, KEEP_MS));
        expect(outcomes).toEqual([...Array<string>(5).fill("held"), ...Array<string>(15).fill("not_held")]);
        expect(await presence.holdUnlessOnline(directMessage("mallory", "eve", "elsewhere"), KEEP_MS)).toBe("not_held");

        expect(await presence.heldFor("dora")).toEqual([...real, ...flood.slice(0, 5)]);
        expect(await presence.heldFor("eve")).toEqual([]);
        // Other senders still have their own allowance.
        expect(await presence.holdUnlessOnline(directMessage("bob", "eve", "fine"), KEEP_MS)).toBe("held");
      });

      it("gives a sender back one place per DM released, once however often it is released", async () => {
        const { presence } = await given({ maxHeldPerSender: 2 });
        const held = [directMessage("mallory", "dora", "1"), directMessage("mallory", "eve", "2")];
        for (const dm of held) expect(await presence.holdUnlessOnline(dm, KEEP_MS)).toBe("held");
        expect(await presence.holdUnlessOnline(directMessage("mallory", "dora", "3"), KEEP_MS)).toBe("not_held");

        await presence.releaseHeld(held[0]!);
        await presence.releaseHeld(held[0]!);
        expect(await presence.holdUnlessOnline(directMessage("mallory", "dora", "4"), KEEP_MS)).toBe("held");
        expect(await presence.holdUnlessOnline(directMessage("mallory", "dora", "5"), KEEP_MS)).toBe("not_held");
      });

      it("counts against the sender only the DMs actually held", async () => {
        const { presence } = await given({ maxHeldPerRecipient: 1, maxHeldPerSender: 2 });
        await presence.userConnected("olga");
        for (let index = 0; index < 5; index++) {
          expect(await presence.holdUnlessOnline(directMessage("ann", "olga", `live ${index}`), KEEP_MS)).toBe(
            "online",
          );
        }
        expect(await presence.holdUnlessOnline(directMessage("ann", "dora", "held"), KEEP_MS)).toBe("held");
        // Dora's inbox is full: this one is not held, and must not use up ann's second place.
        expect(await presence.holdUnlessOnline(directMessage("ann", "dora", "refused"), KEEP_MS)).toBe("not_held");
        expect(await presence.holdUnlessOnline(directMessage("ann", "eve", "held too"), KEEP_MS)).toBe("held");
        expect(await presence.holdUnlessOnline(directMessage("ann", "fay", "over the cap"), KEEP_MS)).toBe("not_held");
      });

      it("lets an inbox lapse once its holding time has passed since the last DM held", async () => {
        const { presence } = await given();
        const dm = directMessage("ann", "dora", "short-lived");
        expect(await presence.holdUnlessOnline(dm, 50)).toBe("held");
        expect(await presence.heldFor("dora")).toEqual([dm]);
        await expect.poll(() => presence.heldFor("dora"), { timeout: 5000 }).toEqual([]);
      });
    });
  });
}
