/**
 * Token mode across two nodes on one Redis: every refusal of a bad token says why (and never
 * echoes the token), a valid token makes its `sub` the user whatever `auth.user` says, and the
 * token's `rooms` claim limits `room:join`. A second deployment verifies with an RSA public key,
 * to show that an HS256 token signed with that PEM's text is refused.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type ErrorBody } from "../protocol/index.js";
import { client, closeAllClients, connected, ok, request, within, type TestSocket } from "./support/clients.js";
import { unique } from "./support/identity.js";
import { startNodes, type Deployment } from "./support/deployment.js";
import { RedisServer } from "./support/redis-server.js";

const SECRET = "identity-tokens-test-secret-0123456789abcdef";
const ISSUER = "https://app.example";
const AUDIENCE = "roomcast-chat";

const nowSeconds = () => Math.floor(Date.now() / 1000);
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** The claims of a good token for `sub`; a claim set to undefined is left out. */
function claims(sub: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const all: Record<string, unknown> = { sub, iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 600, ...overrides };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

/** Signs `payload` with HS256 and `secret` (the deployment's secret unless told otherwise). */
function hs256(payload: Record<string, unknown>, secret: string = SECRET): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

/** Opens a socket with `auth` that must be refused; resolves with its connect_error. */
function refusal(url: string, auth: Record<string, unknown>): Promise<Error & { data?: ErrorBody }> {
  const socket = client(url, undefined, { auth });
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => reject(new Error(`${JSON.stringify(auth)} connected but should be refused`)));
      socket.once("connect_error", resolve);
    }),
    `the connect_error of ${JSON.stringify(auth)}`,
  );
}

/** Asserts that `token` is refused on `url` with `message`, and that the refusal does not echo it. */
async function expectRefused(url: string, token: string, message: string): Promise<void> {
  const error = await refusal(url, { token });
  expect(error.data, message).toEqual({ code: ErrorCode.Unauthorized, message });
  expect(error.message).toBe(message);
  expect(JSON.stringify(error.data)).not.toContain(token);
  // Not even the signature, the part that makes a token a credential.
  const signature = token.split(".")[2] ?? "";
  if (signature !== "") expect(JSON.stringify(error.data)).not.toContain(signature);
}

/** Connects with `auth` (a token, maybe with a decoy `user`) and waits until connected. */
const withAuth = (url: string, auth: Record<string, unknown>): Promise<TestSocket> =>
  connected(url, undefined, { auth });

afterEach(() => closeAllClients());

