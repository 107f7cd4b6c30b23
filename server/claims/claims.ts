import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * What a connection may do with a name:
 * - `claimed`: it brought a key for a free name, and now owns it;
 * - `proven`: it brought the key of the name's claim (or, in token mode, a verified token);
 * - `unclaimed`: no key, and no claim covers the name: it may use it, but proves nothing;
 * - `taken`: a claim covers the name, or a name that looks like it, and this is not its key.
 */
export type ClaimOutcome = "claimed" | "proven" | "unclaimed" | "taken";

/**
 * Names claimed by whoever first brought a key for them, on every node. A claim covers the
 * name's confusable skeleton, so that `bоb` (Cyrillic о) cannot pass for a claimed `bob`, and
 * lapses after the name has gone unused for the configured time. Keys are kept only as salted
 * hashes.
 */
export interface NameClaims {
  /** Open mode: claims `name` with `key`, or checks the key against the claim that covers it. */
  check(name: string, key: string | undefined): Promise<ClaimOutcome>;
  /**
   * Token mode: `name` is a verified token's subject. It is `proven` unless another name with the
   * same skeleton is in use (`taken`); either way the claim is kept alive.
   */
  reserve(name: string): Promise<ClaimOutcome>;
  /** Whether a claim covers exactly `name` (DMs are held only for claimed names). */
  isClaimed(name: string): Promise<boolean>;
  /** Keeps the claim of `name` alive for another full period (a connection of it ended). */
  touch(name: string): Promise<void>;
}

/** A claim as stored. Token-mode reservations have no key: `hash` is "". */
export interface ClaimRecord {
  name: string;
  salt: string;
  hash: string;
}

/** The salted hash a claim keeps of its key. Keys are random secrets, not passwords. */
export function hashKey(salt: string, key: string): string {
  return createHash("sha256").update(salt).update("\n").update(key).digest("hex");
}

/** A new claim of `name` with `key` (or a token-mode reservation without one). */
export function newClaim(name: string, key: string | undefined): ClaimRecord {
  if (key === undefined) return { name, salt: "", hash: "" };
  const salt = randomBytes(16).toString("hex");
  return { name, salt, hash: hashKey(salt, key) };
}

/**
 * What an existing claim means for a connection that asks for `name` with `key`, in open mode.
 * Compares in constant time.
 */
export function judge(record: ClaimRecord, name: string, key: string | undefined): ClaimOutcome {
  if (record.name !== name || key === undefined || record.hash === "") return "taken";
  const given = Buffer.from(hashKey(record.salt, key), "hex");
  const expected = Buffer.from(record.hash, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected) ? "proven" : "taken";
}
