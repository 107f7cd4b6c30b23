/**
 * The chat protocol, end to end through socket.io-client, against any deployment a factory starts:
 * one embedded node, or several nodes sharing state. The k-th client of a test connects to node
 * k mod N, so with several nodes every delivery below crosses nodes.
 *
 * No sleeps: waits are for events, with a deadline (`next`, `within`). An ack says the server did
 * the work, not that every node relayed it yet, so an expected event is awaited, never assumed.
 * To assert that something did NOT arrive, the same socket that might have caused it then sends
 * one more message of the same kind (a "barrier": one socket's requests of one kind are relayed
 * in order); once the observers got that, their recorders are final.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CLIENT_EVENTS,
  ErrorCode,
  LIMITS,
  type Ack,
  type ChatMessage,
  type ClientEventName,
  type DirectMessage,
  type Notice,
  type RoomPresence,
  type RoomTyping,
} from "../protocol/index.js";
import {
  client,
  closeAllClients,
  connected,
  DEADLINE_MS,
  next,
  ok,
  record,
  request,
  within,
  type TestSocket,
} from "./support/clients.js";
import {
  TEST_ENV,
  type Deployment,
  type DeploymentFactory,
  type DeploymentOptions,
} from "./support/deployment.js";

type ClientOptions = NonNullable<Parameters<typeof client>[2]>;

/** A socket seen without the protocol's types, to send what a well-typed client cannot. */
interface UntypedSocket {
  emit(event: string, ...args: unknown[]): void;
  timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<Ack<Record<string, any>>> };
}
const untyped = (socket: TestSocket) => socket as unknown as UntypedSocket;

// ---- Names: unique per test, so that tests on one deployment never see each other ----

const RUN = randomBytes(3).toString("hex");
let counter = 0;
/** A fresh valid name (user or room) starting with `base`, unique in this run and across runs. */
const unique = (base: string): string => `${base}-${RUN}-${++counter}`;
const names = <T extends string[]>(...bases: T) => bases.map(unique) as { [K in keyof T]: string };

/** `prefix` padded to exactly `length` code points with `fill`. */
const padTo = (prefix: string, length: number, fill = "x"): string =>
  prefix + fill.repeat(length - [...prefix].length);

// ---- Deployments ----

interface Nodes {
  urls(): string[];
  /** The node of the k-th client of a test. */
  url(k: number): string;
  /** Connects one socket per user, the k-th to node k mod N. */
  connectAll<T extends string[]>(users: [...T], options?: ClientOptions): Promise<{ [K in keyof T]: TestSocket }>;
}

/** Starts a deployment before the tests of the enclosing `describe` and stops it after them. */
function deploy(factory: DeploymentFactory, options?: DeploymentOptions): Nodes {
  let deployment: Deployment | undefined;
  beforeAll(async () => {
    deployment = await factory(options);
  });
  afterAll(() => deployment?.close());
  const urls = () => {
    if (!deployment) throw new Error("the deployment has not started");
    return deployment.urls;
  };
  const url = (k: number) => urls()[k % urls().length]!;
  return {
    urls,
    url,
    connectAll: <T extends string[]>(users: [...T], options?: ClientOptions) =>
      Promise.all(users.map((user, k) => connected(url(k), user, options))) as Promise<{ [K in keyof T]: TestSocket }>,
  };
}

// ---- Chat helpers ----

async function join(socket: TestSocket, room: string, since?: string): Promise<Record<string, any>> {
  return ok(socket, "room:join", since === undefined ? { room } : { room, since });
}

async function joinAll(room: string, sockets: TestSocket[]): Promise<void> {
  for (const socket of sockets) await join(socket, room);
}

/**
 * Joins `socket` to `room` and waits until `observer` hears of it. From another node the
 * presence event may come after the join's ack, so recorders start only after this.
 */
async function joinSeen(socket: TestSocket, room: string, observer: TestSocket): Promise<RoomPresence> {
  const user = (socket.auth as { user: string }).user;
  const heard = next(observer, "room:presence", (presence) => presence.room === room && presence.user === user);
  await join(socket, room);
  return heard;
}

async function send(socket: TestSocket, room: string, text: string, clientId?: string): Promise<ChatMessage> {
  const answer = await ok(socket, "room:send", clientId === undefined ? { room, text } : { room, text, clientId });
  return answer.message as ChatMessage;
}

/** Sends messages "m0", "m1", ... one after another. */
async function sendMany(socket: TestSocket, room: string, count: number): Promise<ChatMessage[]> {
  const sent: ChatMessage[] = [];
  for (let i = 0; i < count; i++) sent.push(await send(socket, room, `m${i}`));
  return sent;
}

/** Starts waiting, on every socket, for the room message with `text`. Call before sending it. */
const arrivals = (sockets: TestSocket[], text: string) =>
  Promise.all(sockets.map((socket) => next(socket, "room:message", (message) => message.text === text)));

/**
 * Ordering barrier: `sender` says something in `room` and waits until every observer got it.
 * The room messages `sender` caused before have then reached the observers too.
 */
async function barrier(sender: TestSocket, room: string, observers: TestSocket[]): Promise<ChatMessage> {
  const text = unique("barrier");
  const arrived = arrivals(observers, text);
  const message = await send(sender, room, text);
  await arrived;
  return message;
}

/** The same barrier through direct messages, for observers in no common room. */
async function dmBarrier(sender: TestSocket, to: string, observers: TestSocket[]): Promise<DirectMessage> {
  const text = unique("dm-barrier");
  const arrived = Promise.all(observers.map((socket) => next(socket, "dm:message", (dm) => dm.text === text)));
  const { message } = await ok(sender, "dm:send", { to, text });
  await arrived;
  return message as DirectMessage;
}

interface Inbox {
  messages: ChatMessage[];
  dms: DirectMessage[];
  presence: RoomPresence[];
  typing: RoomTyping[];
  notices: Notice[];
}

/** Records every server event a socket receives from now on. */
const inbox = (socket: TestSocket): Inbox => ({
  messages: record(socket, "room:message"),
  dms: record(socket, "dm:message"),
  presence: record(socket, "room:presence"),
  typing: record(socket, "room:typing"),
  notices: record(socket, "notice"),
});

/** What a failed ack (and an admin error) looks like: `code`, and a message for people. */
const failure = (code: ErrorCode) => ({ ok: false, error: { code, message: expect.stringMatching(/\S/) } });

function expectError(answer: Ack<object>, code: ErrorCode, label?: string): void {
  expect(answer, label).toEqual(failure(code));
}

