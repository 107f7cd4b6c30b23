// User and room names: Unicode, NFC, and their length in code points.
import { describe, expect, it } from "vitest";
import { ErrorCode, LIMITS } from "../../protocol/index.js";
import { next, ok, request } from "../support/clients.js";
import { arrivals, expectError, join, names, padTo, refused, send, unique, type Nodes } from "./helpers.js";

/** Registers the name tests. */
export function nameTests(nodes: Nodes): void {
  describe("names", () => {
    it("takes Unicode room and user names like 房间号1", async () => {
      const [room, user, bob] = names("房间号1", "用户", "bob");
      const [socket, bobSocket] = await nodes.connectAll([user, bob]);
      expect(await join(socket, room)).toMatchObject({ room, members: [user] });
      await join(bobSocket, room);
      const arrived = arrivals([bobSocket], "你好");
      const message = await send(socket, room, "你好");
      expect(message).toMatchObject({ room, from: user });
      expect(await arrived).toEqual([message]);
      const { rooms } = await ok(socket, "rooms:list", {});
      expect(rooms).toContainEqual({ room, members: 2 });
    });

    it("NFC-normalizes room and user names, so both spellings are one name", async () => {
      const composed = unique("Caf\u00e9"); // é as one code point
      const decomposed = composed.normalize("NFD"); // e + combining acute
      expect(decomposed).not.toBe(composed);
      const zoe = unique("Zo\u00eb");
      const [zoeSocket, bobSocket] = await nodes.connectAll([zoe.normalize("NFD"), unique("bob")]);

      expect(await join(zoeSocket, decomposed)).toMatchObject({ room: composed, members: [zoe] });
      const answer = await join(bobSocket, composed);
      expect(answer.members).toContain(zoe);
      const arrived = arrivals([zoeSocket], "same room");
      await send(bobSocket, decomposed, "same room");
      expect(await arrived).toMatchObject([{ room: composed }]);

      const dm = next(zoeSocket, "dm:message");
      await ok(bobSocket, "dm:send", { to: zoe.normalize("NFD"), text: "found you" });
      expect(await dm).toMatchObject({ to: zoe, text: "found you" });
    });

    it("measures names in code points after normalization", async () => {
      const [alice] = names("alice");
      const [socket] = await nodes.connectAll([alice]);
      const longest = padTo(unique("r"), LIMITS.roomName.max, "房");
      expect(await join(socket, longest)).toMatchObject({ room: longest });
      // 128 code points before NFC, 64 after.
      const decomposed = padTo(unique("d"), LIMITS.roomName.max, "\u00e9").normalize("NFD");
      expect(await join(socket, decomposed)).toMatchObject({ room: decomposed.normalize("NFC") });
      expectError(await request(socket, "room:join", { room: `${longest}房` }), ErrorCode.BadRequest);

      const longestUser = padTo(unique("u"), LIMITS.userName.max, "用");
      await nodes.connectAll([longestUser]);
      const error = await refused(nodes.url(0), `${longestUser}用`);
      expect(error.data).toMatchObject({ code: ErrorCode.Unauthorized });
    });

    it("counts a character outside the BMP as one code point in a name, not two UTF-16 units", async () => {
      // U+20000, a CJK ideograph: a letter, untouched by NFC, 2 UTF-16 units.
      const astral = "\u{20000}";
      const longestUser = padTo(unique("u"), LIMITS.userName.max, astral);
      const longestRoom = padTo(unique("r"), LIMITS.roomName.max, astral);
      // Too long if a name were counted in UTF-16 units.
      expect(longestUser.length).toBeGreaterThan(LIMITS.userName.max);
      expect(longestRoom.length).toBeGreaterThan(LIMITS.roomName.max);

      const [socket] = await nodes.connectAll([longestUser]);
      expect(await join(socket, longestRoom)).toMatchObject({ room: longestRoom, members: [longestUser] });
      expectError(await request(socket, "room:join", { room: `${longestRoom}${astral}` }), ErrorCode.BadRequest);
      const error = await refused(nodes.url(0), `${longestUser}${astral}`);
      expect(error.data).toMatchObject({ code: ErrorCode.Unauthorized });
    });
  });
}
