import {
  checkName,
  LIMITS,
  parseMessageId,
  type DirectSendRequest,
  type DirectSyncRequest,
  type HistoryRequest,
  type JoinRequest,
  type LeaveRequest,
  type RefreshRequest,
  type RoomsRequest,
  type SendRequest,
  type TypingRequest,
} from "../../protocol/index.js";
import { CodedError, badRequest } from "../errors.js";
import { ErrorCode } from "../../protocol/index.js";

type Payload = Record<string, unknown>;

/** Longest token `auth:refresh` accepts; a JWT with a few claims is well under 1 KiB. */
const MAX_TOKEN_LENGTH = 8192;

/** Accepts only plain objects, read through own properties, so `__proto__` tricks find nothing. */
function object(value: unknown): Payload {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest("payload must be an object");
  }
  return value as Payload;
}

function field(payload: Payload, key: string): unknown {
  return Object.hasOwn(payload, key) ? payload[key] : undefined;
}

function name(payload: Payload, key: string, kind: "user" | "room"): string {
  const check = checkName(field(payload, key), kind);
  if (!check.ok) throw badRequest(check.reason);
  return check.name;
}

/** A lone surrogate: JSON can carry it, but UTF-8 (the wire, Redis) cannot, so it would not survive. */
const LONE_SURROGATE = /\p{Cs}/u;

function text(payload: Payload, maxLength: number): string {
  const value = field(payload, "text");
  if (typeof value !== "string") throw badRequest("text must be a string");
  if (value.length === 0) throw badRequest("text must not be empty");
  if (value.length > maxLength) {
    throw new CodedError(ErrorCode.TooLong, `text is longer than ${maxLength} characters`);
  }
  if (LONE_SURROGATE.test(value)) throw badRequest("text must be well-formed Unicode (it has a lone surrogate)");
  return value;
}

function messageId(payload: Payload, key: string): string | undefined {
  const value = field(payload, key);
  if (value === undefined) return undefined;
  if (parseMessageId(value) === undefined) {
    throw badRequest(`${key} must be a message id like 1767225600000-000001 (sequence within 64 bits)`);
  }
  return value as string;
}

function clientId(payload: Payload): string | undefined {
  const value = field(payload, "clientId");
  if (value === undefined) return undefined;
  const { min, max } = LIMITS.clientId;
  if (typeof value !== "string" || value.length < min || value.length > max || LONE_SURROGATE.test(value)) {
    throw badRequest(`clientId must be a string of ${min} to ${max} characters`);
  }
  return value;
}

function wholeNumber(raw: unknown, key: string, max: number): number {
  if (!Number.isInteger(raw) || (raw as number) < 1 || (raw as number) > max) {
    throw badRequest(`${key} must be a whole number from 1 to ${max}`);
  }
  return raw as number;
}

function optional<T>(payload: Payload, key: string, read: (value: unknown) => T): T | undefined {
  const value = field(payload, key);
  return value === undefined ? undefined : read(value);
}

/** Parsers for every client event: each returns a clean request or throws a coded CodedError. */
export function makeValidators(maxMessageLength: number) {
  return {
    join(value: unknown): JoinRequest {
      const payload = object(value);
      return { room: name(payload, "room", "room"), since: messageId(payload, "since") };
    },
    leave(value: unknown): LeaveRequest {
      return { room: name(object(value), "room", "room") };
    },
    send(value: unknown): SendRequest {
      const payload = object(value);
      return {
        room: name(payload, "room", "room"),
        text: text(payload, maxMessageLength),
        clientId: clientId(payload),
      };
    },
    history(value: unknown): HistoryRequest {
      const payload = object(value);
      const limit = optional(payload, "limit", (raw) => wholeNumber(raw, "limit", LIMITS.maxHistoryPage));
      return { room: name(payload, "room", "room"), before: messageId(payload, "before"), limit };
    },
    rooms(value: unknown): RoomsRequest {
      // Older clients send nothing at all; anything else must be an object.
      if (value === undefined) return {};
      const payload = object(value);
      const cursor = optional(payload, "cursor", (raw) => {
        if (typeof raw !== "string" || raw.length === 0 || raw.length > LIMITS.maxCursor) {
          throw badRequest(`cursor must be the nextCursor of a previous page`);
        }
        return raw;
      });
      const limit = optional(payload, "limit", (raw) => wholeNumber(raw, "limit", LIMITS.maxRoomsPage));
      return { ...(cursor !== undefined ? { cursor } : {}), ...(limit !== undefined ? { limit } : {}) };
    },
    direct(value: unknown): DirectSendRequest {
      const payload = object(value);
      return {
        to: name(payload, "to", "user"),
        text: text(payload, maxMessageLength),
        clientId: clientId(payload),
      };
    },
    directSync(value: unknown): DirectSyncRequest {
      // Like `rooms:list`, it may come with nothing at all.
      if (value === undefined) return {};
      const since = messageId(object(value), "since");
      return since === undefined ? {} : { since };
    },
    refresh(value: unknown): RefreshRequest {
      const token = field(object(value), "token");
      if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw badRequest(`token must be a string of 1 to ${MAX_TOKEN_LENGTH} characters`);
      }
      return { token };
    },
    typing(value: unknown): TypingRequest {
      const payload = object(value);
      const typing = field(payload, "typing");
      if (typeof typing !== "boolean") throw badRequest("typing must be true or false");
      return { room: name(payload, "room", "room"), typing };
    },
  };
}

export type Validators = ReturnType<typeof makeValidators>;
