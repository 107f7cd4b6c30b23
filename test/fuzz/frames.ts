/**
 * Generators of malformed Engine.IO v4 and Socket.IO v5 frames, for the fuzz harness (issue 11).
 *
 * Wire formats, as node_modules/engine.io-parser and socket.io-parser read them:
 * - an Engine.IO packet is a type digit (0 open, 1 close, 2 ping, 3 pong, 4 message, 5 upgrade,
 *   6 noop) and its data; over polling, packets are joined by the record separator \x1e and binary
 *   ones are written "b<base64>";
 * - a Socket.IO packet rides in a message ("4…"): a type digit (0 connect, 1 disconnect, 2 event,
 *   3 ack, 4 connect error, 5 binary event, 6 binary ack), `<attachments>-` for binary types,
 *   `/nsp,` for a namespace other than "/", the ack id's digits, then JSON:
 *   `42["room:join",{"room":"x"}]`, `4217["rooms:list",{}]`, `451-["e",{"_placeholder":true,"num":0}]`.
 *
 * Payloads are built as JSON text, not as values, so that they may hold what no JavaScript value
 * serializes to: 1e309, 30-digit integers, `__proto__` keys, lone surrogates.
 *
 * Every frame comes from a seeded generator: frame number k of seed s is always the same frame.
 */
import { CLIENT_EVENTS, type ClientEventName } from "../../protocol/index.js";

/** The server's largest packet (maxHttpBufferSize in server/plugins/socket-io.ts). */
export const MAX_PACKET_BYTES = 64 * 1024;