describe("token mode with AUTH_JWT_SECRET, AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE, two nodes", () => {
  let redis: RedisServer;
  let deployment: Deployment;
  const url = (k: number) => deployment.urls[k % deployment.urls.length]!;

  beforeAll(async () => {
    redis = await RedisServer.start();
    deployment = await startNodes(
      2,
      redis.url,
      { AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE },
      () => redis.stop(),
    );
  });
  afterAll(() => deployment?.close());

  it("connects with a valid token on both nodes as its sub, ignoring auth.user", async () => {
    const [alice, room] = [unique("alice"), unique("room")];
    const token = await hs256(claims(alice));
    const first = await withAuth(url(0), { token, user: "mallory" });
    const second = await withAuth(url(1), { token, user: unique("eve") });
    expect((await ok(first, "room:join", { room })).members).toEqual([alice]);
    expect((await ok(second, "room:join", { room })).members).toEqual([alice]);
    const { message } = await ok(second, "room:send", { room, text: "who am I" });
    expect(message.from).toBe(alice);
  });

  it("refuses a handshake without a token, and a token given as auth.user does nothing", async () => {
    const token = await hs256(claims(unique("alice")));
    const needsToken = "this server needs a token (auth.token)";
    for (const [k, auth] of [{}, { user: unique("alice") }, { user: token }, { token: "" }, { token: 42 }].entries()) {
      const error = await refusal(url(k), auth);
      expect(error.data, JSON.stringify(auth)).toEqual({ code: ErrorCode.Unauthorized, message: needsToken });
      expect(JSON.stringify(error.data)).not.toContain(token);
    }
  });

  it("refuses a token signed with another secret: the signature is not valid", async () => {
    const token = await hs256(claims(unique("alice")), "some-other-secret-that-is-long-enough-0123");
    await expectRefused(url(0), token, "the token's signature is not valid");
    await expectRefused(url(1), token, "the token's signature is not valid");
  });

  it('refuses an unsigned token (alg "none")', async () => {
    const token = `${encode({ alg: "none", typ: "JWT" })}.${encode(claims(unique("alice")))}.`;
    await expectRefused(url(0), token, "the token's algorithm is not accepted");
    await expectRefused(url(1), token, "the token's algorithm is not accepted");
  });

  it("refuses an expired token", async () => {
    const token = await hs256(claims(unique("alice"), { exp: nowSeconds() - 60 }));
    await expectRefused(url(0), token, "the token has expired");
    await expectRefused(url(1), token, "the token has expired");
  });

  it("refuses a token that is not valid yet (nbf in the future)", async () => {
    const token = await hs256(claims(unique("alice"), { nbf: nowSeconds() + 300 }));
    await expectRefused(url(0), token, "the token is not valid yet");
    await expectRefused(url(1), token, "the token is not valid yet");
    // An nbf in the past is fine.
    await withAuth(url(1), { token: await hs256(claims(unique("alice"), { nbf: nowSeconds() - 60 })) });
  });

  it("refuses a token without exp", async () => {
    const token = await hs256(claims(unique("alice"), { exp: undefined }));
    await expectRefused(url(0), token, 'the token has no "exp" claim');
    await expectRefused(url(1), token, 'the token has no "exp" claim');
  });

  it("refuses a token without sub", async () => {
    const token = await hs256(claims(unique("alice"), { sub: undefined }));
    await expectRefused(url(0), token, 'the token has no "sub" claim');
  });

  it("refuses a token of the wrong issuer, or with none", async () => {
    const wrong = await hs256(claims(unique("alice"), { iss: "https://evil.example" }));
    await expectRefused(url(0), wrong, "the token has the wrong issuer");
    await expectRefused(url(1), wrong, "the token has the wrong issuer");
    const none = await hs256(claims(unique("alice"), { iss: undefined }));
    await expectRefused(url(1), none, 'the token has no "iss" claim');
  });

  it("refuses a token for the wrong audience, or for none", async () => {
    const wrong = await hs256(claims(unique("alice"), { aud: "another-service" }));
    await expectRefused(url(0), wrong, "the token has the wrong audience");
    await expectRefused(url(1), wrong, "the token has the wrong audience");
    const none = await hs256(claims(unique("alice"), { aud: undefined }));
    await expectRefused(url(0), none, 'the token has no "aud" claim');
  });

  it("refuses a token whose sub is not a valid user name", async () => {
    const cases: [string, string][] = [
      ["a b ", "user must not start or end with a space"],
      [`${unique("bob")}\u200B`, "user must not contain invisible characters"],
      ["a".repeat(33), "user must be 1 to 32 characters"],
    ];
    for (const [k, [sub, reason]] of cases.entries()) {
      const token = await hs256(claims(sub));
      await expectRefused(url(k), token, `the token's sub is not a valid user name: ${reason}`);
    }
  });

  it("refuses a garbled token as malformed", async () => {
    await expectRefused(url(0), "not-a-jwt", "the token is malformed");
  });

  it("refuses a sub that looks like another user's name (Cyrillic о) while that user is in use", async () => {
    const bob = unique("bob");
    await withAuth(url(0), { token: await hs256(claims(bob)) });
    const lookalike = bob.replace("o", "\u043E");
    expect(lookalike).not.toBe(bob);
    const token = await hs256(claims(lookalike));
    await expectRefused(url(1), token, "the token's sub looks like another user's name");
  });

  it('limits room:join to the "rooms" claim: exact names and prefix-*; forbidden elsewhere', async () => {
    const alice = unique("alice");
    const tag = unique("r");
    const [lobby, teamRed, teamBlue, random] = [`lobby-${tag}`, `team-${tag}-red`, `team-${tag}-blue`, `random-${tag}`];
    const token = await hs256(claims(alice, { rooms: [lobby, `team-${tag}-*`] }));
    const [first, second] = [await withAuth(url(0), { token }), await withAuth(url(1), { token })];

    expect(await request(first, "room:join", { room: lobby })).toMatchObject({ ok: true, room: lobby });
    expect(await request(second, "room:join", { room: teamRed })).toMatchObject({ ok: true, room: teamRed });
    expect(await request(first, "room:join", { room: teamBlue })).toMatchObject({ ok: true, room: teamBlue });
    for (const socket of [first, second]) {
      expect(await request(socket, "room:join", { room: random })).toEqual({
        ok: false,
        error: { code: ErrorCode.Forbidden, message: `your token does not allow room "${random}"` },
      });
    }
    // The prefix is a prefix, not a substring, and the exact name is exact.
    expect(await request(first, "room:join", { room: `x-team-${tag}-red` })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.Forbidden },
    });
    expect(await request(second, "room:join", { room: `${lobby}-annex` })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.Forbidden },
    });
    // The forbidden joins left no trace: the rooms alice is in are the allowed ones.
    const { rooms } = await ok(first, "rooms:list", {});
    const listed = (rooms as { room: string }[]).map((summary) => summary.room).filter((room) => room.includes(tag));
    expect(listed.sort()).toEqual([lobby, teamBlue, teamRed].sort());
  });

  it('allows every room to a token without a "rooms" claim', async () => {
    const token = await hs256(claims(unique("alice")));
    const [first, second] = [await withAuth(url(0), { token }), await withAuth(url(1), { token })];
    for (const [k, room] of [unique("lobby"), unique("team-red"), unique("random")].entries()) {
      expect(await request([first, second][k % 2]!, "room:join", { room })).toMatchObject({ ok: true, room });
    }
  });
});

