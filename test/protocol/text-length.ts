// MAX_MESSAGE_LENGTH, counted in UTF-16 code units (unlike names, counted in code points).
import { expect, it } from "vitest";
import { ErrorCode } from "../../protocol/index.js";
import { request } from "../support/clients.js";
import { expectError, join, names, send, type Nodes } from "./helpers.js";

/** MAX_MESSAGE_LENGTH of the deployment `textLengthTests` runs on. */
export const SHORT_MAX_MESSAGE_LENGTH = 10;

/** Registers the tests of a deployment with MAX_MESSAGE_LENGTH=SHORT_MAX_MESSAGE_LENGTH. */
export function textLengthTests(short: Nodes): void {
  it("answers too_long to text over MAX_MESSAGE_LENGTH, in rooms and DMs", async () => {
    const [room, alice, bob] = names("short", "alice", "bob");
    const [socket] = await short.connectAll([alice]);
    await join(socket, room);
    expect((await send(socket, room, "0123456789")).text).toBe("0123456789");
    expectError(await request(socket, "room:send", { room, text: "0123456789a" }), ErrorCode.TooLong);
    expect(await request(socket, "dm:send", { to: bob, text: "0123456789" })).toMatchObject({ ok: true });
    expectError(await request(socket, "dm:send", { to: bob, text: "0123456789a" }), ErrorCode.TooLong);
  });

  it("counts MAX_MESSAGE_LENGTH in UTF-16 units: a character outside the BMP counts 2", async () => {
    const [room, alice, bob] = names("astral-text", "alice", "bob");
    const [socket] = await short.connectAll([alice]);
    await join(socket, room);
    const emoji = "\u{1f600}"; // 1 code point, 2 UTF-16 units
    const fits = emoji.repeat(5); // 10 units
    const cases = [
      // 6 code points: within the limit only if it were counted in code points.
      emoji.repeat(6),
      // 10 code points, 11 units.
      `012345678${emoji}`,
    ];
    expect((await send(socket, room, fits)).text).toBe(fits);
    const dm = await request(socket, "dm:send", { to: bob, text: fits });
    expect(dm).toMatchObject({ ok: true, message: { text: fits } });
    for (const text of cases) {
      expect([...text].length).toBeLessThanOrEqual(SHORT_MAX_MESSAGE_LENGTH);
      expectError(await request(socket, "room:send", { room, text }), ErrorCode.TooLong, `room:send ${text}`);
      expectError(await request(socket, "dm:send", { to: bob, text }), ErrorCode.TooLong, `dm:send ${text}`);
    }
  });
}