/** The kinds of malformation, each with its own generator. */
export const CATEGORIES = [
  "packet-type",
  "namespace",
  "binary",
  "nesting",
  "numbers",
  "utf8",
  "oversized",
  "event-payload",
  "handshake",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** One Engine.IO packet as it goes on the wire. */
export type WirePacket =
  | { kind: "text"; data: string }
  | { kind: "binary"; data: Buffer }
  /** Bytes sent as text (a WebSocket text frame, or a polling body) without checking they are UTF-8. */
  | { kind: "raw-text"; data: Buffer };

export interface Frame {
  /** Position in the campaign: with the seed, it names the frame again. */
  index: number;
  category: Category;
  /** What is wrong with it, for the report. */
  label: string;
  /** Engine.IO packets, sent in order (several for a binary event and its attachments). */
  packets: WirePacket[];
  /** The ack id the server must answer, unless it closes the connection instead. */
  expectAck?: number;
  /** Sent in place of the connection's CONNECT packet, before the socket joined namespace "/". */
  handshake: boolean;
}

/** Relative share of each category in a campaign. */
export type CategoryWeights = Record<Category, number>;

export const DEFAULT_WEIGHTS: CategoryWeights = {
  "packet-type": 12,
  namespace: 8,
  binary: 10,
  nesting: 7,
  numbers: 9,
  utf8: 10,
  oversized: 4,
  "event-payload": 34,
  handshake: 6,
};

// ---- Seeded randomness ----

/** Seeded randomness: the seed in a report reproduces the campaign's frames. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** A whole number in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
}

/** A small deterministic PRNG (mulberry32) seeded with `seed`. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)]!, chance: (p) => next() < p };
}

// ---- JSON text and packet builders ----

type Json = string;
const str = (value: string): Json => JSON.stringify(value);
const obj = (entries: readonly (readonly [string, Json])[]): Json =>
  `{${entries.map(([key, value]) => `${str(key)}:${value}`).join(",")}}`;
const eventArgs = (event: string, ...payload: Json[]): Json => `[${[str(event), ...payload].join(",")}]`;

const text = (data: string): WirePacket => ({ kind: "text", data });
/** A Socket.IO packet inside an Engine.IO message. */
const message = (socketIoPacket: string): WirePacket => text(`4${socketIoPacket}`);
/** `42[nsp,][id]args`: an event, with an ack id when `ackId` is given. */
const eventPacket = (args: Json, ackId?: number | string, nsp?: string): WirePacket =>
  message(`2${nsp === undefined ? "" : `${nsp},`}${ackId ?? ""}${args}`);
const byteLength = (packet: WirePacket) =>
  packet.kind === "text" ? Buffer.byteLength(packet.data) : packet.data.length;

// Built once: the large values are reused by many frames.
const DEPTH = 10_000;
const NESTED_ARRAYS = "[".repeat(DEPTH) + "]".repeat(DEPTH);
const NESTED_OBJECTS = '{"a":'.repeat(DEPTH) + "1" + "}".repeat(DEPTH);
/** As deep as a packet allows: deeper than a recursive walk of the payload survives. */
const DEEPEST_ARRAYS = "[".repeat(32_000) + "]".repeat(32_000);
const MIXED_NESTING = '[{"a":'.repeat(5_000) + "1" + "}]".repeat(5_000);
const HUGE_STRING = str("x".repeat(60_000));
/** 60,000 bytes of UTF-8, 20,000 UTF-16 units. */
const HUGE_MULTIBYTE = str("房".repeat(20_000));

const ROOMS = ["fuzz-0", "fuzz-1", "fuzz-2", "fuzz-3"] as const;
/** Well-formed message ids, and ids at the edges of what a stream id can be. */
const MESSAGE_ID = str("0000000000001-000000");
const ID_EDGES = [
  "0000000000000-000000",
  "9999999999999-999999",
  "0000000000001-18446744073709551615",
  "0000000000001-18446744073709551616",
  "0000000000001-99999999999999999999999999",
  "9999999999999-0000000000000000000001",
  "0000000000001-0000001",
].map(str);

/** Every wrong payload type, as JSON text: used for whole payloads and for each field. */
export const WRONG_VALUES: readonly (readonly [label: string, json: Json])[] = [
  ["string", str("fuzz")],
  ["empty string", str("")],
  ["number", "42"],
  ["negative", "-1"],
  ["fraction", "1.5"],
  ["1e309", "1e309"],
  ["-1e309", "-1e309"],
  ["30-digit integer", "123456789012345678901234567890"],
  ["1e-400", "1e-400"],
  ["-0", "-0"],
  ["true", "true"],
  ["false", "false"],
  ["null", "null"],
  ["empty array", "[]"],
  ["array", '["fuzz-0",{"room":"fuzz-0"}]'],
  ["empty object", "{}"],
  ["object", '{"name":"fuzz-0"}'],
  ["10,000-deep arrays", NESTED_ARRAYS],
  ["10,000-deep objects", NESTED_OBJECTS],
  ["__proto__ key", '{"__proto__":{"room":"fuzz-0","text":"hi","typing":true,"isAdmin":true}}'],
  ["constructor key", '{"constructor":{"prototype":{"polluted":true}}}'],
  ["lone high surrogate", '"\\ud800"'],
  ["lone low surrogate", '"x\\udc00"'],
  ["NUL", '"\\u0000"'],
  ["60 KB string", HUGE_STRING],
  ["60 KB multibyte string", HUGE_MULTIBYTE],
];

/** A well-formed value for each field of each client event (the fields the server reads). */
const EVENT_FIELDS: Record<ClientEventName, Record<string, Json>> = {
  "room:join": { room: str("fuzz-0"), since: MESSAGE_ID },
  "room:leave": { room: str("fuzz-0") },
  "room:send": { room: str("fuzz-0"), text: str("hello"), clientId: str("fz-client") },
  "room:history": { room: str("fuzz-0"), before: MESSAGE_ID, limit: "10" },
  "rooms:list": { cursor: str("fuzz"), limit: "10" },
  "dm:send": { to: str("fz-0"), text: str("hello"), clientId: str("fz-client") },
  "dm:sync": { since: MESSAGE_ID },
  typing: { room: str("fuzz-0"), typing: "true" },
  "auth:refresh": { token: str("a.b.c") },
};

/** Names that are no client event: unknown, reserved by Socket.IO or Node, or properties of every object. */
const ODD_EVENT_NAMES = [
  "error",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "disconnecting",
  "connect",
  "newListener",
  "removeListener",
  "room:JOIN",
  "room:join ",
  "",
  "e".repeat(1_000),
];

const fieldsOf = (event: ClientEventName, replace?: [string, Json | undefined]): Json =>
  obj(
    Object.entries(EVENT_FIELDS[event])
      .map(([key, value]): [string, Json | undefined] => (replace?.[0] === key ? [key, replace[1]] : [key, value]))
      .filter((entry): entry is [string, Json] => entry[1] !== undefined),
  );

// ---- Generators, one per category ----

/** What a generator gets: randomness, and the ack id its frame may use. */
interface Draw {
  random: Random;
  ackId: number;
}
type Made = Omit<Frame, "index" | "category" | "handshake"> & { handshake?: boolean };
type Generator = (draw: Draw) => Made;

/** Bad Engine.IO packet types, and bad Socket.IO packet types or bodies inside a message. */
const ENGINE_PACKETS = [
  "",
  "7",
  "8",
  "9",
  "a",
  "z",
  "é",
  "\u0000",
  ' 42["typing",null]',
  "0",
  '0{"sid":"x"}',
  "1",
  "2",
  "2probe",
  "3",
  "3probe",
  "5",
  "5probe",
  "6",
  "6garbage",
  "b",
  "b!!!",
  "b====",
  "b" + Buffer.from('42["typing",null]').toString("base64"),
];
const SOCKET_IO_PACKETS = [
  "",
  "7",
  "8",
  "9",
  "x",
  "-",
  " ",
  "/",
  "40",
  '40{"user":"fz-again"}',
  "41",
  "41/,",
  "43",
  "431[]",
  '4399999999["x"]',
  "43{}",
  "44",
  '44{"message":"x"}',
  "42",
  "42{}",
  '42"x"',
  "42null",
  "42[]",
  "42[null]",
  "42[{}]",
  "42[[]]",
  "42[true]",
  '42["typing",null',
  '42["typing",null]]',
  '42["typing",null]garbage',
  '42 ["typing",null]',
  '42\u001e["typing",null]',
  '42["room:send",{"room":"fuzz-0","text":"a\u001eb"}]',
  '42["room:send",{"room":"fuzz-0","text":"a\nb"}]',
  '42-1["typing",null]',
  '421.5["typing",null]',
];
const packetType: Generator = ({ random }) => {
  if (random.chance(0.4)) {
    const data = random.pick(ENGINE_PACKETS);
    return { label: `engine.io ${JSON.stringify(data.slice(0, 12))}`, packets: [text(data)] };
  }
  const data = random.pick(SOCKET_IO_PACKETS);
  return { label: `socket.io ${JSON.stringify(data.slice(0, 16))}`, packets: [message(data)] };
};

const NAMESPACES = [
  "/admin",
  "/nope",
  "/ ",
  "//",
  "/\u0000",
  "/__proto__",
  "/constructor",
  "/room:join",
  "/r:fuzz-0",
  "/?x=1",
  "/房间",
  "/\ud800",
  "/" + "n".repeat(20_000),
];
const namespace: Generator = ({ random, ackId }) => {
  const nsp = random.pick(NAMESPACES);
  const shown = JSON.stringify(nsp.slice(0, 12));
  switch (random.int(6)) {
    case 0:
      return {
        label: `event to ${shown} +ack`,
        packets: [eventPacket(eventArgs("room:join", '{"room":"fuzz-0"}'), ackId, nsp)],
      };
    case 1:
      return { label: `event to ${shown}`, packets: [eventPacket(eventArgs("rooms:list", "{}"), undefined, nsp)] };
    case 2:
      // An unknown namespace is refused with a connect error; the connection stays.
      return { label: `connect to ${shown}`, packets: [message(`0${nsp},{"user":"fz-nsp"}`)] };
    case 3:
      return { label: `disconnect from ${shown}`, packets: [message(`1${nsp},`)] };
    case 4:
      return { label: `ack to ${shown}`, packets: [message(`3${nsp},${ackId}[]`)] };
    default:
      // No comma: the whole rest is read as the namespace.
      return { label: `namespace without comma ${shown}`, packets: [message(`2${nsp}["rooms:list",{}]`)] };
  }
};

const ATTACHMENT_COUNTS = ["0", "-1", "11", "99999", "1000000000", "1e400", "NaN", "", "abc", "0x1", "1.5", " 1", "01"];
const BAD_PLACEHOLDER_NUMS = ["-1", "99", "1e309", '"0"', "null", "0.5", "[]"];
const placeholder = (num: Json | undefined) =>
  num === undefined ? '{"_placeholder":true}' : `{"_placeholder":true,"num":${num}}`;
const attachment = (random: Random, bytes = 1 + random.int(64)): WirePacket => ({
  kind: "binary",
  data: Buffer.from(Array.from({ length: bytes }, () => random.int(256))),
});
const attachments = (random: Random, count: number, bytes?: number) =>
  Array.from({ length: count }, () => attachment(random, bytes));

const binary: Generator = ({ random, ackId }) => {
  switch (random.int(7)) {
    case 0: {
      const count = random.pick(ATTACHMENT_COUNTS);
      const sent = random.pick([0, 1, 3]);
      const args = eventArgs("room:send", `{"room":"fuzz-0","text":${placeholder("0")}}`);
      return {
        label: `attachment count ${JSON.stringify(count)}, ${sent} sent`,
        packets: [message(`5${count}-${ackId}${args}`), ...attachments(random, sent)],
      };
    }
    case 1: {
      // A count the parser accepts, with the wrong number of attachments or a wrong placeholder.
      const count = 1 + random.int(10);
      const sent = random.pick([0, count - 1, count, count + 1]);
      const wrongNum = random.chance(0.5) ? random.pick(BAD_PLACEHOLDER_NUMS) : undefined;
      const num = wrongNum ?? String(random.int(count));
      const withoutNum = random.chance(0.1);
      const args = eventArgs(
        random.pick(CLIENT_EVENTS),
        `{"room":${placeholder(withoutNum ? undefined : num)},"text":"x","token":${placeholder("0")}}`,
      );
      const complete = sent === count && wrongNum === undefined && !withoutNum;
      return {
        label: `${count} attachments, ${sent} sent, placeholder num ${withoutNum ? "missing" : num}`,
        packets: [message(`5${count}-${ackId}${args}`), ...attachments(random, sent)],
        ...(complete ? { expectAck: ackId } : {}),
      };
    }
    case 2:
      return {
        label: "binary ack for no request",
        packets: [message(`61-${ackId}[${placeholder("0")}]`), attachment(random)],
      };
    case 3:
      return { label: "attachment without a binary event", packets: attachments(random, 1 + random.int(3)) };
    case 4: {
      // A placeholder at the bottom of 32,000 arrays: the parser rebuilds the payload recursively.
      const depth = 32_000;
      const args = `["room:send",${"[".repeat(depth)}${placeholder("0")}${"]".repeat(depth)}]`;
      return { label: "placeholder 32,000 arrays deep", packets: [message(`51-${ackId}${args}`), attachment(random)] };
    }
    case 5: {
      const args = `["room:send",{"__proto__":${placeholder("0")},"room":"fuzz-0","text":"x"}]`;
      return {
        label: "placeholder under __proto__",
        packets: [message(`51-${ackId}${args}`), attachment(random)],
        expectAck: ackId,
      };
    }
    default: {
      const count = 10;
      const args = eventArgs("room:send", `[${Array.from({ length: count }, (_, k) => placeholder(String(k)))}]`);
      return {
        // 4 KB each: base64 in a polling body, the ten still fit in one packet limit.
        label: "10 attachments of 4 KB",
        packets: [message(`5${count}-${ackId}${args}`), ...attachments(random, count, 4_000)],
        expectAck: ackId,
      };
    }
  }
};

const nesting: Generator = ({ random, ackId }) => {
  const event = random.pick(CLIENT_EVENTS);
  const [shape, nested] = random.pick([
    ["10,000-deep arrays", NESTED_ARRAYS],
    ["10,000-deep objects", NESTED_OBJECTS],
    ["5,000-deep arrays of objects", MIXED_NESTING],
    ["32,000-deep arrays", DEEPEST_ARRAYS],
  ] as const);
  switch (random.int(5)) {
    case 0:
      return {
        label: `${event} payload ${shape} +ack`,
        packets: [eventPacket(eventArgs(event, nested), ackId)],
        expectAck: ackId,
      };
    case 1: {
      const field = random.pick(Object.keys(EVENT_FIELDS[event]));
      return {
        label: `${event}.${field} ${shape}`,
        packets: [eventPacket(eventArgs(event, fieldsOf(event, [field, nested])), ackId)],
        expectAck: ackId,
      };
    }
    case 2:
      return { label: `ack args ${shape}`, packets: [message(`3${ackId}[${nested}]`)] };
    case 3:
      return { label: `event name ${shape}`, packets: [eventPacket(`[${nested}]`, ackId)] };
    default:
      return {
        label: `connect auth.user ${shape}`,
        packets: [message(`0{"user":${nested}}`)],
        handshake: true,
      };
  }
};

const HUGE_NUMBERS = [
  "1e309",
  "-1e309",
  "123456789012345678901234567890",
  "-123456789012345678901234567890",
  "1e-400",
  "-0",
  "0",
  "9007199254740993",
  "1.7976931348623157e308",
  "5e-324",
  "200.0000000000001",
  "1E2",
  "0.1e1",
  "-1",
  "201",
  "200",
  "1",
];
const HUGE_ACK_IDS = [
  "123456789012345678901234567890",
  "9007199254740993",
  "1" + "0".repeat(400),
  "0",
  "0".repeat(30) + "7",
];

const numbers: Generator = ({ random, ackId }) => {
  switch (random.int(6)) {
    case 0: {
      const [event, field] = random.pick([
        ["room:history", "limit"],
        ["rooms:list", "limit"],
        ["typing", "typing"],
        ["room:join", "since"],
        ["room:send", "text"],
      ] as const);
      const value = random.pick(HUGE_NUMBERS);
      return {
        label: `${event}.${field}=${value.slice(0, 16)} +ack`,
        packets: [eventPacket(eventArgs(event, fieldsOf(event, [field, value])), ackId)],
        expectAck: ackId,
      };
    }
    case 1: {
      // Message ids beyond what a Redis stream id holds (64-bit sequence).
      const [event, field] = random.pick([
        ["room:join", "since"],
        ["room:history", "before"],
      ] as const);
      const id = random.pick(ID_EDGES);
      const room = str(random.pick(ROOMS));
      return {
        label: `${event}.${field}=${id.slice(0, 40)} +ack`,
        packets: [
          eventPacket(
            eventArgs(
              event,
              obj([
                ["room", room],
                [field, id],
              ]),
            ),
            ackId,
          ),
        ],
        expectAck: ackId,
      };
    }
    case 2: {
      // The server answers an id it cannot echo back as digits (1.2e+29, Infinity): no ack to match.
      const id = random.pick(HUGE_ACK_IDS);
      return {
        label: `ack id ${id.slice(0, 16)}… (${id.length} digits)`,
        packets: [eventPacket(eventArgs("typing", "null"), id)],
      };
    }
    case 3: {
      const name = random.pick(HUGE_NUMBERS);
      return { label: `event name ${name.slice(0, 16)}`, packets: [eventPacket(`[${name},{}]`, ackId)] };
    }
    case 4: {
      const count = random.pick(["123456789012345678901234567890", "1e309", "9007199254740993"]);
      return {
        label: `attachment count ${count.slice(0, 16)}`,
        packets: [message(`5${count}-${ackId}["room:send",${placeholder("0")}]`), attachment(random)],
      };
    }
    default: {
      const value = random.pick(HUGE_NUMBERS);
      return {
        label: `whole payload ${value.slice(0, 16)} +ack`,
        packets: [eventPacket(eventArgs(random.pick(CLIENT_EVENTS), value), ackId)],
        expectAck: ackId,
      };
    }
  }
};

/** Byte sequences that are not UTF-8: bad lead bytes, overlongs, encoded surrogates, beyond U+10FFFF, cut short. */
const INVALID_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe6, 0x88],
  [0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
].map((bytes) => Buffer.from(bytes));
/** Well-formed JSON escapes of strings that are not well-formed Unicode, or that render oddly. */
const ODD_STRINGS = [
  '"\\ud800"',
  '"\\udfff"',
  '"a\\ud800b"',
  '"\\ud83d"',
  '"\\ud800\\udc00"',
  '"\\u0000"',
  '"\\ufffe"',
  '"\\uffff"',
  '"\\ufeff"',
  '"\\u202e"',
  '"\\u200b"',
  '"e\\u0301\\u0301\\u0301\\u0301"',
];

