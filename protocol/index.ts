/**
 * roomcast protocol v1: the one typed contract shared by the server, the browser page and the SDK.
 *
 * Everything here is plain data and pure functions, so it bundles for the browser as well as Node.
 */

/** Protocol version, bumped on any breaking change to the events below. */
export const PROTOCOL_VERSION = 1;

/** The error catalogue. A code is never reused for another meaning. */
export const ErrorCode = {
  /** The payload has the wrong shape, a wrong type, or a name that is not allowed. */
  BadRequest: "bad_request",
  /** The socket sent to, typed in, or read a room it has not joined. */
  NotJoined: "not_joined",
  /** The text is longer than the server's MAX_MESSAGE_LENGTH. */
  TooLong: "too_long",
  /** The socket sent faster than its rate limit allows; retry after a pause. */
  RateLimited: "rate_limited",
  /** The handshake carried no valid identity, or an admin call no valid token. */
  Unauthorized: "unauthorized",
  /** The caller is known but may not do this (for example a disallowed Origin). */
  Forbidden: "forbidden",
  /** A backing store is unreachable; the same call may succeed later. */
  Unavailable: "unavailable",
  /** A bug on the server. It is logged there with the request's context. */
  Internal: "internal",
  /** What the request names does not exist (an HTTP API route, a ban, a message). */
  NotFound: "not_found",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes after which resending the same request may succeed. Everything else is final. */
export const RETRYABLE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.RateLimited,
  ErrorCode.Unavailable,
  ErrorCode.Internal,
]);

/** The error half of every ack, and the `data` of a `connect_error`. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** With `rate_limited`: how long to wait before trying again, in milliseconds. */
  retryAfterMs?: number;
  /** With `forbidden` for a ban or a mute: when it ends, in epoch milliseconds. */
  until?: number;
}

/** Every ack is `{ ok: true, ...result }` or `{ ok: false, error }`. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

export const LIMITS = {
  userName: { min: 1, max: 32 },
  roomName: { min: 1, max: 64 },
  clientId: { min: 1, max: 64 },
  /** The key that claims a name in open mode. */
  claimKey: { min: 16, max: 256 },
  /** Combining marks allowed in a row in a name (more can stack into unreadable shapes). */
  maxCombiningMarks: 3,
  /** Messages in a `room:join` answer without `since`, and the default `room:history` page. */
  defaultHistory: 50,
  /** Largest page `room:history` answers with. */
  maxHistoryPage: 200,
  /** The `rooms:list` page size without `limit`, and the largest `limit`. */
  defaultRoomsPage: 100,
  maxRoomsPage: 500,
  /** Longest `rooms:list` cursor (a room name, so never longer than one). */
  maxCursor: 64,
  /** Most joins and leaves one `room:presence:batch` carries (a node sends a full batch at once). */
  maxPresenceBatch: 100,
} as const;

/** A message in a room, as stored and as broadcast. */
export interface ChatMessage {
  /** Sorts, as a string, in send order within its room. */
  id: string;
  room: string;
  from: string;
  /** Exactly as sent: render it as text, never as HTML. */
  text: string;
  /** Epoch milliseconds, set by the server. */
  ts: number;
  /**
   * Id of the message before this one in the room's log ("" for the first). A receiver whose last
   * seen id differs has missed something, or got this one early, and can fill the gap from history.
   */
  prev: string;
  /** The message was deleted by a moderator: `text` is "", the id and `prev` stay. */
  deleted?: true;
}

/** A direct message between two users. */
export interface DirectMessage {
  /** Sorts, as a string, in send order within the conversation of the two users. */
  id: string;
  from: string;
  to: string;
  text: string;
  ts: number;
  /** Id of the message before this one in the conversation ("" for the first). */
  prev: string;
  /**
   * This DM's id in the DM feed of the user it is delivered to: every DM to or from that user, in
   * order (see `dm:sync`). Absent when the DM is not in that user's feed (a name nobody proved
   * theirs keeps no feed).
   */
  feedId?: string;
  /** With `feedId`: the id of the DM before this one in that feed ("" for the first). */
  feedPrev?: string;
}

