import { createHmac } from "node:crypto";

/** The secret of the token-mode test deployments (AUTH_JWT_SECRET; at least 32 characters). */
export const TEST_JWT_SECRET = "roomcast-test-secret-0123456789abcdef";

const base64url = (value: string | Buffer): string => Buffer.from(value).toString("base64url");

/**
 * Mints an HS256 JWT, synchronously (a test's `client()` must open its socket at once).
 *
 * @example
 * mintToken({ sub: "alice", exp: Math.floor(Date.now() / 1000) + 3600 })
 */
export function mintToken(claims: Record<string, unknown>, secret = TEST_JWT_SECRET): string {
  const signed = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

/** A token for `user` that lives an hour. */
export const tokenFor = (user: unknown): string => mintToken({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600 });
