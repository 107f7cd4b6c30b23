/**
 * Lookalike and invisible user names in open mode, across two nodes on one Redis: NFKC folds
 * full-width `ｂob` into `bob` (the same user), invisible characters and stacks of combining marks
 * are refused, and while `bob` is claimed with a key, names that look like it (Cyrillic `bоb`,
 * `Bob`) are taken whatever key they bring. Without a claim, lookalikes are simply other users.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type ErrorBody } from "../protocol/index.js";
import { closeAllClients, connected, next, ok, type TestSocket } from "./support/clients.js";
import { newKey, refusal, unique } from "./support/identity.js";
import { nodesOnOneRedis, type Deployment } from "./support/deployment.js";

/** `name` with its first letter written full-width (U+FF41 ... U+FF5A), which NFKC folds back. */
const fullWidth = (name: string) => String.fromCodePoint(name.codePointAt(0)! - 0x61 + 0xff41) + name.slice(1);
/** `name` with its first Latin `o` written as Cyrillic `о` (U+043E): looks the same, is another string. */
const cyrillicO = (name: string) => name.replace("o", "\u043E");
const capitalized = (name: string) => name[0]!.toUpperCase() + name.slice(1);

const unauthorized = (message: string): ErrorBody => ({ code: ErrorCode.Unauthorized, message });

/** Connects as `user` (with `key` when given). */
const join = (url: string, user: string, key?: string): Promise<TestSocket> =>
  connected(url, user, key === undefined ? {} : { auth: { user, key } });

afterEach(() => closeAllClients());

describe("lookalike and invisible names in open mode, two nodes", () => {
  let deployment: Deployment;
  const url = (k: number) => deployment.urls[k % deployment.urls.length]!;

  beforeAll(async () => {
    deployment = await nodesOnOneRedis(2)();
  });
  afterAll(() => deployment?.close());

  it("folds full-width ｂob into bob: one user, one presence, one inbox", async () => {
    const [bob, carol, room] = [unique("bob"), unique("carol"), unique("room")];
    const wide = fullWidth(bob);
    expect(wide).not.toBe(bob);
    expect(wide.normalize("NFKC")).toBe(bob);

    const wideSocket = await join(url(0), wide);
    const bobSocket = await join(url(1), bob);
    const carolSocket = await join(url(0), carol);
    expect((await ok(wideSocket, "room:join", { room })).members).toEqual([bob]);
    expect((await ok(bobSocket, "room:join", { room })).members).toEqual([bob]);
    const { message } = await ok(wideSocket, "room:send", { room, text: "hi" });
    expect(message.from).toBe(bob);

    // A DM to either spelling reaches both sockets, as bob.
    const arrived = [wideSocket, bobSocket].map((socket) => next(socket, "dm:message", (dm) => dm.text === "psst"));
    const sent = await ok(carolSocket, "dm:send", { to: wide, text: "psst" });
    expect(sent).toMatchObject({ online: true, message: { to: bob } });
    expect(await Promise.all(arrived)).toEqual([sent.message, sent.message]);
  });

  it("folds ｂob into bob for claims too: bob's key proves ｂob, another key does not", async () => {
    const bob = unique("bob");
    const key = newKey();
    await join(url(0), bob, key);
    const wideSocket = await join(url(1), fullWidth(bob), key);
    expect((await ok(wideSocket, "room:join", { room: unique("room") })).members).toEqual([bob]);
    expect(await refusal(url(1), { user: fullWidth(bob), key: newKey() })).toEqual(unauthorized("that name is taken"));
    expect(await refusal(url(0), { user: fullWidth(bob) })).toEqual(unauthorized("that name is taken"));
  });

  it("refuses bob with an invisible character: U+034F, U+200B, U+FE0F, U+3164", async () => {
    const bob = unique("bob");
    const invisibles = ["\u034F", "\u200B", "\uFE0F", "\u3164"];
    const spellings = invisibles.flatMap((char) => [`${bob}${char}`, `b${char}${bob.slice(1)}`]);
    for (const [k, user] of spellings.entries()) {
      expect(await refusal(url(k), { user }), JSON.stringify(user)).toEqual(
        unauthorized("user must not contain invisible characters"),
      );
    }
    // The same name without them is fine.
    await join(url(1), bob);
  });

  it("refuses more than 3 combining marks in a row, and takes 3", async () => {
    const base = unique("bob");
    const overlay = "\u0334"; // COMBINING TILDE OVERLAY: no precomposed form, so NFKC keeps it.
    for (const k of [0, 1]) {
      expect(await refusal(url(k), { user: `${base}${overlay.repeat(4)}` })).toEqual(
        unauthorized("user may not stack more than 3 combining marks"),
      );
      expect(await refusal(url(k), { user: `b${"\u0301\u0302\u0303\u0304\u0306"}${base.slice(1)}` })).toEqual(
        unauthorized("user may not stack more than 3 combining marks"),
      );
    }
    const three = `${base}${overlay.repeat(3)}`;
    const socket = await join(url(1), three);
    expect((await ok(socket, "room:join", { room: unique("room") })).members).toEqual([three]);
  });

  it("while bob is claimed, Cyrillic bоb and Bob are taken: with no key, another key, or bob's", async () => {
    const bob = unique("bob");
    const key = newKey();
    await join(url(0), bob, key);
    const lookalikes = [cyrillicO(bob), capitalized(bob), capitalized(cyrillicO(bob))];
    for (const name of lookalikes) expect(name).not.toBe(bob);
    let k = 1;
    for (const user of lookalikes) {
      for (const auth of [{ user }, { user, key: newKey() }, { user, key }]) {
        expect(await refusal(url(k++), auth), JSON.stringify(auth)).toEqual(unauthorized("that name is taken"));
      }
    }
    // bob himself, with his key, on the other node.
    await join(url(1), bob, key);
  });

  it("refuses a lookalike's claim as well: claimed bob means nobody can claim bоb", async () => {
    const bob = unique("bob");
    await join(url(1), bob, newKey());
    expect(await refusal(url(0), { user: cyrillicO(bob), key: newKey() })).toEqual(unauthorized("that name is taken"));
    // And the reverse: the lookalike claimed first keeps bob out.
    const other = unique("bob");
    await join(url(0), cyrillicO(other), newKey());
    expect(await refusal(url(1), { user: other, key: newKey() })).toEqual(unauthorized("that name is taken"));
    expect(await refusal(url(1), { user: other })).toEqual(unauthorized("that name is taken"));
  });

  it("without claims, lookalikes connect, as distinct users", async () => {
    const bob = unique("bob");
    const room = unique("room");
    const users = [bob, cyrillicO(bob), capitalized(bob)];
    const sockets = await Promise.all(users.map((user, k) => join(url(k), user)));
    for (const socket of sockets) await ok(socket, "room:join", { room });
    const { members } = await ok(sockets[0]!, "room:join", { room });
    expect([...members].sort()).toEqual([...users].sort());
  });
});