const utf8: Generator = ({ random, ackId }) => {
  if (random.chance(0.5)) {
    const bytes = random.pick(INVALID_UTF8);
    const [where, before, after] = random.pick([
      ["text", `42${ackId}["room:send",{"room":"${random.pick(ROOMS)}","text":"`, '"}]'],
      ["room", `42${ackId}["room:join",{"room":"`, '"}]'],
      ["event name", `42${ackId}["`, '",{}]'],
      ["namespace", `42/`, `,${ackId}["rooms:list",{}]`],
      ["connect auth", `40{"user":"`, '"}'],
    ] as const);
    return {
      label: `invalid UTF-8 ${bytes.toString("hex")} in ${where}`,
      packets: [{ kind: "raw-text", data: Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]) }],
      handshake: where === "connect auth",
    };
  }
  const value = random.pick(ODD_STRINGS);
  const [event, field] = random.pick([
    ["room:send", "text"],
    ["room:send", "clientId"],
    ["room:join", "room"],
    ["dm:send", "to"],
    ["dm:send", "text"],
    ["typing", "room"],
    ["auth:refresh", "token"],
  ] as const);
  // The sends go to a room the connection may have joined, so that odd text reaches the store.
  const payload =
    event === "room:send"
      ? obj([
          ["room", str(random.pick(ROOMS))],
          ["text", field === "text" ? value : str("odd")],
          ["clientId", field === "clientId" ? value : str(`fz-${random.int(1e9)}`)],
        ])
      : fieldsOf(event, [field, value]);
  return {
    label: `${event}.${field}=${value} +ack`,
    packets: [eventPacket(eventArgs(event, payload), ackId)],
    expectAck: ackId,
  };
};

