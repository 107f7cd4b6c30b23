// Internal Socket.IO rooms (socket ids, users' rooms) are out of reach of chat names.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { connected, next, ok } from "../support/clients.js";
import { arrivals, dmBarrier, inbox, join, joinAll, names, padTo, send, unique, type Nodes } from "./helpers.js";

/** Short unique room names: only 9 characters make a chatroom's internal room 20 long. */
const RUN_TAG = randomBytes(2).toString("hex");
let roomsOfNine = 0;

/** Registers the isolation tests. */
export function isolationTests(nodes: Nodes): void {
  describe("isolation of internal rooms", () => {
    it("a room named like another socket's id or a user reads nobody's messages", async () => {
      const [alice, bob, eve] = names("alice", "bob", "eve");
      const [aliceSocket, bobSocket, eveSocket] = await nodes.connectAll([alice, bob, eve]);
      expect(bobSocket.id).toHaveLength(20);
      const spying = inbox(aliceSocket);
      const bobSeen = inbox(bobSocket);
      for (const room of [bobSocket.id!, bob, `u ${bob}`]) await join(aliceSocket, room);

      await dmBarrier(eveSocket, bob, [bobSocket]);
      await dmBarrier(eveSocket, alice, [aliceSocket]);
      expect(spying.dms.map((dm) => dm.to)).toEqual([alice]);

      // And the other way: what alice says in those rooms reaches no socket of bob.
      for (const room of [bobSocket.id!, bob]) await send(aliceSocket, room, "anyone there?");
      await dmBarrier(aliceSocket, bob, [bobSocket]);
      expect(bobSeen.messages).toEqual([]);
    });

    it("a user named like another socket's id gets nothing of that socket", async () => {
      const [alice, eve] = names("alice", "eve");
      const [aliceSocket, eveSocket] = await nodes.connectAll([alice, eve]);
      const seen = inbox(aliceSocket);
      const namesake = await connected(nodes.url(2), aliceSocket.id);
      await dmBarrier(eveSocket, aliceSocket.id!, [namesake]);
      await dmBarrier(eveSocket, alice, [aliceSocket]);
      expect(seen.dms.map((dm) => dm.to)).toEqual([alice]);
    });

    it("names whose internal room would be 20 long, like a socket id, work across nodes", async () => {
      // "r:{h:room:" + 9 characters + "}" and "u:" + 18 characters are 20 long.
      const room = padTo(`r${RUN_TAG}${roomsOfNine++}`, 9);
      const [alice, bob] = [padTo(unique("a"), 18), padTo(unique("b"), 18)];
      const sockets = await nodes.connectAll([alice, bob, alice]);
      await joinAll(room, sockets);
      const arrived = arrivals(sockets, "twenty");
      const message = await send(sockets[1]!, room, "twenty");
      expect(await arrived).toEqual(sockets.map(() => message));
      const dms = Promise.all(sockets.map((socket) => next(socket, "dm:message")));
      await ok(sockets[1]!, "dm:send", { to: alice, text: "to you" });
      expect((await dms).map((dm) => dm.text)).toEqual(["to you", "to you", "to you"]);
    });
  });
}