describe("token mode with AUTH_JWT_PUBLIC_KEY (RSA), two nodes", () => {
  let redis: RedisServer;
  let deployment: Deployment;
  let privateKey: KeyObject;
  let pem: string;
  const url = (k: number) => deployment.urls[k % deployment.urls.length]!;

  beforeAll(async () => {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    privateKey = pair.privateKey;
    pem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    redis = await RedisServer.start();
    deployment = await startNodes(2, redis.url, { AUTH_JWT_PUBLIC_KEY: pem }, () => redis.stop());
  });
  afterAll(() => deployment?.close());

  const rs256 = (payload: Record<string, unknown>) =>
    new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "JWT" }).sign(privateKey);
  const payload = (sub: string) => ({ sub, exp: nowSeconds() + 600 });

  it("connects with an RS256 token signed by the private key, on both nodes", async () => {
    const alice = unique("alice");
    const token = await rs256(payload(alice));
    const room = unique("room");
    const first = await withAuth(url(0), { token });
    const second = await withAuth(url(1), { token });
    await ok(first, "room:join", { room });
    expect((await ok(second, "room:join", { room })).members).toEqual([alice]);
  });

  it("refuses an HS256 token signed with the public key's PEM text as the secret (HS/RS confusion)", async () => {
    const sub = unique("mallory");
    for (const secret of [pem, pem.trim()]) {
      const token = await hs256(payload(sub), secret);
      await expectRefused(url(0), token, "the token's algorithm is not accepted");
      await expectRefused(url(1), token, "the token's algorithm is not accepted");
    }
  });

  it('refuses an unsigned token (alg "none") here too', async () => {
    const token = `${encode({ alg: "none" })}.${encode(payload(unique("mallory")))}.`;
    await expectRefused(url(1), token, "the token's algorithm is not accepted");
  });
});