export type PresenceEvent = "join" | "leave";

export interface RoomPresence {
  room: string;
  user: string;
  event: PresenceEvent;
  /** Distinct users in the room after this event, cluster-wide. */
  members: number;
}

/**
 * `room:presence:batch`: joins and leaves of a large room (over the server's
 * PRESENCE_BATCH_ABOVE members), gathered by one node and sent together, in the order that node
 * saw them (once a batch waits, the room's later events join it even if the room shrank). Each
 * is what a `room:presence` would have said; the SDK hands them out one by one.
 */
export interface RoomPresenceBatch {
  room: string;
  /** At most `LIMITS.maxPresenceBatch`. */
  events: Omit<RoomPresence, "room">[];
}

export interface RoomTyping {
  room: string;
  user: string;
  typing: boolean;
}

export interface Notice {
  text: string;
  ts: number;
  /** Absent for a notice to everyone. */
  room?: string;
}

/** A message of a room was deleted: clients drop its text (it comes as a tombstone from now on). */
export interface MessageDeleted {
  room: string;
  id: string;
}

export interface RoomSummary {
  room: string;
  members: number;
}

// Requests and results, one pair per client event.
export interface JoinRequest {
  room: string;
  /** The last message id this client saw in the room: the answer holds everything after it. */
  since?: string;
}
export interface JoinResult {
  room: string;
  /** The room's members, sorted; in a very large room only some of them (see `memberCount`). */
  members: string[];
  /** Distinct users in the room, cluster-wide; more than `members.length` in a very large room. */
  memberCount: number;
  history: ChatMessage[];
  /** False when `since` was given but the room's log no longer reaches back to it. */
  recovered: boolean;
}
export interface LeaveRequest {
  room: string;
}
export interface SendRequest {
  room: string;
  text: string;
  /** Idempotency key: resending the same one returns the first message and broadcasts nothing. */
  clientId?: string;
}
export interface SendResult {
  message: ChatMessage;
}
export interface HistoryRequest {
  room: string;
  /** Return messages older than this id; without it, the newest ones. */
  before?: string;
  /** 1 to LIMITS.maxHistoryPage, default LIMITS.defaultHistory. */
  limit?: number;
}
export interface HistoryResult {
  messages: ChatMessage[];
}
/** `rooms:list` pages through the rooms by name (older clients send nothing, and get the first page). */
export interface RoomsRequest {
  /** The `nextCursor` of the previous page; without it, the first page. */
  cursor?: string;
  /** Rooms per page, 1 to LIMITS.maxRoomsPage, default LIMITS.defaultRoomsPage. */
  limit?: number;
}
export interface RoomsResult {
  /** Rooms with at least one member, by name. */
  rooms: RoomSummary[];
  /** Present when there may be more rooms: send it as `cursor` for the next page. */
  nextCursor?: string;
}
export interface DirectSendRequest {
  to: string;
  text: string;
  clientId?: string;
}
export interface DirectSendResult {
  message: DirectMessage;
  /** Whether the recipient had a live connection; if not, the message waits in their inbox. */
  online: boolean;
  /**
   * When not online: whether the DM waits in their inbox. False when nothing is held for that
   * name (an unclaimed name in open mode) or the inbox or the sender's allowance of held DMs is full;
   * the DM is still in the conversation's history.
   */
  held?: boolean;
}
/** `dm:sync`: the DMs of the connection's user, from their DM feed. */
export interface DirectSyncRequest {
  /**
   * The `feedId` of the last DM this client saw: the answer holds every DM after it. Without it,
   * the newest LIMITS.defaultHistory DMs.
   */
  since?: string;
}
export interface DirectSyncResult {
  /** DMs to or from the user, oldest first, each with its `feedId`. */
  messages: DirectMessage[];
  /** False when `since` was given but the feed no longer reaches back to it. */
  recovered: boolean;
}
/** The result of events whose ack carries nothing but `ok`. */
export type EmptyResult = Record<never, never>;
export interface TypingRequest {
  room: string;
  typing: boolean;
}