/** An event packet padded with text to exactly `bytes` bytes on the wire. */
function paddedSend(ackId: number, bytes: number): WirePacket {
  const head = `42${ackId}["room:send",{"room":"fuzz-0","text":"`;
  const tail = '"}]';
  return text(head + "x".repeat(bytes - Buffer.byteLength(head) - Buffer.byteLength(tail)) + tail);
}
const oversizedPackets = new Map<number, WirePacket>();
/** A packet of `bytes`, over the limit: built once per size, since its ack id is never answered. */
function oversizedPacket(bytes: number): WirePacket {
  let packet = oversizedPackets.get(bytes);
  if (packet === undefined) {
    packet = paddedSend(0, bytes);
    oversizedPackets.set(bytes, packet);
  }
  return packet;
}
const WIDE_OBJECT = obj(Array.from({ length: 6_000 }, (_, k) => [`k${k}`, "1"] as const));
const WIDE_ARRAY = `[${Array(30_000).fill("1").join(",")}]`;

const oversized: Generator = ({ random, ackId }) => {
  // Packets over the limit get two of the eight shares: the limit's two answers (WebSocket close
  // 1009, HTTP 413) should show in every short run.
  switch (random.int(8)) {
    case 0: {
      // Exactly the limit is allowed: the server must read it and answer (too_long).
      const packet = paddedSend(ackId, MAX_PACKET_BYTES);
      return { label: `packet of exactly ${byteLength(packet)} bytes +ack`, packets: [packet], expectAck: ackId };
    }
    case 1:
    case 7: {
      const bytes = random.pick([MAX_PACKET_BYTES + 1, 100 * 1024, 256 * 1024, 256 * 1024, 1024 * 1024]);
      return { label: `packet of ${bytes} bytes`, packets: [oversizedPacket(bytes)] };
    }
    case 2: {
      const event = random.pick(CLIENT_EVENTS);
      const field = random.pick(Object.keys(EVENT_FIELDS[event]));
      const [shape, value] = random.pick([
        ["60 KB string", HUGE_STRING],
        ["60 KB multibyte string", HUGE_MULTIBYTE],
      ] as const);
      return {
        label: `${event}.${field} ${shape} +ack`,
        packets: [eventPacket(eventArgs(event, fieldsOf(event, [field, value])), ackId)],
        expectAck: ackId,
      };
    }
    case 3: {
      const [shape, payload] = random.pick([
        ["6,000 keys", WIDE_OBJECT],
        ["30,000 elements", WIDE_ARRAY],
        ["60 KB of whitespace", " ".repeat(60_000) + "null"],
      ] as const);
      const event = random.pick(CLIENT_EVENTS);
      return {
        label: `${event} payload of ${shape} +ack`,
        packets: [eventPacket(eventArgs(event, payload), ackId)],
        expectAck: ackId,
      };
    }
    case 4:
      return { label: "60 KB event name", packets: [eventPacket(eventArgs("e".repeat(60_000), "{}"), ackId)] };
    case 5:
      return { label: "60,000-digit ack id", packets: [eventPacket(eventArgs("typing", "null"), "1".repeat(60_000))] };
    default: {
      // Many packets in one frame: one polling body, or a burst of WebSocket messages.
      const count = random.pick([200, 1_000]);
      const packet = random.chance(0.5) ? text("6") : eventPacket(eventArgs("typing", "null"));
      return { label: `${count} packets in one frame`, packets: Array<WirePacket>(count).fill(packet) };
    }
  }
};