/** Opens a socket that must be refused, and resolves with its connect_error. */
function refused(url: string, user: unknown, options: ClientOptions = {}): Promise<Error & { data?: unknown }> {
  const socket = client(url, user, options);
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => reject(new Error(`${JSON.stringify(user)} connected but should be refused`)));
      socket.once("connect_error", resolve);
    }),
    `the connect_error of ${JSON.stringify(user)}`,
  );
}

/** Resolves with the reason the server gave when it closed `socket`. */
const disconnected = (socket: TestSocket): Promise<string> =>
  within(new Promise((resolve) => socket.once("disconnect", resolve)), "a disconnect");

const isMessageId = (id: unknown) => typeof id === "string" && /^\d{13}-\d{6,}$/.test(id);

/**
 * A well-behaved pair of users chatting in their own room on the same deployment, to show that
 * whatever else happens there, they notice nothing.
 */
async function bystanders(nodes: Nodes): Promise<{ check(): Promise<void> }> {
  const [room, alice, bob] = names("calm", "calm-alice", "calm-bob");
  const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
  await join(aliceSocket, room);
  await joinSeen(bobSocket, room, aliceSocket);
  const seen = inbox(aliceSocket);
  return {
    async check() {
      expect(aliceSocket.connected).toBe(true);
      const fromBob = await barrier(bobSocket, room, [aliceSocket]);
      const fromAlice = await barrier(aliceSocket, room, [bobSocket, aliceSocket]);
      expect(seen).toEqual({ messages: [fromBob, fromAlice], dms: [], presence: [], typing: [], notices: [] });
    },
  };
}

// ---- HTTP helpers ----

const ADMIN_TOKEN = TEST_ENV.ADMIN_TOKEN!;

/** Calls the admin API with the bearer `token` (null: no Authorization header at all). */
async function admin(
  url: string,
  method: "GET" | "POST",
  path: string,
  /** Sent as JSON; a string is sent as it is. */
  body?: object | string,
  token: string | null = ADMIN_TOKEN,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await within(
    fetch(`${url}${path}`, { method, headers, body: typeof body === "object" ? JSON.stringify(body) : body }),
    `${method} ${path}`,
  );
  return { status: response.status, body: await response.json() };
}

const kick = (url: string, user: string) => admin(url, "POST", `/admin/users/${encodeURIComponent(user)}/kick`);

/** The first request of an Engine.IO polling session; `sid` is set when the server opened one. */
async function pollingHandshake(url: string, origin?: string): Promise<{ status: number; sid?: string }> {
  const response = await within(
    fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: origin === undefined ? {} : { origin } }),
    "a polling handshake",
  );
  const body = await response.text();
  // An open packet is "0" followed by the session as JSON.
  const sid = body.startsWith("0{") ? (JSON.parse(body.slice(1)) as { sid: string }).sid : undefined;
  return { status: response.status, sid };
}