/**
 * The client events, one entry each: what the client sends and what a successful ack carries.
 * Everything else (the Socket.IO event signatures, the server's handlers, the SDK's calls) is
 * derived from this map, so a reply that drifts from its result type fails to compile.
 */
export interface ClientEvents {
  "room:join": { request: JoinRequest; result: JoinResult };
  "room:leave": { request: LeaveRequest; result: EmptyResult };
  "room:send": { request: SendRequest; result: SendResult };
  "room:history": { request: HistoryRequest; result: HistoryResult };
  "rooms:list": { request: RoomsRequest; result: RoomsResult };
  "dm:send": { request: DirectSendRequest; result: DirectSendResult };
  "dm:sync": { request: DirectSyncRequest; result: DirectSyncResult };
  typing: { request: TypingRequest; result: EmptyResult };
  "auth:refresh": { request: RefreshRequest; result: TokenExpiry };
}

export type ClientEventName = keyof ClientEvents;
/** The payload a client sends with event `E`. */
export type RequestOf<E extends ClientEventName> = ClientEvents[E]["request"];
/** What a successful ack of event `E` carries besides `ok: true`. */
export type ResultOf<E extends ClientEventName> = ClientEvents[E]["result"];
/** The whole ack of event `E`: `{ ok: true, ...ResultOf<E> }` or `{ ok: false, error }`. */
export type AckOf<E extends ClientEventName> = Ack<ResultOf<E>>;

/** Events a client emits. Every one takes an ack callback (which the server tolerates missing). */
export type ClientToServerEvents = {
  [E in ClientEventName]: (request: RequestOf<E>, ack: (answer: AckOf<E>) => void) => void;
};

/** Events the server emits to clients. */
export interface ServerToClientEvents {
  "room:message": (message: ChatMessage) => void;
  /** A moderator deleted a message of a joined room. */
  "room:message:deleted": (deleted: MessageDeleted) => void;
  /**
   * A DM to or from the user. A DM that was held while the user was offline comes with
   * `received`: call it once the DM is safe, and the server stops keeping it.
   */
  "dm:message": (message: DirectMessage, received?: () => void) => void;
  "room:presence": (presence: RoomPresence) => void;
  "room:presence:batch": (batch: RoomPresenceBatch) => void;
  "room:typing": (typing: RoomTyping) => void;
  notice: (notice: Notice) => void;
  /** Token mode: the connection's token expires soon; send `auth:refresh` with a new one. */
  "auth:expiring": (expiry: TokenExpiry) => void;
  /** Token mode: the token expired without a refresh; the server disconnects right after. */
  "auth:expired": (expiry: TokenExpiry) => void;
}

/** Server-to-server events (none: nodes coordinate through Redis keys and the adapter). */
export type InterServerEvents = Record<string, never>;

/** What the server keeps on each socket. */
export interface SocketData {
  user: string;
}

/** `auth:refresh`: a new token for the same user, before the connection's token expires. */
export interface RefreshRequest {
  token: string;
}

/** The `auth` payload of the handshake. */
export interface HandshakeAuth {
  /** Open mode: the name to use (ignored in token mode, where the token's `sub` is the user). */
  user?: string;
  /**
   * Open mode: a secret of LIMITS.claimKey characters. The first connection that brings one claims
   * the name; from then on only that key may use it. Keep it, and never show it.
   */
  key?: string;
  /** Token mode: a JWT signed by the host application; its `sub` is the user. */
  token?: string;
}

/** The answer to `auth:refresh`, and the payload of `auth:expiring`. */
export interface TokenExpiry {
  /** When the connection's token expires, in epoch milliseconds. */
  expiresAt: number;
}