/** Every client event with every wrong payload type, in turn, with and without an ack. */
function eventPayloadCases(): { label: string; args: Json; answered: boolean }[] {
  const cases: { label: string; args: Json; answered: boolean }[] = [];
  for (const event of CLIENT_EVENTS) {
    for (const [label, value] of WRONG_VALUES)
      cases.push({ label: `${event} ${label}`, args: eventArgs(event, value), answered: true });
    cases.push({ label: `${event} without payload`, args: eventArgs(event), answered: true });
  }
  for (const event of CLIENT_EVENTS) {
    for (const field of Object.keys(EVENT_FIELDS[event])) {
      for (const [label, value] of WRONG_VALUES) {
        cases.push({
          label: `${event}.${field} ${label}`,
          args: eventArgs(event, fieldsOf(event, [field, value])),
          answered: true,
        });
      }
      cases.push({
        label: `${event} without ${field}`,
        args: eventArgs(event, fieldsOf(event, [field, undefined])),
        answered: true,
      });
    }
    // The handler takes the second argument for the ack callback: with more, there is no ack to call.
    cases.push({
      label: `${event} with an extra argument`,
      args: eventArgs(event, fieldsOf(event), str("extra")),
      answered: false,
    });
  }
  for (const name of ODD_EVENT_NAMES) {
    cases.push({ label: `event ${JSON.stringify(name.slice(0, 16))}`, args: eventArgs(name, "{}"), answered: false });
  }
  return cases;
}
const EVENT_PAYLOAD_CASES = eventPayloadCases();
/** Event-payload frames in one cycle: a campaign with this many has sent every case once. */
export const EVENT_PAYLOAD_CASE_COUNT = EVENT_PAYLOAD_CASES.length;

