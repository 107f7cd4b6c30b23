/**
 * Token expiry and `auth:refresh` across two nodes on one Redis, with real short-lived tokens
 * (exp has a 1 s resolution, so they live 2 to 3 s). No sleeps: each test waits for the events
 * the server sends (`auth:expiring`, `auth:expired`, the disconnect) and checks when they came.
 */
import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type TokenExpiry } from "../protocol/index.js";
import { closeAllClients, connected, next, ok, request, within, type TestSocket } from "./support/clients.js";
import { unique } from "./support/identity.js";
import { startNodes, type Deployment } from "./support/deployment.js";
import { RedisServer } from "./support/redis-server.js";

const SECRET = "identity-token-expiry-test-secret-0123456789";
/** The bound: the socket is dropped within a second or two of exp. */
const DROP_WITHIN_MS = 2000;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** An HS256 token for `sub` that expires at `exp` (epoch seconds). */
function token(sub: string, exp: number): Promise<string> {
  return new SignJWT({ sub, exp }).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));
}

/** When each token event and the disconnect of `socket` happened, in the order they came. */
function timeline(socket: TestSocket) {
  const events: { event: string; at: number; payload?: TokenExpiry | string }[] = [];
  socket.on("auth:expiring", (payload) => events.push({ event: "auth:expiring", at: Date.now(), payload }));
  socket.on("auth:expired", (payload) => events.push({ event: "auth:expired", at: Date.now(), payload }));
  const disconnected = within(
    new Promise<number>((resolve) =>
      socket.once("disconnect", (reason) => {
        const at = Date.now();
        events.push({ event: "disconnect", at, payload: reason });
        resolve(at);
      }),
    ),
    "the server to drop the socket",
    // Generous: the token's remaining life plus the bound.
    10_000,
  );
  const at = (event: string) => events.find((entry) => entry.event === event);
  return { events, disconnected, at };
}

afterEach(() => closeAllClients());

describe("token expiry and auth:refresh, two nodes", () => {
  let redis: RedisServer;
  let deployment: Deployment;
  const url = (k: number) => deployment.urls[k % deployment.urls.length]!;

  beforeAll(async () => {
    redis = await RedisServer.start();
    deployment = await startNodes(2, redis.url, { AUTH_JWT_SECRET: SECRET }, () => redis.stop());
  });
  afterAll(() => deployment?.close());

  it("without a refresh: auth:expiring before exp, then auth:expired and a drop within 2 s after exp", async () => {
    const alice = unique("alice");
    const exp = nowSeconds() + 3;
    // One socket on each node, both with the same token, watched side by side.
    const sockets = await Promise.all(
      [0, 1].map(async (k) => connected(url(k), undefined, { auth: { token: await token(alice, exp) } })),
    );
    for (const seen of sockets.map(timeline)) {
      const droppedAt = await seen.disconnected;
      expect(seen.events.map((entry) => entry.event)).toEqual(["auth:expiring", "auth:expired", "disconnect"]);
      expect(seen.at("auth:expiring")).toMatchObject({ payload: { expiresAt: exp * 1000 } });
      expect(seen.at("auth:expiring")!.at).toBeLessThan(exp * 1000);
      expect(seen.at("auth:expired")).toMatchObject({ payload: { expiresAt: exp * 1000 } });
      expect(seen.at("auth:expired")!.at).toBeGreaterThanOrEqual(exp * 1000);
      expect(seen.at("disconnect")!.payload).toBe("io server disconnect");
      expect(droppedAt).toBeGreaterThanOrEqual(exp * 1000);
      expect(droppedAt - exp * 1000).toBeLessThanOrEqual(DROP_WITHIN_MS);
    }
  });

  it("refresh with a token for the same sub acks { ok, expiresAt }; the socket outlives the first exp", async () => {
    const alice = unique("alice");
    const room = unique("room");
    const exp = nowSeconds() + 3;
    const refreshed = await connected(url(0), undefined, { auth: { token: await token(alice, exp) } });
    const seen = timeline(refreshed);
    const expiringSeen = next(refreshed, "auth:expiring");
    // A control socket of the same user on the other node, with a token that lives one second
    // longer and is never refreshed: when it is dropped, the first exp is a second past.
    const control = await connected(url(1), undefined, { auth: { token: await token(alice, exp + 1) } });
    const controlSeen = timeline(control);

    expect(await expiringSeen).toEqual({ expiresAt: exp * 1000 });
    expect(seen.at("auth:expiring")!.at).toBeLessThan(exp * 1000);
    const later = nowSeconds() + 600;
    expect(await request(refreshed, "auth:refresh", { token: await token(alice, later) })).toEqual({
      ok: true,
      expiresAt: later * 1000,
    });

    const controlDroppedAt = await controlSeen.disconnected;
    expect(controlDroppedAt).toBeGreaterThanOrEqual((exp + 1) * 1000);
    expect(refreshed.connected).toBe(true);
    expect(seen.events.map((entry) => entry.event)).toEqual(["auth:expiring"]);
    // It still works past the first token's exp.
    expect(Date.now()).toBeGreaterThan(exp * 1000);
    expect((await ok(refreshed, "room:join", { room })).members).toEqual([alice]);
  });

  it("a refresh as another sub is forbidden, and the socket keeps its old token: dropped at the old exp", async () => {
    const alice = unique("alice");
    const exp = nowSeconds() + 3;
    const socket = await connected(url(1), undefined, { auth: { token: await token(alice, exp) } });
    const seen = timeline(socket);

    const other = await token(unique("mallory"), nowSeconds() + 600);
    const answer = await request(socket, "auth:refresh", { token: other });
    expect(answer).toEqual({ ok: false, error: { code: ErrorCode.Forbidden, message: expect.stringMatching(/\S/) } });
    expect(JSON.stringify(answer)).not.toContain(other);
    // A token that does not verify changes nothing either.
    const expired = await token(alice, nowSeconds() - 60);
    expect(await request(socket, "auth:refresh", { token: expired })).toEqual({
      ok: false,
      error: { code: ErrorCode.Unauthorized, message: "the token has expired" },
    });

    const droppedAt = await seen.disconnected;
    expect(seen.events.map((entry) => entry.event)).toEqual(["auth:expiring", "auth:expired", "disconnect"]);
    expect(seen.at("auth:expired")).toMatchObject({ payload: { expiresAt: exp * 1000 } });
    expect(droppedAt).toBeGreaterThanOrEqual(exp * 1000);
    expect(droppedAt - exp * 1000).toBeLessThanOrEqual(DROP_WITHIN_MS);
  });
});
