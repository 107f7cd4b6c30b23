/**
 * The JSON schemas of /api/v1, shared by the routes: Fastify validates requests and serializes
 * responses with them, and @fastify/swagger publishes them as the OpenAPI document's components
 * (each `$id` is a component's name).
 */
import { ErrorCode, LIMITS } from "../../protocol/index.js";
import { MAX_MODERATION_SECONDS } from "../moderation/moderation.js";

/** A user name as `checkName` takes it; the server normalizes (NFKC) and checks it. */
export const userName = {
  type: "string",
  description: `A user: ${LIMITS.userName.min}–${LIMITS.userName.max} letters, digits, spaces and - _ . (NFKC-normalized).`,
} as const;

/** A room name as `checkName` takes it. */
export const roomName = {
  type: "string",
  description: `A room: ${LIMITS.roomName.min}–${LIMITS.roomName.max} letters, digits, spaces and - _ . (NFKC-normalized).`,
} as const;

/** A message id, `<13-digit epoch ms>-<6-digit sequence>`. */
export const messageId = {
  type: "string",
  pattern: "^[0-9]{13}-([0-9]{6}|[1-9][0-9]{6,19})$",
  description: "A message id, like 1767225600000-000001.",
} as const;

export const clientId = {
  type: "string",
  description:
    `Idempotency key, ${LIMITS.clientId.min}–${LIMITS.clientId.max} characters: a request that repeats ` +
    "one answers the first message and stores nothing.",
} as const;

export const seconds = {
  type: "integer",
  minimum: 1,
  maximum: MAX_MODERATION_SECONDS,
  description: "How long, in seconds (1 second to 10 years).",
} as const;

/** `{ ok: true }`, the start of every successful answer. */
export const okTrue = { type: "boolean", enum: [true] } as const;

const ErrorBody = {
  $id: "ErrorBody",
  type: "object",
  required: ["code", "message"],
  additionalProperties: false,
  properties: {
    code: { type: "string", enum: Object.values(ErrorCode) },
    message: { type: "string", description: "Says what went wrong; safe to show." },
    retryAfterMs: { type: "integer", minimum: 1, description: "With rate_limited: how long to wait, in ms." },
    until: { type: "integer", description: "With forbidden for a ban or a mute: when it ends, in epoch ms." },
  },
} as const;

const ErrorResponse = {
  $id: "ErrorResponse",
  type: "object",
  required: ["ok", "error"],
  additionalProperties: false,
  properties: { ok: { type: "boolean", enum: [false] }, error: { $ref: "ErrorBody#" } },
} as const;

const ChatMessage = {
  $id: "ChatMessage",
  type: "object",
  required: ["id", "room", "from", "text", "ts", "prev"],
  additionalProperties: false,
  properties: {
    id: { type: "string", description: "Sorts, as a string, in send order within its room." },
    room: { type: "string" },
    from: { type: "string" },
    text: { type: "string", description: "Exactly as sent: render it as text, never as HTML." },
    ts: { type: "integer", description: "Epoch milliseconds." },
    prev: { type: "string", description: 'The id of the message before this one in the room ("" for the first).' },
    deleted: {
      type: "boolean",
      enum: [true],
      description: 'Deleted by a moderator: a tombstone, with text "" and the same id and prev.',
    },
  },
} as const;

const DirectMessage = {
  $id: "DirectMessage",
  type: "object",
  required: ["id", "from", "to", "text", "ts", "prev"],
  additionalProperties: false,
  properties: {
    id: { type: "string", description: "Sorts, as a string, in send order within the conversation." },
    from: { type: "string" },
    to: { type: "string" },
    text: { type: "string" },
    ts: { type: "integer", description: "Epoch milliseconds." },
    prev: { type: "string", description: 'The id of the DM before this one in the conversation ("" for the first).' },
    feedId: { type: "string", description: "This DM's id in the sender's DM feed." },
    feedPrev: { type: "string", description: "The id of the DM before this one in that feed." },
  },
} as const;