/** How a connection proves a user: `40<auth>`. Refusals come back as connect errors. */
const HANDSHAKE_AUTHS: readonly (readonly [string, (random: Random) => Json])[] = [
  ...WRONG_VALUES.map(([label, value]) => [`auth ${label}`, () => value] as const),
  ...WRONG_VALUES.map(([label, value]) => [`auth.user ${label}`, () => `{"user":${value}}`] as const),
  ...WRONG_VALUES.map(([label, value]) => [`auth.key ${label}`, () => `{"user":"fz-key","key":${value}}`] as const),
  ["auth.token in open mode", () => '{"token":"a.b.c"}'],
  ["auth.user under __proto__", () => '{"__proto__":{"user":"fz-proto"}}'],
  ...[
    "__proto__",
    "constructor",
    " lead",
    "ｂob",
    "a\u200bb",
    "e\u0301\u0301\u0301\u0301",
    "n".repeat(33),
    "u:x",
    "r:fuzz-0",
  ].map((name) => [`auth.user ${JSON.stringify(name)}`, () => `{"user":${str(name)}}`] as const),
  // A fresh name claimed with a key: valid, and the connection goes on as that user.
  [
    "auth claiming a fresh name",
    (random: Random) =>
      `{"user":"fzk-${random.int(1e9)}","key":"claim-key-${String(random.int(1e9)).padStart(9, "0")}"}`,
  ],
];
const handshake: Generator = ({ random }) => {
  if (random.chance(0.15)) {
    const packet = random.pick(['42["room:join",{"room":"fuzz-0"}]', "41", "43[]", '40/,{"user":"fz-slash"}', "40"]);
    return {
      label: `${JSON.stringify(packet.slice(0, 12))} before connecting`,
      packets: [message(packet)],
      handshake: true,
    };
  }
  const [label, auth] = random.pick(HANDSHAKE_AUTHS);
  return { label, packets: [message(`0${auth(random)}`)], handshake: true };
};

