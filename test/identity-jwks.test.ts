/**
 * Token mode with AUTH_JWKS_URL, against a real HTTP server that serves the key set: a token of a
 * listed key works, a key added later is fetched when a token names it, a token of a key the set
 * does not hold is refused, and a key set that cannot be reached answers `unavailable`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type ErrorBody } from "../protocol/index.js";
import { client, closeAllClients, connected, within } from "./support/clients.js";
import { startNode } from "./support/deployment.js";
import { freePort } from "./support/redis-server.js";

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

/** A signing key with its public JWK under `kid`. */
async function signingKey(kid: string): Promise<{ privateKey: PrivateKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

const token = (sub: string, kid: string, privateKey: PrivateKey) =>
  new SignJWT({}).setProtectedHeader({ alg: "ES256", kid }).setSubject(sub).setExpirationTime("10m").sign(privateKey);

/** Opens a socket with `auth` that must be refused; resolves with its connect_error's data. */
function refusal(url: string, auth: Record<string, unknown>): Promise<ErrorBody | undefined> {
  const socket = client(url, undefined, { auth });
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => reject(new Error("connected but should be refused")));
      socket.once("connect_error", (error: Error & { data?: ErrorBody }) => resolve(error.data));
    }),
    "the connect_error",
  );
}

afterEach(() => closeAllClients());

describe("token mode with a JWKS endpoint", () => {
  const published: JWK[] = [];
  let fetches = 0;
  let jwks: Server;
  let node: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    jwks = createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    const { port } = jwks.address() as AddressInfo;
    node = await startNode({ AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` });
  });
  afterAll(async () => {
    await node?.close();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  it("accepts a listed key, fetches a key added later, and refuses a key it does not hold", async () => {
    const first = await signingKey("first");
    published.push(first.jwk);
    const alice = await connected(node.url, undefined, {
      auth: { token: await token("alice", "first", first.privateKey) },
    });
    expect(alice.connected).toBe(true);
    const fetchedBefore = fetches;

    // The host rotates in a new key: a token naming it makes the node fetch the set again, once
    // the few seconds' cooldown after the last fetch have passed.
    const second = await signingKey("second");
    published.push(second.jwk);
    const bobToken = await token("bob", "second", second.privateKey);
    const connects = async () => {
      const socket = client(node.url, undefined, { auth: { token: bobToken } });
      return within(
        new Promise<string>((resolve) => {
          socket.once("connect", () => resolve("connected"));
          socket.once("connect_error", (error: Error & { data?: ErrorBody }) => resolve(error.data?.message ?? ""));
        }),
        "bob's handshake",
      );
    };
    await expect.poll(connects, { timeout: 10_000, interval: 500 }).toBe("connected");
    expect(fetches).toBeGreaterThan(fetchedBefore);

    // A key the set does not hold (signed with another private key under a listed kid).
    const impostor = await signingKey("first");
    expect(await refusal(node.url, { token: await token("mallory", "first", impostor.privateKey) })).toEqual({
      code: ErrorCode.Unauthorized,
      message: "the token's signature is not valid",
    });
  });
});

describe("token mode with a JWKS endpoint that cannot be reached", () => {
  let node: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    // A port nothing listens on: every fetch of the key set fails.
    node = await startNode({ AUTH_JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks.json` });
  });
  afterAll(() => node?.close());

  it("answers unavailable, so that clients retry", async () => {
    const key = await signingKey("k");
    const data = await refusal(node.url, { token: await token("alice", "k", key.privateKey) });
    expect(data?.code).toBe(ErrorCode.Unavailable);
    expect(data?.message).not.toContain("eyJ");
  });
});