const Notice = {
  $id: "Notice",
  type: "object",
  required: ["text", "ts"],
  additionalProperties: false,
  properties: {
    text: { type: "string" },
    ts: { type: "integer", description: "Epoch milliseconds." },
    room: { type: "string", description: "Absent for a notice to everyone." },
  },
} as const;

const RoomSummary = {
  $id: "RoomSummary",
  type: "object",
  required: ["room", "members"],
  additionalProperties: false,
  properties: { room: { type: "string" }, members: { type: "integer", description: "Distinct users in it." } },
} as const;

const NodeSummary = {
  $id: "NodeSummary",
  type: "object",
  required: ["node", "sockets", "users", "seenAt"],
  additionalProperties: false,
  properties: {
    node: { type: "string" },
    sockets: { type: "integer" },
    users: { type: "integer" },
    seenAt: { type: "integer", description: "Epoch ms of the node's last heartbeat." },
  },
} as const;

const Ban = {
  $id: "Ban",
  type: "object",
  required: ["user", "until", "reason"],
  additionalProperties: false,
  properties: {
    user: { type: "string" },
    until: { type: "integer", description: "When it ends, in epoch ms." },
    reason: { type: "string" },
  },
} as const;

const Mute = {
  $id: "Mute",
  type: "object",
  required: ["room", "user", "until"],
  additionalProperties: false,
  properties: {
    room: { type: "string" },
    user: { type: "string" },
    until: { type: "integer", description: "When it ends, in epoch ms." },
  },
} as const;

/** Every shared schema, for `app.addSchema`. */
export const SHARED_SCHEMAS = [
  ErrorBody,
  ErrorResponse,
  ChatMessage,
  DirectMessage,
  Notice,
  RoomSummary,
  NodeSummary,
  Ban,
  Mute,
];

/** What each error status means on this API. */
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "A field is wrong: `bad_request` naming it, or `too_long` for a text over MAX_MESSAGE_LENGTH.",
  401: "No valid bearer token (`unauthorized`).",
  403:
    "`forbidden`: the token's scope does not allow this route, or the sender is banned, or muted in " +
    "the room (then with `until`).",
  404: "No such thing, or the API is off on this deployment (`not_found`).",
  413: "The request body is over the server's limit (`too_long`).",
  429:
    "`rate_limited`, with `retryAfterMs` and a `Retry-After` header (seconds): too many failed sign-ins " +
    "from this address, or the sender's rate limit.",
  500: "A bug on the server (`internal`), logged there.",
  503: "A store is unreachable (`unavailable`): retry.",
};

const RETRY_AFTER = { type: "integer", minimum: 1, description: "Seconds to wait before trying again." };

/** Statuses every route may answer: bad input, no token, a small scope, the API off, lockout, failures. */
const ALWAYS = [400, 401, 403, 404, 429, 500, 503] as const;

/**
 * A route's `response` schemas: its successes, and the error answer for every error status it
 * may give (the common ones and `extra`).
 */
export function responses(successes: Record<number, object>, extra: readonly number[] = []): Record<number, object> {
  const all: Record<number, object> = { ...successes };
  for (const status of [...ALWAYS, ...extra]) {
    all[status] = { description: ERROR_DESCRIPTIONS[status], $ref: "ErrorResponse#" };
  }
  all[429] = { ...all[429], headers: { "retry-after": RETRY_AFTER } };
  return all;
}

/** A success answer: `{ ok: true, ...properties }`, every property required unless listed as optional. */
export function success(description: string, properties: Record<string, object>, optional: readonly string[] = []) {
  return {
    description,
    type: "object",
    required: ["ok", ...Object.keys(properties).filter((key) => !optional.includes(key))],
    additionalProperties: false,
    properties: { ok: okTrue, ...properties },
  };
}

/** The `Idempotency-Key` header: another way to give `clientId`. */
export const idempotencyHeaders = {
  type: "object",
  properties: {
    "idempotency-key": {
      type: "string",
      minLength: LIMITS.clientId.min,
      maxLength: LIMITS.clientId.max,
      description: "The same as `clientId` (give either, or both the same).",
    },
  },
} as const;
