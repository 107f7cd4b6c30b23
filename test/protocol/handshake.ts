// The Socket.IO handshake: who may connect.
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../protocol/index.js";
import { request } from "../support/clients.js";
import { badNames } from "./bad-input.js";
import { failure, joinAll, names, refused, unique, type Nodes } from "./helpers.js";

/** Registers the handshake tests. */
export function handshakeTests(nodes: Nodes): void {
  describe("handshake", () => {
    it("connects a valid user to every node, and they meet in a room", async () => {
      const [room] = names("meet");
      const users = nodes.urls().map(() => unique("user"));
      const sockets = await nodes.connectAll(users);
      await joinAll(room, sockets);
      expect(await request(sockets[0]!, "room:join", { room })).toMatchObject({ ok: true, members: users.sort() });
    });

    it("refuses a handshake without a user, with unauthorized in err.data", async () => {
      for (const auth of [{}, undefined, JSON.parse('{"__proto__":{"user":"alice"}}')]) {
        const error = await refused(nodes.url(0), undefined, { auth });
        expect(error.data, JSON.stringify(auth)).toEqual(failure(ErrorCode.Unauthorized).error);
      }
    });

    it("refuses every invalid user name, with unauthorized in err.data", async () => {
      for (const { label, value } of badNames("user")) {
        const error = await refused(nodes.url(0), value);
        expect(error.data, label).toEqual(failure(ErrorCode.Unauthorized).error);
      }
    });
  });
}
