/**
 * Malformed input for every client event: wrong types, bad names, oversized values and `__proto__`
 * keys, with the error code each must get.
 */
import { ErrorCode, LIMITS, type ClientEventName } from "../../protocol/index.js";
import { show } from "./helpers.js";

/** Below the 64 KB packet limit with room to spare for the rest of the packet. */
export const LARGE = "x".repeat(60_000);
/** Above the 64 KB packet limit: Socket.IO closes the connection instead of answering. */
export const OVERSIZED = "y".repeat(100 * 1024);

/** A whole payload that must be refused; `code` is bad_request unless given. */
export interface BadCase {
  label: string;
  payload: unknown;
  code?: ErrorCode;
}

const NOT_OBJECTS: BadCase[] = [
  { label: "null", payload: null },
  { label: "a number", payload: 42 },
  { label: "a string", payload: "lobby" },
  { label: "an array", payload: [{ room: "lobby" }] },
  { label: "a boolean", payload: true },
];

/** A value that must be refused in some field; `code` is bad_request unless given. */
export interface BadValue {
  label: string;
  value: unknown;
  code?: ErrorCode;
}

/** Wrong types, and the empty string: bad in every string field. */
const NOT_STRINGS: BadValue[] = [
  { label: "a number", value: 42 },
  { label: "null", value: null },
  { label: "an array", value: ["lobby"] },
  { label: "an object", value: { name: "lobby" } },
  { label: "empty", value: "" },
];

const labelled = (...values: unknown[]): BadValue[] => values.map((value) => ({ label: show(value), value }));

/** Values that are not a valid name of `kind`, whatever else the payload holds. */
export function badNames(kind: "user" | "room"): BadValue[] {
  const max = kind === "user" ? LIMITS.userName.max : LIMITS.roomName.max;
  return [
    ...NOT_STRINGS,
    { label: "one too long", value: "n".repeat(max + 1) },
    { label: "60 KB", value: LARGE },
    // Edge spaces; names of every object's properties; our internal rooms (a user's, a
    // chatroom's); control, invisible and other characters outside letters, digits and " -_.".
    ...labelled(" lobby", "lobby ", "__proto__", "constructor", "prototype", "u:alice", "r:lobby"),
    ...labelled("a\nb", "a\u0000b", "a\u200bb", "a/b", "<b>"),
  ];
}

const BAD_TEXTS: BadValue[] = [
  ...NOT_STRINGS,
  { label: "60 KB", value: LARGE, code: ErrorCode.TooLong },
  // Storing it would store U+FFFD instead: acked as sent, kept as something else.
  ...labelled("\ud800", "a\udc00b", "\udbff"),
];

const BAD_CLIENT_IDS: BadValue[] = [
  ...NOT_STRINGS,
  { label: "one too long", value: "c".repeat(LIMITS.clientId.max + 1) },
  { label: "60 KB", value: LARGE },
  ...labelled("\ud800"),
];

const BAD_MESSAGE_IDS: BadValue[] = [
  ...NOT_STRINGS,
  { label: "not an id", value: "nope" },
  { label: "an id without its padding", value: "1-1" },
  // Each would reach Redis as an invalid stream id, or as another id than the one given.
  { label: "a sequence beyond 64 bits", value: "1767225600000-18446744073709551616" },
  { label: "a 20-digit sequence", value: "1767225600000-99999999999999999999" },
  { label: "a padded long sequence", value: "1767225600000-0000001" },
  { label: "60 KB", value: LARGE },
];

/**
 * `outer` with an own key "__proto__" holding `inner`: what JSON.parse builds from a client's
 * packet `{"__proto__": {...}}`, and what a careless `payload.room` would read through.
 */
function protoKey(inner: object, outer: object = {}): BadCase {
  const payload = { ...outer };
  Object.defineProperty(payload, "__proto__", { value: inner, enumerable: true, writable: true, configurable: true });
  return { label: `a __proto__ key holding ${Object.keys(inner).join(" and ")}`, payload };
}

/** Every malformed payload of every client event, for a socket that has joined `room`. */
export function badInput(room: string, user: string): Record<ClientEventName, BadCase[]> {
  /** `rest` with each bad value in turn at `key`. */
  const each = (key: string, values: BadValue[], rest: object = {}): BadCase[] =>
    values.map(({ label, value, code }) => ({ label: `${key} ${label}`, payload: { ...rest, [key]: value }, code }));
  const rooms = badNames("room");
  return {
    "room:join": [
      ...NOT_OBJECTS,
      { label: "no room", payload: {} },
      ...each("room", rooms),
      ...each("since", BAD_MESSAGE_IDS, { room }),
      protoKey({ room }),
    ],
    "room:leave": [...NOT_OBJECTS, { label: "no room", payload: {} }, ...each("room", rooms), protoKey({ room })],
    "room:send": [
      ...NOT_OBJECTS,
      { label: "no room", payload: { text: "hi" } },
      { label: "no text", payload: { room } },
      ...each("room", rooms, { text: "hi" }),
      ...each("text", BAD_TEXTS, { room }),
      ...each("clientId", BAD_CLIENT_IDS, { room, text: "hi" }),
      protoKey({ room, text: "hi" }),
      protoKey({ text: "hi" }, { room }),
    ],
    "room:history": [
      ...NOT_OBJECTS,
      { label: "no room", payload: {} },
      ...each("room", rooms),
      ...each("limit", labelled(0, -1, LIMITS.maxHistoryPage + 1, 1.5, "10", null, 1e308), { room }),
      ...each("before", BAD_MESSAGE_IDS, { room }),
      protoKey({ room }),
    ],
    "rooms:list": NOT_OBJECTS,
    "dm:send": [
      ...NOT_OBJECTS,
      { label: "no recipient", payload: { text: "hi" } },
      { label: "no text", payload: { to: user } },
      ...each("to", badNames("user"), { text: "hi" }),
      ...each("text", BAD_TEXTS, { to: user }),
      ...each("clientId", BAD_CLIENT_IDS, { to: user, text: "hi" }),
      protoKey({ to: user, text: "hi" }),
    ],
    // Nothing is required: `since` is the only field.
    "dm:sync": [...NOT_OBJECTS, ...each("since", BAD_MESSAGE_IDS)],
    typing: [
      ...NOT_OBJECTS,
      { label: "no typing", payload: { room } },
      ...each("typing", labelled("yes", 1, null, "true"), { room }),
      ...each("room", rooms, { typing: true }),
      protoKey({ room, typing: true }),
    ],
    "auth:refresh": [
      ...NOT_OBJECTS,
      { label: "no token", payload: {} },
      ...each("token", [...NOT_STRINGS, { label: "60 KB", value: LARGE }]),
      protoKey({ token: "a.b.c" }),
    ],
  };
}

/**
 * A well-formed request of each event, for a socket that has joined `room` and `spare`. Each is
 * answered ok, except `auth:refresh` in open mode, which has no tokens.
 */
export const valid = (room: string, spare: string, user: string): Record<ClientEventName, unknown> => ({
  "room:join": { room },
  "room:leave": { room: spare },
  "room:send": { room, text: "hello" },
  "room:history": { room },
  "rooms:list": {},
  "dm:send": { to: user, text: "hello" },
  "dm:sync": {},
  typing: { room, typing: true },
  "auth:refresh": { token: "a.b.c" },
});