// ---- The campaign's frame source ----

export interface FrameSource {
  /** The next frame of the campaign. */
  next(): Frame;
}

/**
 * The frames of one campaign, drawn by category weight from a PRNG seeded with `seed`. The
 * event-payload cases come in a fixed cycle, so every event meets every wrong payload type
 * (with and without an ack) once per ~700 of them. Frame k uses ack id 2k+1; even ids are free for
 * the harness's own requests.
 */
export function frameSource(seed: number, weights: CategoryWeights = DEFAULT_WEIGHTS): FrameSource {
  const random = seededRandom(seed);
  const total = CATEGORIES.reduce((sum, category) => sum + weights[category], 0);
  let index = 0;
  let eventCase = 0;
  const eventPayload: Generator = ({ ackId }) => {
    const cycle = Math.floor(eventCase / EVENT_PAYLOAD_CASES.length);
    const { label, args, answered } = EVENT_PAYLOAD_CASES[eventCase % EVENT_PAYLOAD_CASES.length]!;
    // Alternate the ack from one cycle to the next, so that each case is sent both ways.
    const withAck = (eventCase + cycle) % 2 === 0;
    eventCase += 1;
    return {
      label: `${label}${withAck ? " +ack" : ""}`,
      packets: [eventPacket(args, withAck ? ackId : undefined)],
      ...(withAck && answered ? { expectAck: ackId } : {}),
    };
  };
  const generators: Record<Category, Generator> = {
    "packet-type": packetType,
    namespace,
    binary,
    nesting,
    numbers,
    utf8,
    oversized,
    "event-payload": eventPayload,
    handshake,
  };
  const pickCategory = (): Category => {
    let left = random.next() * total;
    for (const category of CATEGORIES) {
      left -= weights[category];
      if (left < 0) return category;
    }
    return "event-payload";
  };
  return {
    next() {
      const category = pickCategory();
      const made = generators[category]({ random, ackId: 2 * index + 1 });
      const frame: Frame = { index, category, ...made, handshake: made.handshake ?? false };
      index += 1;
      return frame;
    },
  };
}