/** Opens a raw WebSocket to Engine.IO: "open", or the HTTP status the server refused it with. */
function rawWebSocket(url: string, origin?: string, sid?: string): Promise<"open" | number> {
  const query = `EIO=4&transport=websocket${sid === undefined ? "" : `&sid=${sid}`}`;
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?${query}`, {
    headers: origin === undefined ? {} : { origin },
  });
  return within(
    new Promise<"open" | number>((resolve, reject) => {
      ws.once("open", () => {
        ws.close();
        resolve("open");
      });
      ws.once("unexpected-response", (_request, response) => {
        resolve(response.statusCode ?? 0);
        ws.terminate();
      });
      ws.once("error", reject);
    }),
    "a raw WebSocket",
  );
}

const FOREIGN_ORIGIN = "http://evil.example";
/** Engine.IO refuses a handshake with 403 (allowRequest) or 400 (a middleware): either way, not opened. */
const REFUSED = [400, 403];

// ---- Bad input ----

/** Below the 64 KB packet limit with room to spare for the rest of the packet. */
const LARGE = "x".repeat(60_000);
/** Above the 64 KB packet limit: Socket.IO closes the connection instead of answering. */
const OVERSIZED = "y".repeat(100 * 1024);

interface BadCase {
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

interface BadValue {
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
  { label: "binary", value: Buffer.from("lobby") },
  { label: "empty", value: "" },
];

/** A short label for a value in a test name. */
const show = (value: unknown): string => JSON.stringify(value).slice(0, 20);
const labelled = (...values: unknown[]): BadValue[] => values.map((value) => ({ label: show(value), value }));

/** Values that are not a valid name of `kind`, whatever else the payload holds. */
function badNames(kind: "user" | "room"): BadValue[] {
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

const BAD_TEXTS: BadValue[] = [...NOT_STRINGS, { label: "60 KB", value: LARGE, code: ErrorCode.TooLong }];

const BAD_CLIENT_IDS: BadValue[] = [
  ...NOT_STRINGS,
  { label: "one too long", value: "c".repeat(LIMITS.clientId.max + 1) },
  { label: "60 KB", value: LARGE },
];

const BAD_MESSAGE_IDS: BadValue[] = [
  ...NOT_STRINGS,
  { label: "not an id", value: "nope" },
  { label: "an id without its padding", value: "1-1" },
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
function badInput(room: string, user: string): Record<ClientEventName, BadCase[]> {
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
    typing: [
      ...NOT_OBJECTS,
      { label: "no typing", payload: { room } },
      ...each("typing", labelled("yes", 1, null, "true"), { room }),
      ...each("room", rooms, { typing: true }),
      protoKey({ room, typing: true }),
    ],
  };
}

/** A request each event answers ok, for a socket that has joined `room` and `spare`. */
const valid = (room: string, spare: string, user: string): Record<ClientEventName, unknown> => ({
  "room:join": { room },
  "room:leave": { room: spare },
  "room:send": { room, text: "hello" },
  "room:history": { room },
  "rooms:list": {},
  "dm:send": { to: user, text: "hello" },
  typing: { room, typing: true },
});

// ---- The suite ----

/** Registers the protocol suite, run against deployments from `factory`. */
export function protocolSuite(name: string, factory: DeploymentFactory): void {
  describe(name, () => {
    const nodes = deploy(factory);
    afterEach(closeAllClients);

    describe("handshake", () => {
      it("connects a valid user to every node, and they meet in a room", async () => {
        const [room] = names("meet");
        const users = nodes.urls().map(() => unique("user"));
        const sockets = await nodes.connectAll(users);
        await joinAll(room, sockets);
        expect(await request(sockets[0]!, "room:join", { room })).toMatchObject({ ok: true, members: users.sort() });
      });

      it("refuses a handshake without a user, with unauthorized in err.data", async () => {
        for (const auth of [{}, undefined, JSON.parse('{"__proto__":{"user":"alice"}}')]) {
          const error = await refused(nodes.url(0), undefined, { auth });
          expect(error.data, JSON.stringify(auth)).toEqual(failure(ErrorCode.Unauthorized).error);
        }
      });

      it("refuses every invalid user name, with unauthorized in err.data", async () => {
        for (const { label, value } of badNames("user")) {
          const error = await refused(nodes.url(0), value);
          expect(error.data, label).toEqual(failure(ErrorCode.Unauthorized).error);
        }
      });
    });

    describe("room:join", () => {
      it("answers the members, the history and recovered, and tells the room", async () => {
        const [room, alice, bob] = names("join", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        const first = await join(aliceSocket, room);
        expect(first).toEqual({ ok: true, room, members: [alice], history: [], recovered: true });
        const sent = [await send(aliceSocket, room, "one"), await send(aliceSocket, room, "two")];

        const told = next(aliceSocket, "room:presence", (presence) => presence.user === bob);
        const answer = await join(bobSocket, room);
        expect(answer).toEqual({ ok: true, room, members: [alice, bob].sort(), history: sent, recovered: true });
        expect(await told).toEqual({ room, user: bob, event: "join", members: 2 });
      });

      it("without since answers the newest 50 messages, oldest first", async () => {
        const [room, alice, bob] = names("newest", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        await join(aliceSocket, room);
        const sent = await sendMany(aliceSocket, room, LIMITS.defaultHistory + 2);

        const { history } = await join(bobSocket, room);
        expect(history).toEqual(sent.slice(-LIMITS.defaultHistory));
      });

      it("with since answers every message after it, beyond 50, and recovered", async () => {
        const [room, alice, bob] = names("since", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        await join(aliceSocket, room);
        const sent = await sendMany(aliceSocket, room, LIMITS.defaultHistory + 5);

        const missed = await join(bobSocket, room, sent[0]!.id);
        expect(missed).toMatchObject({ history: sent.slice(1), recovered: true });
        const upToDate = await join(bobSocket, room, sent.at(-1)!.id);
        expect(upToDate).toMatchObject({ history: [], recovered: true });
      });

      it("joining again answers again without a second presence event", async () => {
        const [room, alice, bob] = names("rejoin", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        await join(aliceSocket, room);
        await joinSeen(bobSocket, room, aliceSocket);
        const seen = inbox(aliceSocket);
        const again = await join(bobSocket, room);
        expect(again).toMatchObject({ ok: true, members: [alice, bob].sort() });
        await barrier(bobSocket, room, [aliceSocket]);
        expect(seen.presence).toEqual([]);
      });
    });

    describe("room:leave", () => {
      it("stops delivery to the leaver and tells the room", async () => {
        const [room, alice, bob] = names("leave", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        await joinAll(room, [aliceSocket, bobSocket]);
        const seenByBob = inbox(bobSocket);

        const told = next(aliceSocket, "room:presence", (presence) => presence.event === "leave");
        expect(await request(bobSocket, "room:leave", { room })).toEqual({ ok: true });
        expect(await told).toEqual({ room, user: bob, event: "leave", members: 1 });

        await send(aliceSocket, room, "after bob left");
        await dmBarrier(aliceSocket, bob, [bobSocket]);
        expect(seenByBob.messages).toEqual([]);
      });

      it("answers not_joined for a room not joined, and after leaving", async () => {
        const [room, alice] = names("not-joined", "alice");
        const [socket] = await nodes.connectAll([alice]);
        expectError(await request(socket, "room:leave", { room }), ErrorCode.NotJoined);
        await join(socket, room);
        await ok(socket, "room:leave", { room });
        expectError(await request(socket, "room:leave", { room }), ErrorCode.NotJoined);
        expectError(await request(socket, "room:send", { room, text: "hi" }), ErrorCode.NotJoined);
        expectError(await request(socket, "room:history", { room }), ErrorCode.NotJoined);
      });
    });

    describe("room:send", () => {
      it("delivers once to every member's every socket, the sender's included", async () => {
        const [room, alice, bob, carol] = names("send", "alice", "bob", "carol");
        const sockets = await nodes.connectAll([alice, bob, alice, carol]);
        await joinAll(room, sockets);
        const seen = sockets.map(inbox);

        const before = Date.now();
        const arrived = arrivals(sockets, "hello");
        const message = await send(sockets[0]!, room, "hello");
        expect(message).toEqual({
          id: expect.any(String),
          room,
          from: alice,
          text: "hello",
          ts: expect.any(Number),
          prev: "",
        });
        expect(isMessageId(message.id)).toBe(true);
        expect(message.ts).toBeGreaterThanOrEqual(before);
        expect(message.ts).toBeLessThanOrEqual(Date.now());
        expect(await arrived).toEqual(sockets.map(() => message));

        const last = await barrier(sockets[0]!, room, sockets);
        for (const messages of seen.map((s) => s.messages)) expect(messages).toEqual([message, last]);
      });

      it("gives ids that sort in send order, each naming the one before", async () => {
        const [room, alice, bob] = names("order", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        await joinAll(room, [aliceSocket, bobSocket]);
        const seen = inbox(bobSocket);
        // Emitted without waiting, so that several land in the same millisecond.
        const texts = Array.from({ length: 20 }, (_, i) => `burst ${i}`);
        const sent = await Promise.all(texts.map((text) => send(aliceSocket, room, text)));
        expect(sent.map((m) => m.text)).toEqual(texts);
        const ids = sent.map((m) => m.id);
        expect([...ids].sort()).toEqual(ids);
        expect(new Set(ids).size).toBe(ids.length);
        expect(sent.slice(1).map((m) => m.prev)).toEqual(ids.slice(0, -1));

        await barrier(aliceSocket, room, [bobSocket]);
        expect(seen.messages.slice(0, -1)).toEqual(sent);
      });

      it("with a clientId seen before answers the original and broadcasts nothing", async () => {
        const [room, alice, bob] = names("idempotent", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        await joinAll(room, [aliceSocket, bobSocket]);
        const seen = inbox(bobSocket);

        const arrived = arrivals([bobSocket], "once");
        const first = await send(aliceSocket, room, "once", "client-1");
        await arrived;
        const again = await send(aliceSocket, room, "once", "client-1");
        expect(again).toEqual(first);
        // The key belongs to its sender: the same clientId from bob is a new message.
        const bobs = await send(bobSocket, room, "mine", "client-1");
        expect(bobs.id).not.toBe(first.id);

        const last = await barrier(aliceSocket, room, [bobSocket]);
        expect(seen.messages).toEqual([first, bobs, last]);
        const { messages } = await ok(bobSocket, "room:history", { room });
        expect(messages).toEqual([first, bobs, last]);
      });

      it("answers not_joined to a room not joined, and delivers nothing there", async () => {
        const [room, alice, bob] = names("outside", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        await join(bobSocket, room);
        const seen = inbox(bobSocket);
        expectError(await request(aliceSocket, "room:send", { room, text: "let me in" }), ErrorCode.NotJoined);
        await dmBarrier(aliceSocket, bob, [bobSocket]);
        expect(seen.messages).toEqual([]);
      });

      it("answers too_long above MAX_MESSAGE_LENGTH (2000 by default)", async () => {
        const [room, alice] = names("long", "alice");
        const [socket] = await nodes.connectAll([alice]);
        await join(socket, room);
        expect((await send(socket, room, "a".repeat(2000))).text).toHaveLength(2000);
        expectError(await request(socket, "room:send", { room, text: "a".repeat(2001) }), ErrorCode.TooLong);
      });

      it("stores and sends the text exactly as given", async () => {
        const [room, alice, bob, carol] = names("verbatim", "alice", "bob", "carol");
        const [aliceSocket, bobSocket, carolSocket] = await nodes.connectAll([alice, bob, carol]);
        await joinAll(room, [aliceSocket, bobSocket]);
        const texts = [
          "<img src=x onerror=alert(1)>",
          "<script>alert('x')</script> & &amp; \"quoted\"",
          "  padded with spaces  ",
          "line one\nline two\r\n\ttabbed",
          // Not normalized, unlike names: the decomposed form stays decomposed.
          "Cafe\u0301 \u202eright-to-left\u202c 😀 房间",
          "\u0000 and \u001b[31m escapes",
          "{\"__proto__\": {\"admin\": true}}",
        ];
        const seen = inbox(bobSocket);
        for (const text of texts) expect((await send(aliceSocket, room, text)).text).toBe(text);
        await barrier(aliceSocket, room, [bobSocket]);
        expect(seen.messages.slice(0, -1).map((m) => m.text)).toEqual(texts);

        const { history } = await join(carolSocket, room);
        expect(history.slice(0, -1).map((m: ChatMessage) => m.text)).toEqual(texts);
      });
    });

    describe("room:history", () => {
      it("pages back with before and limit, oldest first", async () => {
        const [room, alice] = names("paging", "alice");
        const [socket] = await nodes.connectAll([alice]);
        await join(socket, room);
        const m = await sendMany(socket, room, 5);
        const page = async (query: object) => (await ok(socket, "room:history", { room, ...query })).messages;

        expect(await page({})).toEqual(m);
        expect(await page({ limit: 2 })).toEqual([m[3], m[4]]);
        expect(await page({ before: m[3]!.id, limit: 2 })).toEqual([m[1], m[2]]);
        expect(await page({ before: m[1]!.id })).toEqual([m[0]]);
        expect(await page({ before: m[0]!.id })).toEqual([]);
        expect(await page({ limit: LIMITS.maxHistoryPage })).toEqual(m);
      });

      it("answers not_joined for a room with messages the caller has not joined", async () => {
        const [room, alice, bob] = names("private-log", "alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        await join(aliceSocket, room);
        await send(aliceSocket, room, "secret");
        expectError(await request(bobSocket, "room:history", { room }), ErrorCode.NotJoined);
      });
    });

    describe("rooms:list", () => {
      it("lists rooms with members, sorted by name, with distinct user counts", async () => {
        const [a, b, gone, alice, bob, carol] = names("list-a", "list-b", "list-gone", "alice", "bob", "carol");
        const [aliceSocket, bobSocket, aliceTab, carolSocket] = await nodes.connectAll([alice, bob, alice, carol]);
        await joinAll(a, [aliceSocket, bobSocket, aliceTab]);
        await join(bobSocket, b);
        await join(carolSocket, gone);
        await ok(carolSocket, "room:leave", { room: gone });

        const ours = new Set([a, b, gone]);
        const listed = async (answer: Promise<Ack<Record<string, any>>>) => {
          const result = await answer;
          if (!result.ok) throw new Error(`rooms:list failed: ${result.error.code}`);
          return (result.rooms as { room: string }[]).filter((summary) => ours.has(summary.room));
        };
        const expected = [
          { room: a, members: 2 },
          { room: b, members: 1 },
        ];
        expect(await listed(request(carolSocket, "rooms:list", {}))).toEqual(expected);
        // Older clients send no payload at all, only the ack.
        expect(await listed(untyped(carolSocket).timeout(DEADLINE_MS).emitWithAck("rooms:list"))).toEqual(expected);
        const { rooms } = await ok(bobSocket, "rooms:list", {});
        const listedNames = rooms.map((summary: { room: string }) => summary.room);
        expect(listedNames).toEqual([...listedNames].sort());
      });
    });

    describe("dm:send", () => {
      it("delivers once to every socket of both users, and to nobody else", async () => {
        const [alice, bob, carol] = names("alice", "bob", "carol");
        const sockets = await nodes.connectAll([alice, bob, alice, bob, carol]);
        const [aliceSocket, bobSocket, , , carolSocket] = sockets;
        const pair = sockets.slice(0, 4);
        const seen = sockets.map(inbox);

        const arrived = Promise.all(pair.map((socket) => next(socket, "dm:message", (dm) => dm.text === "psst")));
        const answer = await ok(aliceSocket, "dm:send", { to: bob, text: "psst" });
        const message: DirectMessage = answer.message;
        expect(answer).toEqual({
          ok: true,
          online: true,
          message: { id: expect.any(String), from: alice, to: bob, text: "psst", ts: expect.any(Number), prev: "" },
        });
        expect(isMessageId(message.id)).toBe(true);
        expect(await arrived).toEqual(pair.map(() => message));

        // The reply continues the same conversation.
        const reply = await dmBarrier(bobSocket, alice, pair);
        expect(reply.prev).toBe(message.id);
        expect(reply.id > message.id).toBe(true);
        for (const { dms } of seen.slice(0, 4)) expect(dms).toEqual([message, reply]);

        const toCarol = await dmBarrier(aliceSocket, carol, [carolSocket]);
        expect(seen[4]!.dms).toEqual([toCarol]);
      });

      it("keeps a DM to an offline user and delivers it when they connect, on any node", async () => {
        const [alice, dave] = names("alice", "dave");
        const [aliceSocket] = await nodes.connectAll([alice]);
        const copies = next(aliceSocket, "dm:message", (dm) => dm.text === "while you were out");
        const first = await ok(aliceSocket, "dm:send", { to: dave, text: "while you were out" });
        expect(first).toMatchObject({ online: false, message: { from: alice, to: dave } });
        // The sender's own sockets get their copy at once.
        expect(await copies).toEqual(first.message);
        const second = await ok(aliceSocket, "dm:send", { to: dave, text: "and this" });

        const daveSocket = client(nodes.url(1), dave);
        const seen = inbox(daveSocket);
        const delivered = next(daveSocket, "dm:message", (dm) => dm.text === "and this");
        await delivered;
        expect(seen.dms).toEqual([first.message, second.message]);

        // Handed over once: a second tab of dave gets only what comes later.
        const daveTab = await connected(nodes.url(2), dave);
        const later = inbox(daveTab);
        const now = await dmBarrier(aliceSocket, dave, [daveSocket, daveTab]);
        expect(later.dms).toEqual([now]);
      });

      it("to oneself reaches each of one's sockets once", async () => {
        const [alice] = names("alice");
        const sockets = await nodes.connectAll([alice, alice]);
        const seen = sockets.map(inbox);
        const note = await dmBarrier(sockets[0]!, alice, sockets);
        expect(note).toMatchObject({ from: alice, to: alice });
        const last = await dmBarrier(sockets[0]!, alice, sockets);
        for (const { dms } of seen) expect(dms).toEqual([note, last]);
      });

      it("with a clientId seen before answers the original and delivers nothing new", async () => {
        const [alice, bob] = names("alice", "bob");
        const [aliceSocket, bobSocket] = await nodes.connectAll([alice, bob]);
        const seen = inbox(bobSocket);
        const first = await ok(aliceSocket, "dm:send", { to: bob, text: "once", clientId: "dm-1" });
        const again = await ok(aliceSocket, "dm:send", { to: bob, text: "once", clientId: "dm-1" });
        expect(again).toEqual(first);
        const last = await dmBarrier(aliceSocket, bob, [bobSocket]);
        expect(seen.dms).toEqual([first.message, last]);
      });

      it("answers too_long above MAX_MESSAGE_LENGTH", async () => {
        const [alice, bob] = names("alice", "bob");
        const [aliceSocket] = await nodes.connectAll([alice]);
        expectError(await request(aliceSocket, "dm:send", { to: bob, text: "a".repeat(2001) }), ErrorCode.TooLong);
      });
    });

    describe("typing", () => {
      it("reaches the others, never a socket of the typist, and is not kept", async () => {
        const [room, alice, bob, carol] = names("typing", "alice", "bob", "carol");
        const [aliceSocket, bobSocket, aliceTab, carolSocket] = await nodes.connectAll([alice, bob, alice, carol]);
        await joinAll(room, [aliceSocket, bobSocket, aliceTab]);
        const [aliceSeen, bobSeen, tabSeen] = [inbox(aliceSocket), inbox(bobSocket), inbox(aliceTab)];

        const told = next(bobSocket, "room:typing");
        expect(await request(aliceSocket, "typing", { room, typing: true })).toEqual({ ok: true });
        expect(await told).toEqual({ room, user: alice, typing: true });
        expect(await request(aliceSocket, "typing", { room, typing: false })).toEqual({ ok: true });

        await barrier(aliceSocket, room, [aliceSocket, bobSocket, aliceTab]);
        expect(bobSeen.typing).toEqual([
          { room, user: alice, typing: true },
          { room, user: alice, typing: false },
        ]);
        expect(aliceSeen.typing).toEqual([]);
        expect(tabSeen.typing).toEqual([]);

        const { history } = await join(carolSocket, room);
        expect(history.map((m: ChatMessage) => m.from)).toEqual([alice]);
      });

      it("answers not_joined for a room not joined", async () => {
        const [room, alice] = names("typing-outside", "alice");
        const [socket] = await nodes.connectAll([alice]);
        expectError(await request(socket, "typing", { room, typing: true }), ErrorCode.NotJoined);
      });
    });

    describe("presence", () => {
      it("two tabs of one user: one join, and a leave only when the last tab leaves", async () => {
        const [room, olga, ursula] = names("tabs", "olga", "ursula");
        const [olgaSocket, tab1, tab2] = await nodes.connectAll([olga, ursula, ursula]);
        await join(olgaSocket, room);
        const seen = inbox(olgaSocket);

        expect(await joinSeen(tab1, room, olgaSocket)).toEqual({ room, user: ursula, event: "join", members: 2 });
        await join(tab2, room);
        await barrier(tab2, room, [olgaSocket]);
        expect(seen.presence).toHaveLength(1);

        await ok(tab1, "room:leave", { room });
        await barrier(tab2, room, [olgaSocket]);
        expect(seen.presence).toHaveLength(1);

        const left = next(olgaSocket, "room:presence", (presence) => presence.event === "leave");
        await ok(tab2, "room:leave", { room });
        expect(await left).toEqual({ room, user: ursula, event: "leave", members: 1 });
      });

      it("two tabs of one user: a disconnect leaves only with the last tab", async () => {
        const [before, room, after, olga, ursula] = names("before", "tabs", "after", "olga", "ursula");
        const [olgaSocket, tab1, tab2] = await nodes.connectAll([olga, ursula, ursula]);
        for (const shared of [before, room, after]) {
          await join(olgaSocket, shared);
          await joinSeen(tab1, shared, olgaSocket);
        }
        await join(tab2, room);
        const seen = inbox(olgaSocket);

        // tab1 is the last of ursula in the rooms joined before and after the shared one, so the
        // two leave events there bracket whatever its disconnect does in the shared room.
        const leftOthers = Promise.all(
          [before, after].map((other) =>
            next(olgaSocket, "room:presence", (presence) => presence.room === other && presence.event === "leave"),
          ),
        );
        tab1.disconnect();
        await leftOthers;
        await barrier(tab2, room, [olgaSocket]);
        expect(seen.presence.filter((presence) => presence.room === room)).toEqual([]);

        const left = next(olgaSocket, "room:presence", (presence) => presence.room === room);
        tab2.disconnect();
        expect(await left).toEqual({ room, user: ursula, event: "leave", members: 1 });
      });

      it("counts distinct users in members as they come and go", async () => {
        const [room, olga, a, b] = names("counts", "olga", "a", "b");
        const [olgaSocket, aSocket, bSocket, aTab] = await nodes.connectAll([olga, a, b, a]);
        await join(olgaSocket, room);
        const seen = inbox(olgaSocket);
        // Each event is awaited before the next action: from several nodes they may overtake.
        await joinSeen(aSocket, room, olgaSocket);
        await joinSeen(bSocket, room, olgaSocket);
        await join(aTab, room);
        await ok(aSocket, "room:leave", { room });
        const left = next(olgaSocket, "room:presence", (presence) => presence.event === "leave");
        await ok(aTab, "room:leave", { room });
        await left;
        await barrier(bSocket, room, [olgaSocket]);
        expect(seen.presence).toEqual([
          { room, user: a, event: "join", members: 2 },
          { room, user: b, event: "join", members: 3 },
          { room, user: a, event: "leave", members: 2 },
        ]);
        expect((await join(olgaSocket, room)).members).toEqual([b, olga].sort());
      });
    });

    describe("names", () => {
      it("takes Unicode room and user names like 房间号1", async () => {
        const [room, user, bob] = names("房间号1", "用户", "bob");
        const [socket, bobSocket] = await nodes.connectAll([user, bob]);
        expect(await join(socket, room)).toMatchObject({ room, members: [user] });
        await join(bobSocket, room);
        const arrived = arrivals([bobSocket], "你好");
        const message = await send(socket, room, "你好");
        expect(message).toMatchObject({ room, from: user });
        expect(await arrived).toEqual([message]);
        const { rooms } = await ok(socket, "rooms:list", {});
        expect(rooms).toContainEqual({ room, members: 2 });
      });

      it("NFC-normalizes room and user names, so both spellings are one name", async () => {
        const composed = unique("Caf\u00e9"); // é as one code point
        const decomposed = composed.normalize("NFD"); // e + combining acute
        expect(decomposed).not.toBe(composed);
        const zoe = unique("Zo\u00eb");
        const [zoeSocket, bobSocket] = await nodes.connectAll([zoe.normalize("NFD"), unique("bob")]);

        expect(await join(zoeSocket, decomposed)).toMatchObject({ room: composed, members: [zoe] });
        const answer = await join(bobSocket, composed);
        expect(answer.members).toContain(zoe);
        const arrived = arrivals([zoeSocket], "same room");
        await send(bobSocket, decomposed, "same room");
        expect(await arrived).toMatchObject([{ room: composed }]);

        const dm = next(zoeSocket, "dm:message");
        await ok(bobSocket, "dm:send", { to: zoe.normalize("NFD"), text: "found you" });
        expect(await dm).toMatchObject({ to: zoe, text: "found you" });
      });

      it("measures names in code points after normalization", async () => {
        const [alice] = names("alice");
        const [socket] = await nodes.connectAll([alice]);
        const longest = padTo(unique("r"), LIMITS.roomName.max, "房");
        expect(await join(socket, longest)).toMatchObject({ room: longest });
        // 128 code points before NFC, 64 after.
        const decomposed = padTo(unique("d"), LIMITS.roomName.max, "\u00e9").normalize("NFD");
        expect(await join(socket, decomposed)).toMatchObject({ room: decomposed.normalize("NFC") });
        expectError(await request(socket, "room:join", { room: `${longest}房` }), ErrorCode.BadRequest);

        const longestUser = padTo(unique("u"), LIMITS.userName.max, "用");
        await nodes.connectAll([longestUser]);
        const error = await refused(nodes.url(0), `${longestUser}用`);
        expect(error.data).toMatchObject({ code: ErrorCode.Unauthorized });
      });
    });

    describe("isolation of internal rooms", () => {
      it("a room named like another socket's id or a user reads nobody's messages", async () => {
        const [alice, bob, eve] = names("alice", "bob", "eve");
        const [aliceSocket, bobSocket, eveSocket] = await nodes.connectAll([alice, bob, eve]);
        expect(bobSocket.id).toHaveLength(20);
        const spying = inbox(aliceSocket);
        const bobSeen = inbox(bobSocket);
        for (const room of [bobSocket.id!, bob, `u ${bob}`]) await join(aliceSocket, room);

        await dmBarrier(eveSocket, bob, [bobSocket]);
        await dmBarrier(eveSocket, alice, [aliceSocket]);
        expect(spying.dms.map((dm) => dm.to)).toEqual([alice]);

        // And the other way: what alice says in those rooms reaches no socket of bob.
        for (const room of [bobSocket.id!, bob]) await send(aliceSocket, room, "anyone there?");
        await dmBarrier(aliceSocket, bob, [bobSocket]);
        expect(bobSeen.messages).toEqual([]);
      });

      it("a user named like another socket's id gets nothing of that socket", async () => {
        const [alice, eve] = names("alice", "eve");
        const [aliceSocket, eveSocket] = await nodes.connectAll([alice, eve]);
        const seen = inbox(aliceSocket);
        const namesake = await connected(nodes.url(2), aliceSocket.id);
        await dmBarrier(eveSocket, aliceSocket.id!, [namesake]);
        await dmBarrier(eveSocket, alice, [aliceSocket]);
        expect(seen.dms.map((dm) => dm.to)).toEqual([alice]);
      });

      it("names whose internal room would be 20 long, like a socket id, work across nodes", async () => {
        // "r:" + 18 characters and "u:" + 18 characters are 20 long.
        const room = padTo(unique("r"), 18);
        const [alice, bob] = [padTo(unique("a"), 18), padTo(unique("b"), 18)];
        const sockets = await nodes.connectAll([alice, bob, alice]);
        await joinAll(room, sockets);
        const arrived = arrivals(sockets, "twenty");
        const message = await send(sockets[1]!, room, "twenty");
        expect(await arrived).toEqual(sockets.map(() => message));
        const dms = Promise.all(sockets.map((socket) => next(socket, "dm:message")));
        await ok(sockets[1]!, "dm:send", { to: alice, text: "to you" });
        expect((await dms).map((dm) => dm.text)).toEqual(["to you", "to you", "to you"]);
      });
    });

    describe("bad input", () => {
      for (const event of CLIENT_EVENTS) {
        it(`${event}: every malformed payload gets a coded error, and nobody else notices`, async () => {
          const [room, spare, mallory, bob] = names("sweep", "spare", "mallory", "bob");
          const calm = await bystanders(nodes);
          const [socket, bobSocket] = await nodes.connectAll([mallory, bob]);
          await joinAll(room, [socket, bobSocket]);
          await join(socket, spare);

          for (const { label, payload, code = ErrorCode.BadRequest } of badInput(room, bob)[event]) {
            expectError(await request(socket, event, payload), code, `${event} with ${label}`);
          }
          // An ack but no payload at all.
          const bare = await untyped(socket).timeout(DEADLINE_MS).emitWithAck(event);
          if (event === "rooms:list") expect(bare.ok).toBe(true);
          else expectError(bare, ErrorCode.BadRequest, `${event} without a payload`);

          expect(socket.connected).toBe(true);
          expect(await request(socket, event, valid(room, spare, bob)[event])).toMatchObject({ ok: true });
          await calm.check();
        });
      }

      it("tolerates events without an ack callback, and unknown events", async () => {
        const [room, spare, mallory, bob] = names("no-ack", "spare", "mallory", "bob");
        const calm = await bystanders(nodes);
        const [socket, bobSocket] = await nodes.connectAll([mallory, bob]);
        await joinAll(room, [socket, bobSocket]);
        await join(socket, spare);
        const bobSeen = inbox(bobSocket);

        const raw = untyped(socket);
        const requests = valid(room, spare, bob);
        // The valid ones still do their work; the rest are answered into the void.
        const effects = Promise.all([
          next(bobSocket, "room:message"),
          next(bobSocket, "room:typing"),
          next(bobSocket, "dm:message"),
        ]);
        for (const event of CLIENT_EVENTS) {
          raw.emit(event, requests[event]);
          raw.emit(event, null);
          raw.emit(event);
        }
        raw.emit("no such event", { room });
        raw.emit("no such event");
        await effects;

        const last = await barrier(socket, room, [bobSocket]);
        const lastDm = await dmBarrier(socket, bob, [bobSocket]);
        expect(bobSeen.messages).toEqual([expect.objectContaining({ text: "hello", from: mallory }), last]);
        expect(bobSeen.typing).toEqual([{ room, user: mallory, typing: true }]);
        expect(bobSeen.dms).toEqual([expect.objectContaining({ text: "hello", from: mallory }), lastDm]);
        expect(bobSeen.presence).toEqual([]);
        expect(socket.connected).toBe(true);
        expect(await request(socket, "rooms:list", {})).toMatchObject({ ok: true });
        await calm.check();
      });

      for (const transport of ["websocket", "polling"] as const) {
        it(`over ${transport}: 60 KB gets a coded error, above 64 KB the server closes the connection`, async () => {
          const [room, mallory] = names("size", "mallory");
          const calm = await bystanders(nodes);
          const [socket] = await nodes.connectAll([mallory], { transports: [transport] });
          await join(socket, room);

          expectError(await request(socket, "room:send", { room, text: LARGE }), ErrorCode.TooLong);
          expectError(await request(socket, "room:join", { room: LARGE }), ErrorCode.BadRequest);
          expect(socket.connected).toBe(true);

          const closed = disconnected(socket);
          untyped(socket).emit("room:send", { room, text: OVERSIZED });
          // Over WebSocket the server closes the socket; over polling it answers the POST with 413.
          expect(await closed).toBe(transport === "websocket" ? "transport close" : "transport error");
          await calm.check();
          // The server is none the worse: the same user connects again.
          const [again] = await nodes.connectAll([mallory], { transports: [transport] });
          expect(await join(again, room)).toMatchObject({ ok: true });
        });
      }
    });

    describe("Origin check", () => {
      for (const transport of ["polling", "websocket"] as const) {
        it(`over ${transport}: no Origin and the node's own origin connect, a foreign one is refused`, async () => {
          const options = { transports: [transport], upgrade: false };
          const [user] = names("origin");
          for (const url of nodes.urls()) {
            await connected(url, user, options);
            await connected(url, user, { ...options, extraHeaders: { origin: url } });
            // Refused only for its Origin, which shows that the client really sends extraHeaders.
            const error = await refused(url, user, { ...options, extraHeaders: { origin: FOREIGN_ORIGIN } });
            expect(error.message).toBe(transport === "polling" ? "xhr poll error" : "websocket error");
          }
        });
      }

      it("refuses a foreign Origin on the raw handshake, on the upgrade and on later polls", async () => {
        const url = nodes.url(0);
        expect(REFUSED).toContain((await pollingHandshake(url, FOREIGN_ORIGIN)).status);
        expect(REFUSED).toContain(await rawWebSocket(url, FOREIGN_ORIGIN));
        expect(await rawWebSocket(url)).toBe("open");

        // A session opened without Origin cannot be taken over from a foreign page.
        const { status, sid } = await pollingHandshake(url);
        expect(status).toBe(200);
        const poll = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
          headers: { origin: FOREIGN_ORIGIN },
        });
        expect(REFUSED).toContain(poll.status);
        expect(REFUSED).toContain(await rawWebSocket(url, FOREIGN_ORIGIN, sid));
      });
    });

    describe("health", () => {
      it("/healthz and /readyz answer 200 on every live node", async () => {
        for (const url of nodes.urls()) {
          const health = await fetch(`${url}/healthz`);
          expect(health.status).toBe(200);
          expect(await health.json()).toMatchObject({ ok: true, node: expect.any(String) });
          const ready = await fetch(`${url}/readyz`);
          expect(ready.status).toBe(200);
          expect(await ready.json()).toMatchObject({ ready: true });
        }
      });
    });

    describe("admin", () => {
      it("answers 401 unauthorized without the bearer token", async () => {
        const url = nodes.url(0);
        const routes = [
          ["GET", "/admin/nodes", undefined],
          ["POST", "/admin/notices", { text: "hi" }],
          ["POST", "/admin/users/alice/kick", undefined],
        ] as const;
        for (const [method, path, body] of routes) {
          for (const token of [null, "", "wrong", `${ADMIN_TOKEN}x`]) {
            const answer = await admin(url, method, path, body, token);
            const expected = { status: 401, body: failure(ErrorCode.Unauthorized) };
            expect(answer, `${method} ${path} with ${token}`).toEqual(expected);
          }
        }
      });

      it("GET /admin/nodes lists every live node with its counts", async () => {
        const { status, body } = await admin(nodes.url(0), "GET", "/admin/nodes");
        expect(status).toBe(200);
        expect(body.ok).toBe(true);
        expect(body.nodes).toHaveLength(nodes.urls().length);
        for (const node of body.nodes) {
          expect(node).toEqual({
            node: expect.any(String),
            sockets: expect.any(Number),
            users: expect.any(Number),
            seenAt: expect.any(Number),
          });
        }
        expect(new Set(body.nodes.map((node: { node: string }) => node.node)).size).toBe(body.nodes.length);
      });

      it("kicking a user disconnects each of their sockets, on every node, and nobody else", async () => {
        const [alice, bob] = names("alice", "bob");
        const tabs = Math.max(2, nodes.urls().length);
        const sockets = await nodes.connectAll([...Array.from({ length: tabs }, () => alice), bob]);
        const aliceSockets = sockets.slice(0, tabs);
        const bobSocket = sockets[tabs]!;
        const reasons = Promise.all(aliceSockets.map(disconnected));

        const { status, body } = await kick(nodes.url(tabs - 1), alice);
        expect(status).toBe(200);
        expect(body).toMatchObject({ ok: true, user: alice });
        expect(body.nodes.length).toBe(new Set(aliceSockets.map((_, k) => nodes.url(k))).size);
        expect(await reasons).toEqual(aliceSockets.map(() => "io server disconnect"));

        expect(bobSocket.connected).toBe(true);
        expect(await request(bobSocket, "dm:send", { to: alice, text: "are you there?" })).toMatchObject({ ok: true });
      });

      it("kick answers 400 bad_request for an invalid user name", async () => {
        expect(await kick(nodes.url(0), "u:alice")).toEqual({ status: 400, body: failure(ErrorCode.BadRequest) });
      });

      it("posts a notice to one room's members only, and one to everyone", async () => {
        const [room, alice, bob, carol] = names("notices", "alice", "bob", "carol");
        const sockets = await nodes.connectAll([alice, bob, carol]);
        await joinAll(room, sockets.slice(0, 2));
        const seen = sockets.map(inbox);

        const toRoom = Promise.all(sockets.slice(0, 2).map((socket) => next(socket, "notice")));
        const posted = await admin(nodes.url(2), "POST", "/admin/notices", { room, text: "room notice" });
        expect(posted).toEqual({
          status: 200,
          body: { ok: true, notice: { room, text: "room notice", ts: expect.any(Number) } },
        });
        expect(await toRoom).toEqual([posted.body.notice, posted.body.notice]);

        // The notice to everyone, posted after on the same node, is carol's barrier.
        const toAll = Promise.all(sockets.map((socket) => next(socket, "notice", (notice) => !notice.room)));
        const everyone = await admin(nodes.url(2), "POST", "/admin/notices", { text: "to all" });
        expect(everyone.body.notice).toEqual({ text: "to all", ts: expect.any(Number) });
        expect(await toAll).toEqual(sockets.map(() => everyone.body.notice));
        expect(seen.map(({ notices }) => notices)).toEqual([
          [posted.body.notice, everyone.body.notice],
          [posted.body.notice, everyone.body.notice],
          [everyone.body.notice],
        ]);
      });

      it("answers 400 bad_request to a malformed notice", async () => {
        const url = nodes.url(0);
        const bodies = [
          {},
          { text: "" },
          { text: ["a", "b"] },
          { text: "x".repeat(2001) },
          { text: "hi", room: "u:alice" },
          "{not json",
        ];
        for (const body of bodies) {
          const answer = await admin(url, "POST", "/admin/notices", body);
          expect(answer, show(body)).toEqual({ status: 400, body: failure(ErrorCode.BadRequest) });
        }
      });
    });

    describe("with HISTORY_SIZE=3, MAX_MESSAGE_LENGTH=10 and ALLOWED_ORIGINS", () => {
      const allowed = "https://chat.example";
      const small = deploy(factory, {
        env: { HISTORY_SIZE: "3", MAX_MESSAGE_LENGTH: "10", ALLOWED_ORIGINS: allowed },
      });

      it("room:join with since older than the log answers recovered: false and what is left", async () => {
        const [room, alice, bob] = names("trimmed", "alice", "bob");
        const [aliceSocket, bobSocket] = await small.connectAll([alice, bob]);
        await join(aliceSocket, room);
        const sent = await sendMany(aliceSocket, room, 5);

        expect(await join(bobSocket, room, sent[0]!.id)).toMatchObject({ history: sent.slice(2), recovered: false });
        expect(await join(bobSocket, room, sent[1]!.id)).toMatchObject({ history: sent.slice(2), recovered: true });
        expect(await join(bobSocket, room, sent[3]!.id)).toMatchObject({ history: sent.slice(4), recovered: true });
        // The log keeps at least the newest 3, as one unbroken run (a store may trim loosely).
        const { messages } = await ok(bobSocket, "room:history", { room, limit: 10 });
        expect(messages.length).toBeGreaterThanOrEqual(3);
        expect(messages).toEqual(sent.slice(-messages.length));
      });

      it("answers too_long to text over MAX_MESSAGE_LENGTH, in rooms and DMs", async () => {
        const [room, alice, bob] = names("short", "alice", "bob");
        const [socket] = await small.connectAll([alice]);
        await join(socket, room);
        expect((await send(socket, room, "0123456789")).text).toBe("0123456789");
        expectError(await request(socket, "room:send", { room, text: "0123456789a" }), ErrorCode.TooLong);
        expect(await request(socket, "dm:send", { to: bob, text: "0123456789" })).toMatchObject({ ok: true });
        expectError(await request(socket, "dm:send", { to: bob, text: "0123456789a" }), ErrorCode.TooLong);
      });

      for (const transport of ["polling", "websocket"] as const) {
        it(`over ${transport}: ALLOWED_ORIGINS lets a listed origin through and refuses others`, async () => {
          const options = { transports: [transport], upgrade: false };
          const [user] = names("origin");
          await connected(small.url(0), user, { ...options, extraHeaders: { origin: allowed } });
          await connected(small.url(0), user, options);
          await refused(small.url(0), user, { ...options, extraHeaders: { origin: FOREIGN_ORIGIN } });
        });
      }
    });

    describe("with RATE_LIMIT_PER_SECOND=1 and RATE_LIMIT_BURST=3", () => {
      const limited = deploy(factory, { env: { RATE_LIMIT_PER_SECOND: "1", RATE_LIMIT_BURST: "3" } });
      const BURST = 3;

      for (const event of ["room:send", "dm:send", "typing"] as const) {
        it(`${event}: a burst beyond the limit gets rate_limited, per socket`, async () => {
          const [room, alice, bob] = names("limited", "alice", "bob");
          const [aliceSocket, bobSocket] = await limited.connectAll([alice, bob]);
          await joinAll(room, [aliceSocket, bobSocket]);
          const payload = {
            "room:send": { room, text: "hi" },
            "dm:send": { to: bob, text: "hi" },
            typing: { room, typing: true },
          };

          // Sent at once: far less than the second a new token takes to flow in.
          const burst = Array.from({ length: BURST + 3 }, () => request(aliceSocket, event, payload[event]));
          const answers = await Promise.all(burst);
          expect(answers.slice(0, BURST).map((answer) => answer.ok)).toEqual([true, true, true]);
          for (const answer of answers.slice(BURST)) expectError(answer, ErrorCode.RateLimited);
          if (event === "room:send") {
            // Refused messages were neither kept nor broadcast.
            const { messages } = await ok(bobSocket, "room:history", { room });
            expect(messages).toHaveLength(BURST);
          }

          // Only the limited socket is slowed down; its connection and other requests go on.
          expect(aliceSocket.connected).toBe(true);
          expect(await request(aliceSocket, "rooms:list", {})).toMatchObject({ ok: true });
          expect(await request(bobSocket, "room:send", { room, text: "not me" })).toMatchObject({ ok: true });
        });
      }
    });
  });
}
