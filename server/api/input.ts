import { checkName } from "../../protocol/index.js";
import { badRequest } from "../errors.js";

/**
 * A user or room name, normalized; throws `bad_request` with the reason when it is not one,
 * naming `field` when it is not called after its kind (`from: user must be …`).
 */
export function nameOf(value: unknown, kind: "user" | "room", field: string = kind): string {
  const check = checkName(value, kind);
  if (!check.ok) throw badRequest(field === kind ? check.reason : `${field}: ${check.reason}`);
  return check.name;
}

/**
 * The idempotency key of a POST: `clientId` in the body or the `Idempotency-Key` header. Both may
 * be given, but must then be the same.
 */
export function idempotencyKey(
  header: string | string[] | undefined,
  clientId: string | undefined,
): string | undefined {
  if (Array.isArray(header)) throw badRequest("give the Idempotency-Key header once");
  if (header !== undefined && clientId !== undefined && header !== clientId) {
    throw badRequest("the Idempotency-Key header and clientId differ: give one, or both the same");
  }
  return clientId ?? header;
}

/** A lone surrogate: JSON can carry it, but UTF-8 (the wire, Redis) cannot. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Throws `bad_request` when `value` holds a lone surrogate (for free text other than messages). */
export function wellFormed(value: string, field: string): string {
  if (LONE_SURROGATE.test(value)) throw badRequest(`${field} must be well-formed Unicode (it has a lone surrogate)`);
  return value;
}
