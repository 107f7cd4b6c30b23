/**
 * Helpers of the protocol suite: fresh names, deployments, chat actions, barriers and expectations.
 *
 * No sleeps: waits are for events, with a deadline (`next`, `within`). An ack says the server did
 * the work, not that every node relayed it yet, so an expected event is awaited, never assumed.
 * To assert that something did NOT arrive, the same socket that might have caused it then sends
 * one more message of the same kind (a "barrier": one socket's requests of one kind are relayed
 * in order); once the observers got that, their recorders are final.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect } from "vitest";
import type {
  Ack,
  ChatMessage,
  DirectMessage,
  ErrorCode,
  JoinResult,
  Notice,
  RoomPresence,
  RoomTyping,
} from "../../protocol/index.js";
import { client, connected, next, ok, record, within, type TestSocket } from "../support/clients.js";
import type { Deployment, DeploymentFactory, DeploymentOptions } from "../support/deployment.js";

/** The options of `client` (socket.io-client's `io`). */
export type ClientOptions = NonNullable<Parameters<typeof client>[2]>;

/** A socket seen without the protocol's types, to send what a well-typed client cannot. */
export interface UntypedSocket {
  emit(event: string, ...args: unknown[]): void;
  timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<Ack<Record<string, unknown>>> };
}
export const untyped = (socket: TestSocket) => socket as unknown as UntypedSocket;

// ---- Names: unique per test, so that tests on one deployment never see each other ----

const RUN = randomBytes(3).toString("hex");
let counter = 0;
/** A fresh valid name (user or room) starting with `base`, unique in this run and across runs. */
export const unique = (base: string): string => `${base}-${RUN}-${++counter}`;
/** One fresh name per base (see `unique`), e.g. `const [room, alice] = names("room", "alice")`. */
export const names = <T extends string[]>(...bases: T) => bases.map(unique) as { [K in keyof T]: string };

/** `prefix` padded to exactly `length` code points with `fill`. */
export const padTo = (prefix: string, length: number, fill = "x"): string =>
  prefix + fill.repeat(length - [...prefix].length);

// ---- Deployments ----

/** The nodes of a deployment, known once its `beforeAll` has run. */
export interface Nodes {
  urls(): string[];
  /** The node of the k-th client of a test. */
  url(k: number): string;
  /** Connects one socket per user, the k-th to node k mod N. */
  connectAll<T extends string[]>(users: [...T], options?: ClientOptions): Promise<{ [K in keyof T]: TestSocket }>;
}

/** Starts a deployment before the tests of the enclosing `describe` and stops it after them. */
export function deploy(factory: DeploymentFactory, options?: DeploymentOptions): Nodes {
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

/** Joins `room`, failing the test unless the ack is ok; `since` asks for what came after it. */
export async function join(socket: TestSocket, room: string, since?: string): Promise<JoinResult> {
  return ok(socket, "room:join", since === undefined ? { room } : { room, since });
}

/** Joins every socket to `room`, one after another. */
export async function joinAll(room: string, sockets: TestSocket[]): Promise<void> {
  for (const socket of sockets) await join(socket, room);
}

/**
 * Joins `socket` to `room` and waits until `observer` hears of it. From another node the
 * presence event may come after the join's ack, so recorders start only after this.
 */
export async function joinSeen(socket: TestSocket, room: string, observer: TestSocket): Promise<RoomPresence> {
  const user = (socket.auth as { user: string }).user;
  const heard = next(observer, "room:presence", (presence) => presence.room === room && presence.user === user);
  await join(socket, room);
  return heard;
}

/** Sends `text` to `room`, failing the test unless the ack is ok; resolves with the stored message. */
export async function send(socket: TestSocket, room: string, text: string, clientId?: string): Promise<ChatMessage> {
  const answer = await ok(socket, "room:send", clientId === undefined ? { room, text } : { room, text, clientId });
  return answer.message as ChatMessage;
}

/** Sends messages "m0", "m1", ... one after another. */
export async function sendMany(socket: TestSocket, room: string, count: number): Promise<ChatMessage[]> {
  const sent: ChatMessage[] = [];
  for (let i = 0; i < count; i++) sent.push(await send(socket, room, `m${i}`));
  return sent;
}

/** Starts waiting, on every socket, for the room message with `text`. Call before sending it. */
export const arrivals = (sockets: TestSocket[], text: string) =>
  Promise.all(sockets.map((socket) => next(socket, "room:message", (message) => message.text === text)));

/**
 * Ordering barrier: `sender` says something in `room` and waits until every observer got it.
 * The room messages `sender` caused before have then reached the observers too.
 */
export async function barrier(sender: TestSocket, room: string, observers: TestSocket[]): Promise<ChatMessage> {
  const text = unique("barrier");
  const arrived = arrivals(observers, text);
  const message = await send(sender, room, text);
  await arrived;
  return message;
}

/** The same barrier through direct messages, for observers in no common room. */
export async function dmBarrier(sender: TestSocket, to: string, observers: TestSocket[]): Promise<DirectMessage> {
  const text = unique("dm-barrier");
  const arrived = Promise.all(observers.map((socket) => next(socket, "dm:message", (dm) => dm.text === text)));
  const { message } = await ok(sender, "dm:send", { to, text });
  await arrived;
  return message as DirectMessage;
}

/**
 * A DM as its conversation has it, without its place in one user's feed: the sender's and the
 * recipient's copies differ only in `feedId` and `feedPrev`.
 */
export function conversationOf(dm: DirectMessage): DirectMessage {
  const { feedId: _, feedPrev: __, ...rest } = dm;
  return rest;
}

/** What a socket received since `inbox` started recording, by event. */
export interface Inbox {
  messages: ChatMessage[];
  dms: DirectMessage[];
  presence: RoomPresence[];
  typing: RoomTyping[];
  notices: Notice[];
}

/** Records every server event a socket receives from now on. */
export const inbox = (socket: TestSocket): Inbox => ({
  messages: record(socket, "room:message"),
  dms: record(socket, "dm:message"),
  presence: record(socket, "room:presence"),
  typing: record(socket, "room:typing"),
  notices: record(socket, "notice"),
});

/** What a failed ack (and an admin error) looks like: `code`, and a message for people. */
export const failure = (code: ErrorCode) => ({ ok: false, error: { code, message: expect.stringMatching(/\S/) } });

/** Asserts that `answer` is the coded failure `code`; `label` names the case when it is not. */
export function expectError(answer: Ack<object>, code: ErrorCode, label?: string): void {
  expect(answer, label).toEqual(failure(code));
}

/** Opens a socket that must be refused, and resolves with its connect_error. */
export function refused(url: string, user: unknown, options: ClientOptions = {}): Promise<Error & { data?: unknown }> {
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
export const disconnected = (socket: TestSocket): Promise<string> =>
  within(new Promise((resolve) => socket.once("disconnect", resolve)), "a disconnect");

/** Whether `id` has the shape of a message id: `<13-digit epoch ms>-<6-digit sequence>`. */
export const isMessageId = (id: unknown) => typeof id === "string" && /^\d{13}-\d{6,}$/.test(id);

/**
 * A well-behaved pair of users chatting in their own room on the same deployment, to show that
 * whatever else happens there, they notice nothing.
 */
export async function bystanders(nodes: Nodes): Promise<{ check(): Promise<void> }> {
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

/** A short label for a value in a test name. */
export const show = (value: unknown): string => JSON.stringify(value).slice(0, 20);
