import { ErrorCode, LIMITS, checkName } from "../../protocol/index.js";
import type { TokenVerifier } from "../auth/tokens.js";
import type { NameClaims } from "../claims/claims.js";
import { CodedError } from "../errors.js";

/** Who a connection is, and what it proved. */
export interface Identity {
  user: string;
  /**
   * The connection proved it is `user` (a verified token, or the key of the name's claim), so it
   * may receive what is addressed to the user alone: held DMs.
   */
  proven: boolean;
  /** Token mode: when the token expires (epoch ms). */
  expiresAt?: number;
  /** Token mode: the rooms the token allows (exact names and `prefix-*`); undefined means all. */
  rooms?: string[];
  /** Open mode: this connection's key claimed the name just now. */
  claimedNow?: boolean;
}

const unauthorized = (message: string) => new CodedError(ErrorCode.Unauthorized, message);

/** A field of the handshake's `auth`, read as an own property only. */
function authField(auth: unknown, key: "user" | "key" | "token"): unknown {
  return typeof auth === "object" && auth !== null && Object.hasOwn(auth, key)
    ? (auth as Record<string, unknown>)[key]
    : undefined;
}

/**
 * Decides who a handshake is: in token mode from a verified token's `sub` (`auth.user` is
 * ignored), in open mode from `auth.user`, proven by `auth.key` when the name is claimed.
 *
 * @returns a function that resolves to the identity, or rejects with a CodedError
 *   (`unauthorized` saying why, or `unavailable`).
 */
export function identifier(tokens: TokenVerifier | undefined, claims: NameClaims) {
  return async function identify(auth: unknown): Promise<Identity> {
    if (tokens) {
      const token = authField(auth, "token");
      if (typeof token !== "string" || token === "") throw unauthorized("this server needs a token (auth.token)");
      const verified = await tokens.verify(token);
      const name = checkName(verified.subject, "user");
      if (!name.ok) throw unauthorized(`the token's sub is not a valid user name: ${name.reason}`);
      if ((await claims.reserve(name.name)) === "taken") {
        throw unauthorized("the token's sub looks like another user's name");
      }
      return { user: name.name, proven: true, expiresAt: verified.expiresAt, rooms: verified.rooms };
    }
    const user = authField(auth, "user");
    if (user === undefined) throw unauthorized("auth.user is required");
    const name = checkName(user, "user");
    if (!name.ok) throw unauthorized(name.reason);
    const key = authField(auth, "key");
    const { min, max } = LIMITS.claimKey;
    if (key !== undefined && (typeof key !== "string" || key.length < min || key.length > max)) {
      throw unauthorized(`auth.key must be a string of ${min} to ${max} characters`);
    }
    const outcome = await claims.check(name.name, key);
    if (outcome === "taken") throw unauthorized("that name is taken");
    return { user: name.name, proven: outcome !== "unclaimed", ...(outcome === "claimed" ? { claimedNow: true } : {}) };
  };
}