export const CLIENT_EVENTS = [
  "room:join",
  "room:leave",
  "room:send",
  "room:history",
  "rooms:list",
  "dm:send",
  "dm:sync",
  "typing",
  "auth:refresh",
] as const satisfies readonly ClientEventName[];

// ---- Names ----

// Letters, marks (for composed scripts), digits, and space - _ . inside the name.
const NAME_CHARS = /^[\p{L}\p{M}\p{N} _.-]+$/u;
// Characters that render as nothing (U+200B, U+034F, U+FE0F, U+3164, ...): a name holding one
// would look the same as the name without it, and be another user.
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
const MARK_RUN = new RegExp(`\\p{M}{${LIMITS.maxCombiningMarks + 1},}`, "u");

// Names that are properties of every JS object: harmless to us, but a trap for any client that
// keys a plain object by name.
const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype"]);

export type NameCheck = { ok: true; name: string } | { ok: false; reason: string };

/**
 * Normalizes (NFKC, so full-width `ｂob` is `bob`) and checks a user or room name.
 *
 * @example
 * checkName("房间号1", "room") // { ok: true, name: "房间号1" }
 * checkName(" x", "user")     // { ok: false, reason: "user must not start or end with a space" }
 */
export function checkName(value: unknown, kind: "user" | "room"): NameCheck {
  if (typeof value !== "string") return { ok: false, reason: `${kind} must be a string` };
  const name = value.normalize("NFKC");
  const { min, max } = kind === "user" ? LIMITS.userName : LIMITS.roomName;
  // Count code points, not UTF-16 units, so "房间" is 2 long.
  const length = [...name].length;
  if (length < min || length > max) {
    return { ok: false, reason: `${kind} must be ${min} to ${max} characters` };
  }
  if (INVISIBLE.test(name)) return { ok: false, reason: `${kind} must not contain invisible characters` };
  if (!NAME_CHARS.test(name)) {
    return { ok: false, reason: `${kind} may hold only letters, digits, spaces and - _ .` };
  }
  if (MARK_RUN.test(name)) {
    return { ok: false, reason: `${kind} may not stack more than ${LIMITS.maxCombiningMarks} combining marks` };
  }
  if (name.trim() !== name) {
    return { ok: false, reason: `${kind} must not start or end with a space` };
  }
  if (RESERVED_NAMES.has(name)) return { ok: false, reason: `${kind} "${name}" is reserved` };
  return { ok: true, name };
}

// ---- Message ids ----

/**
 * A message id is `<13-digit epoch ms>-<6-digit sequence>`, so plain string order is send order.
 * In Redis it maps one-to-one onto the stream entry id `<ms>-<seq>`.
 */
export function formatMessageId(ms: number, seq: number): string {
  return `${String(ms).padStart(13, "0")}-${String(seq).padStart(6, "0")}`;
}

// The sequence has 6 digits, or more without a leading zero: one spelling per id.
const MESSAGE_ID = /^(\d{13})-(\d{6}|[1-9]\d{6,19})$/;
/** Redis stream ids (and so message ids) count their sequence in 64 unsigned bits. */
const MAX_SEQUENCE = 2n ** 64n - 1n;

/**
 * Parses a message id; `undefined` when it is not one in canonical form, or its sequence does not
 * fit 64 bits. `seq` is exact only up to 2^53; `seqDigits` is the sequence as written.
 */
export function parseMessageId(id: unknown): { ms: number; seq: number; seqDigits: string } | undefined {
  if (typeof id !== "string") return undefined;
  const match = MESSAGE_ID.exec(id);
  if (!match) return undefined;
  const digits = match[2]!;
  if (BigInt(digits) > MAX_SEQUENCE) return undefined;
  return { ms: Number(match[1]), seq: Number(digits), seqDigits: digits };
}

/** Orders message ids; equivalent to string order for well-formed ids. */
export function compareMessageIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Connection close reasons the SDK should not reconnect after. */
export const FINAL_DISCONNECT_REASONS = ["io server disconnect", "io client disconnect"] as const;
