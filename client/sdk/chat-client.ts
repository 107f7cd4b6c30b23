import {
  ErrorCode,
  FINAL_DISCONNECT_REASONS,
  LIMITS,
  checkName,
  parseMessageId,
  type ChatMessage,
  type DirectMessage,
  type DirectSendResult,
  type ErrorBody,
  type HandshakeAuth,
  type JoinResult,
  type MessageDeleted,
  type Notice,
  type RoomPresence,
  type RoomSummary,
  type RoomTyping,
} from "../../protocol/index.js";
import { Backoff, backoffOptions, delay, type BackoffOptions } from "./backoff.js";
import { Condition } from "./condition.js";
import { TypedEmitter } from "./emitter.js";
import { Endpoints } from "./endpoints.js";
import { ChatError, closedError, isRetryable } from "./errors.js";
import { Outbox, type PendingEntry, type Requeued } from "./outbox.js";
import { untilAnswered } from "./retry.js";
import { DirectFeed } from "./dm-feed.js";
import { RoomStream } from "./room-stream.js";
import { SeenIds } from "./seen-ids.js";
import { Credentials, type TokenSource } from "./credentials.js";
import { call, socketIo, type ChatSocket, type SocketFactory, type SocketIoOptions } from "./transport.js";

/**
 * Where the client's connection stands.
 * - `idle`: created, `connect()` not called yet.
 * - `connecting`: trying the URLs for the first time.
 * - `connected`: a connection is up (rooms are re-joined right after it comes up).
 * - `reconnecting`: the connection dropped; trying the URLs again, with backoff.
 * - `offline`: the server ended the session or refused the user; no retries until `connect()`.
 * - `closed`: `close()` was called; final.
 *
 * @example
 * client.on("state", (state) => (banner.hidden = state === "connected"));
 */
export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "offline" | "closed";

/**
 * The events of a `ChatClient` and their payloads.
 *
 * @example
 * client.on("reset", ({ room }) => notice(room, "history was reset"));
 */
export interface ChatClientEvents {
  /** The connection state changed. */
  state: ConnectionState;
  /**
   * A room message: once per id, in id order within its room, with nothing skipped. One deleted
   * by a moderator before it came has `deleted: true` and no text.
   */
  message: ChatMessage;
  /** A moderator deleted a message of a joined room: drop its text (history now answers it as deleted). */
  deleted: MessageDeleted;
  /**
   * A direct message, sent or received: once per id. For a proven user (a key, or a token) in
   * the order of their DM feed, with nothing skipped across reconnects; store `feedId` to go on
   * after it when the app restarts (`dmSince`).
   */
  dm: DirectMessage;
  /** A user's first socket joined a room, or their last left it; a large room's batches come one by one. */
  presence: RoomPresence;
  typing: RoomTyping;
  notice: Notice;
  /**
   * The room's log no longer reaches back to the last message delivered (a long absence), or a
   * gap could not be filled: some messages were lost. Delivery goes on from what the log holds.
   */
  reset: { room: string };
  /**
   * The DM feed no longer reaches back to the last DM delivered (a long absence), or a gap could
   * not be filled: some DMs were lost. Delivery goes on from what the feed holds.
   */
  dmReset: { since: string | undefined };
  /** Something failed for good outside a promise the app holds, or a send was given up. */
  error: ChatError;
  /** The outbox changed: the messages not yet acknowledged. */
  pending: readonly PendingEntry[];
}

export interface ChatClientOptions {
  /**
   * The server, or every node of the cluster: a URL, a comma-separated list, or an array. The
   * client moves to the next one whenever a connection fails or drops.
   *
   * @example
   * urls: ["http://node-1:3000", "http://node-2:3000"]
   */
  urls: string | readonly string[];
  /**
   * The user name to connect as (the handshake's `auth.user`). Required in open mode; in token
   * mode the server takes the user from the token's `sub`, and this may be left out.
   *
   * @example
   * user: "echo-bot"
   */
  user?: string;
  /**
   * Open mode: the key that claims `user` on first use and proves it afterwards (16 to 256
   * characters; keep it secret and keep it stable). Without a key, a name that someone claimed
   * is refused, and DMs sent while the client is offline are not kept for it.
   *
   * @example
   * key: process.env.BOT_KEY
   */
  key?: string;
  /**
   * Token mode: a JWT from the host application, or a function that fetches a fresh one. A
   * function is called for every connection, and again before the token expires, so that the
   * connection is refreshed without dropping (`auth:refresh`).
   *
   * @example
   * token: async () => (await fetch("/chat-token")).text()
   */
  token?: TokenSource;
  /**
   * Extra socket.io-client options for every connection. `reconnection`, `forceNew` and the
   * `auth` credentials (`user`, `key`, `token`) are the SDK's own and are overridden.
   *
   * @default { transports: ["websocket"], timeout: 10000 }
   * @example
   * socketOptions: { transports: ["websocket", "polling"], tryAllTransports: true }
   */
  socketOptions?: SocketIoOptions;
  /**
   * Backoff of reconnects and of retried requests.
   *
   * @default DEFAULT_BACKOFF
   * @example
   * backoff: { initialMs: 100, maxMs: 5000 }
   */
  backoff?: Partial<BackoffOptions>;
  /**
   * Opens one connection; tests may count, hold or fake connections with it.
   *
   * @default socket.io-client's `io`
   * @example
   * io: (url, options) => io(url, { ...options, path: "/chat/socket.io" })
   */
  io?: SocketFactory;
  /**
   * How long one request waits for its ack before it is retried.
   *
   * @default 10000
   * @example
   * ackTimeoutMs: 5000
   */
  ackTimeoutMs?: number;
  /**
   * How long a message that arrived ahead of a missing one waits for it before the client
   * fetches the gap from the room's log (messages from different nodes may cross on the way).
   *
   * @default 200
   * @example
   * gapWaitMs: 0 // fetch at once
   */
  gapWaitMs?: number;
  /**
   * The `feedId` of the last DM the app handled in an earlier run: the client delivers the DMs
   * after it (every one the feed still holds). Without it, the first connection delivers the
   * newest DMs (`LIMITS.defaultHistory`), as a first join delivers a room's newest messages.
   * Only a proven user (a key, or a token) has a feed.
   *
   * @example
   * dmSince: await store.get("last-dm-feed-id")
   */
  dmSince?: string;
}

/**
 * Options of `ChatClient.send` and `ChatClient.dm`.
 *
 * @example
 * // A page that kept its unsent messages across a reload sends them again as they were:
 * await client.send(saved.room, saved.text, { clientId: saved.clientId, queuedAt: saved.queuedAt });
 */
export interface SendOptions {
  /**
   * The `clientId` of a message queued before (by an earlier client, say before a page reload),
   * 1 to `LIMITS.clientId.max` characters: the server stores a `clientId` once per user and log
   * (for 24 hours), so sending it again cannot make a duplicate. Without it, a fresh one.
   */
  clientId?: string;
  /** When the message was first queued, epoch ms. @default Date.now() */
  queuedAt?: number;
}

/** The `Requeued` identity of `options`, or undefined for a fresh message; a bad `clientId` throws. */
function requeuedOf(options: SendOptions): Requeued | undefined {
  const { clientId, queuedAt } = options;
  if (clientId === undefined) return undefined;
  if (clientId.length < LIMITS.clientId.min || clientId.length > LIMITS.clientId.max) {
    throw new ChatError(
      ErrorCode.BadRequest,
      `a clientId has ${LIMITS.clientId.min} to ${LIMITS.clientId.max} characters`,
    );
  }
  return { clientId, queuedAt: queuedAt ?? Date.now() };
}

/**
 * Options of `ChatClient.history`.
 *
 * @example
 * await client.history("lobby", { before: oldest.id, limit: 100 });
 */
export interface HistoryOptions {
  /** Only messages older than this id; without it, the newest. */
  before?: string;
  /** 1 to `LIMITS.maxHistoryPage`. @default LIMITS.defaultHistory */
  limit?: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  settled: boolean;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A promise to settle later. Its rejection counts as handled: whoever awaits it still sees it. */
function deferred<T>(): Deferred<T> {
  const result = { settled: false } as Deferred<T>;
  result.promise = new Promise<T>((resolve, reject) => {
    result.resolve = (value) => {
      result.settled = true;
      resolve(value);
    };
    result.reject = (error) => {
      result.settled = true;
      reject(error);
    };
  });
  result.promise.catch(() => {});
  return result;
}

/** A remembered room. */
interface Room {
  readonly name: string;
  readonly stream: RoomStream;
  members: Set<string>;
  /** The connection that answered the latest join. */
  joinedOn?: ChatSocket;
  /** The latest join answer was a full page: more may follow it. */
  more: boolean;
  /** Settles with the first join answer. */
  readonly joined: Deferred<JoinResult>;
  /** Aborted when the room is left or the client closed. */
  readonly abort: AbortController;
  syncing: boolean;
  gapTimer?: ReturnType<typeof setTimeout>;
}

/** How one connection attempt ended. */
type SessionEnd =
  /** Refused or unreachable; `retryAfterMs` when the server said how long to wait. */
  | { kind: "failed"; retryAfterMs?: number }
  | { kind: "lost" }
  | { kind: "kicked" }
  | { kind: "denied"; error: ChatError }
  | { kind: "closed" };

const FINAL_REASONS: ReadonlySet<string> = new Set(FINAL_DISCONNECT_REASONS);

/** Normalizes a room or user name as the server does, or throws a `bad_request` ChatError. */
function nameOf(value: string, kind: "room" | "user"): string {
  const check = checkName(value, kind);
  if (!check.ok) throw new ChatError(ErrorCode.BadRequest, check.reason);
  return check.name;
}

/**
 * A chat client with the delivery promise of the protocol: every acknowledged message reaches
 * it once, in id order per room, across dropped connections and node failures.
 *
 * - It reconnects by itself, moving round the given URLs, with exponential backoff and jitter.
 *   A server kick (`io server disconnect`) is final: the state becomes `offline`.
 * - It remembers the rooms joined and re-joins each with `since` = the last id delivered on
 *   every reconnect, delivering the backlog without duplicates (`reset` when the log no longer
 *   reaches back that far).
 * - A proven user's DMs (a key, or a token) are kept the same way, through their DM feed
 *   (`dm:sync` after the last `feedId` delivered; `dmReset` past the feed's window).
 * - Sends go through an outbox: sent in order, with a `clientId`, retried until acknowledged.
 *
 * Requests made while disconnected wait for the connection; they reject only with a `ChatError`
 * that retrying cannot fix, or with code `closed` after `close()`.
 *
 * @example
 * const client = new ChatClient({ urls: "http://localhost:3000", user: "alice" });
 * client.on("message", (m) => console.log(`${m.from}: ${m.text}`));
 * await client.connect();
 * await client.join("lobby");
 * await client.send("lobby", "hello");
 */
export class ChatClient extends TypedEmitter<ChatClientEvents> {
  /**
   * The user this client connects as (in token mode, the `sub` of its latest token).
   *
   * @example
   * client.user // "alice"
   */
  get user(): string {
    return this.#credentials.user;
  }

  readonly #credentials: Credentials;

  readonly #endpoints: Endpoints;
  readonly #io: SocketFactory;
  readonly #socketOptions: SocketIoOptions;
  readonly #backoff: BackoffOptions;
  readonly #ackTimeoutMs: number;
  readonly #gapWaitMs: number;
  readonly #closing = new AbortController();
  /** Notified whenever the connection or a room's join changes. */
  readonly #changed = new Condition();
  readonly #rooms = new Map<string, Room>();
  readonly #dms = new SeenIds();
  readonly #dmFeed: DirectFeed;
  readonly #outbox: Outbox<ChatSocket>;
  #state: ConnectionState = "idle";
  /** The connected socket, if any. */
  #socket: ChatSocket | undefined;
  /** Settles with the next connection (what `connect()` returns). */
  #connected: Deferred<void> | undefined;
  /** The connection loop, while it runs. */
  #running: Promise<void> | undefined;
  #everConnected = false;

  /**
   * Creates a client; nothing happens until `connect()`.
   *
   * @throws TypeError when `urls` holds no URL; RangeError for bad backoff values; ChatError
   *   `bad_request` without a user or token, or with a key of the wrong length.
   * @example
   * const client = new ChatClient({ urls: ["http://a:3000", "http://b:3000"], user: "bot" });
   */
  constructor(options: ChatClientOptions) {
    super();
    this.#credentials = new Credentials(options);
    this.#endpoints = new Endpoints(options.urls);
    this.#io = options.io ?? socketIo;
    this.#socketOptions = options.socketOptions ?? {};
    this.#backoff = backoffOptions(options.backoff);
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.#gapWaitMs = options.gapWaitMs ?? 200;
    if (options.dmSince !== undefined && parseMessageId(options.dmSince) === undefined) {
      throw new ChatError(ErrorCode.BadRequest, "dmSince must be the feedId of a DM");
    }
    this.#dmFeed = new DirectFeed({
      since: options.dmSince,
      current: () => this.#socket,
      whenConnected: (signal) => this.#whenConnected(signal),
      ackTimeoutMs: this.#ackTimeoutMs,
      backoff: this.#backoff,
      gapWaitMs: this.#gapWaitMs,
      signal: this.#closing.signal,
      deliver: (dm) => this.#deliverDirect(dm),
      reset: (since) => this.emit("dmReset", { since }),
      // An unproven name keeps no feed: live DMs only, as documented for a client without a key.
      refused: () => {},
      failed: (error) => this.emit("error", error),
    });
    this.#outbox = new Outbox<ChatSocket>({
      ready: (entry) =>
        entry.kind === "room"
          ? this.#whenRoomReady(entry.room, this.#closing.signal)
          : this.#whenConnected(this.#closing.signal),
      transmit: (entry, socket) =>
        entry.kind === "room"
          ? call(
              socket,
              "room:send",
              { room: entry.room, text: entry.text, clientId: entry.clientId },
              this.#ackTimeoutMs,
            )
          : call(socket, "dm:send", { to: entry.to, text: entry.text, clientId: entry.clientId }, this.#ackTimeoutMs),
      backoff: this.#backoff,
      signal: this.#closing.signal,
      onChange: (pending) => this.emit("pending", pending),
    });
  }

  /**
   * The connection state; every change is also a `state` event.
   *
   * @example
   * if (client.state !== "connected") showBanner(client.state);
   */
  get state(): ConnectionState {
    return this.#state;
  }

  /**
   * The messages sent but not yet acknowledged, oldest first (a snapshot; see the `pending`
   * event for changes).
   *
   * @example
   * for (const entry of client.pending) markPending(entry.clientId, entry.text);
   */
  get pending(): readonly PendingEntry[] {
    return this.#outbox.pending;
  }

  /**
   * Connects, and keeps reconnecting from then on. Resolves on the first connection. Rejects
   * with the `ChatError` of a refusal that retrying cannot fix (e.g. code `unauthorized`), or
   * with code `closed`. Called again while `offline`, it starts over.
   *
   * @example
   * try {
   *   await client.connect();
   * } catch (error) {
   *   if (error instanceof ChatError && error.code === "unauthorized") askForAnotherName();
   * }
   */
  connect(): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.reject(closedError());
    if (this.#state === "connected") return Promise.resolve();
    this.#connected ??= deferred<void>();
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#connected.promise;
  }

  /**
   * Joins a room and remembers it: it is re-joined after every reconnect, and its messages
   * come as `message` events. The answer's `history` (the newest messages, oldest first) is
   * delivered as `message` events too, before this resolves, so render from the events alone.
   * Joining a room already joined returns the first answer.
   *
   * @example
   * client.on("message", render);
   * const { members } = await client.join("lobby");
   */
  async join(room: string): Promise<JoinResult> {
    const name = nameOf(room, "room");
    const known = this.#rooms.get(name);
    if (known) return known.joined.promise;
    if (this.#closing.signal.aborted) throw closedError();
    const state: Room = {
      name,
      stream: new RoomStream(),
      members: new Set(),
      more: false,
      joined: deferred<JoinResult>(),
      abort: new AbortController(),
      syncing: false,
    };
    this.#rooms.set(name, state);
    this.#sync(state);
    return state.joined.promise;
  }

  /**
   * Leaves a room and forgets it. Rejects with code `not_joined` when it was not joined.
   *
   * @example
   * await client.leave("lobby");
   */
  async leave(room: string): Promise<void> {
    const name = nameOf(room, "room");
    const state = this.#rooms.get(name);
    if (!state) throw new ChatError(ErrorCode.NotJoined, `"${name}" was not joined`);
    this.#forget(state, new ChatError(ErrorCode.NotJoined, `left "${name}"`));
    const socket = this.#socket;
    // Without a connection there is nothing to leave: the server forgot the socket's rooms.
    if (!socket) return;
    const gone = new Error("the connection that joined the room is gone");
    try {
      await untilAnswered({
        ready: async () => {
          if (this.#socket !== socket) throw gone;
          return socket;
        },
        attempt: (current) => call(current, "room:leave", { room: name }, this.#ackTimeoutMs),
        backoff: this.#backoff,
        signal: this.#closing.signal,
      });
    } catch (error) {
      if (error === gone || (error instanceof ChatError && error.code === ErrorCode.NotJoined)) return;
      throw error;
    }
  }

  /**
   * Sends a message to a joined room through the outbox: queued in order, retried until
   * acknowledged (across reconnects, with the same `clientId`, so it is stored once). Resolves
   * with the stored message, which also comes as a `message` event. `options.clientId` sends
   * again a message queued before (see `SendOptions`). Rejects only with a
   * `ChatError` that retrying cannot fix (`too_long`, `not_joined`, ...), also emitted as `error`.
   *
   * @example
   * const message = await client.send("lobby", "hello");
   * console.log(message.id);
   */
  async send(room: string, text: string, options: SendOptions = {}): Promise<ChatMessage> {
    const name = nameOf(room, "room");
    const requeued = requeuedOf(options);
    const { message } = await this.#reported(this.#outbox.add({ kind: "room", room: name, text }, requeued));
    // The ack carries the message: delivered here should its broadcast have been lost.
    this.#onRoomMessage(message);
    return message;
  }

  /**
   * Sends a direct message, with the outbox's guarantees (see `send`). Resolves with the
   * message and whether the recipient was online (if not, it waits in their inbox).
   * `options.clientId` sends again a DM queued before (see `SendOptions`).
   *
   * @example
   * const { online } = await client.dm("bob", "lunch?");
   */
  async dm(user: string, text: string, options: SendOptions = {}): Promise<DirectSendResult> {
    const to = nameOf(user, "user");
    const requeued = requeuedOf(options);
    const result = await this.#reported(this.#outbox.add({ kind: "dm", to, text }, requeued));
    this.#onDirectMessage(result.message);
    return result;
  }

  /**
   * A page of a joined room's history, oldest first; not delivered as events.
   *
   * @example
   * const older = await client.history("lobby", { before: oldestShown.id, limit: 50 });
   */
  async history(room: string, options: HistoryOptions = {}): Promise<ChatMessage[]> {
    const name = nameOf(room, "room");
    const request = { room: name, ...options };
    const answer = await untilAnswered({
      ready: () => this.#whenRoomReady(name, this.#closing.signal),
      attempt: (socket) => call(socket, "room:history", request, this.#ackTimeoutMs),
      backoff: this.#backoff,
      signal: this.#closing.signal,
    });
    return answer.messages;
  }

  /**
   * The rooms with members, cluster-wide, sorted by name.
   *
   * @example
   * for (const { room, members } of await client.rooms()) console.log(room, members);
   */
  async rooms(): Promise<RoomSummary[]> {
    const answer = await untilAnswered({
      ready: () => this.#whenConnected(this.#closing.signal),
      attempt: (socket) => call(socket, "rooms:list", {}, this.#ackTimeoutMs),
      backoff: this.#backoff,
      signal: this.#closing.signal,
    });
    return answer.rooms;
  }

  /**
   * Says whether the user is typing in a room. Fire-and-forget: dropped while disconnected.
   *
   * @example
   * input.addEventListener("input", () => client.typing("lobby", input.value !== ""));
   */
  typing(room: string, typing: boolean): void {
    const check = checkName(room, "room");
    if (!check.ok || !this.#socket) return;
    this.#socket.emit("typing", { room: check.name, typing }, () => {});
  }

  /**
   * The members of a joined room as this client knows them (from the join answer and presence
   * events since), sorted; empty for a room not joined.
   *
   * @example
   * client.on("presence", ({ room }) => showMembers(client.members(room)));
   */
  members(room: string): string[] {
    const check = checkName(room, "room");
    const state = check.ok ? this.#rooms.get(check.name) : undefined;
    return state ? [...state.members].sort() : [];
  }

  /**
   * Disconnects for good. Everything still waiting (connect, joins, the outbox) rejects with
   * code `closed`.
   *
   * @example
   * process.once("SIGINT", () => void client.close());
   */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const error = closedError();
    this.#setState("closed");
    for (const room of [...this.#rooms.values()]) this.#forget(room, error);
    this.#connected?.reject(error);
    this.#connected = undefined;
    this.#closing.abort(error);
    this.#dmFeed.stop();
    this.#socket = undefined;
    this.#changed.notify();
    await this.#running;
  }

  // ---- Connection ----

  /** Connects, and reconnects round the URLs, until closed, kicked or refused. */
  async #run(): Promise<void> {
    const backoff = new Backoff(this.#backoff);
    try {
      for (;;) {
        this.#setState(this.#everConnected ? "reconnecting" : "connecting");
        const end = await this.#session(this.#endpoints.current);
        if (end.kind === "closed") return;
        if (end.kind === "kicked" || end.kind === "denied") {
          this.#setState("offline");
          if (end.kind === "denied") {
            this.#connected?.reject(end.error);
            this.#connected = undefined;
            this.emit("error", end.error);
          }
          // Final, unless a listener called connect() again meanwhile.
          if (!this.#connected) return;
        }
        if (end.kind !== "failed") backoff.reset();
        this.#endpoints.rotate();
        const serverWait = end.kind === "failed" ? (end.retryAfterMs ?? 0) : 0;
        await delay(Math.max(backoff.next(), serverWait), this.#closing.signal);
      }
    } catch {
      // Closed while waiting to reconnect.
    }
  }

  /** One connection to `url`, from the attempt until it fails or ends. */
  async #session(url: string): Promise<SessionEnd> {
    let credentials: HandshakeAuth;
    try {
      credentials = await this.#credentials.handshake();
    } catch (error) {
      // A token function that failed: tell the app, and try again with backoff.
      this.emit("error", error instanceof ChatError ? error : new ChatError(ErrorCode.Unauthorized, String(error)));
      return { kind: "failed" };
    }
    return new Promise<SessionEnd>((resolve) => {
      const signal = this.#closing.signal;
      if (signal.aborted) return resolve({ kind: "closed" });
      const auth = typeof this.#socketOptions.auth === "object" ? this.#socketOptions.auth : {};
      const socket = this.#io(url, {
        transports: ["websocket"],
        timeout: 10_000,
        ...this.#socketOptions,
        auth: { ...auth, ...credentials },
        reconnection: false,
        forceNew: true,
      });
      const end = (outcome: SessionEnd) => {
        signal.removeEventListener("abort", onClose);
        resolve(outcome);
      };
      const onClose = () => {
        socket.disconnect();
        end({ kind: "closed" });
      };
      signal.addEventListener("abort", onClose, { once: true });
      socket.on("connect", () => this.#onConnect(socket));
      socket.on("connect_error", (error) => {
        // Closes what the attempt opened (the Manager stays open after a middleware refusal).
        socket.disconnect();
        const body = (error as Error & { data?: Partial<ErrorBody> }).data;
        if (typeof body?.code === "string" && !isRetryable(body.code)) {
          end({ kind: "denied", error: new ChatError(body.code, body.message ?? error.message) });
        } else {
          const retryAfterMs = typeof body?.retryAfterMs === "number" ? body.retryAfterMs : undefined;
          end(retryAfterMs === undefined ? { kind: "failed" } : { kind: "failed", retryAfterMs });
        }
      });
      let tokenExpired = false;
      socket.on("auth:expired", () => (tokenExpired = true));
      socket.on("disconnect", (reason) => {
        // A server disconnect after `auth:expired` is not a kick: reconnect with a fresh token.
        const outcome: SessionEnd =
          !FINAL_REASONS.has(reason) || tokenExpired
            ? { kind: "lost" }
            : { kind: reason === "io server disconnect" ? "kicked" : "closed" };
        this.#onDisconnect(socket, outcome);
        end(outcome);
      });
      this.#listen(socket);
    });
  }

  #onConnect(socket: ChatSocket): void {
    this.#socket = socket;
    this.#everConnected = true;
    this.#setState("connected");
    this.#connected?.resolve();
    this.#connected = undefined;
    for (const room of this.#rooms.values()) this.#sync(room);
    this.#dmFeed.sync();
    this.#changed.notify();
  }

  #onDisconnect(socket: ChatSocket, outcome: SessionEnd): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    if (outcome.kind === "lost") this.#setState("reconnecting");
    if (outcome.kind === "kicked") this.#setState("offline");
    this.#changed.notify();
  }

  /** Routes the server's events of `socket`, while it is the current connection. */
  #listen(socket: ChatSocket): void {
    const live = () => this.#socket === socket;
    socket.on("room:message", (message) => live() && this.#onRoomMessage(message));
    socket.on("room:message:deleted", (deleted) => {
      if (live() && this.#rooms.has(deleted.room)) this.emit("deleted", deleted);
    });
    socket.on("dm:message", (message, received) => {
      if (!live()) return;
      this.#onDirectMessage(message);
      // A held DM asks to be acknowledged: the server keeps it until a client has it.
      received?.();
    });
    socket.on("auth:expiring", () => live() && void this.#refreshToken(socket));
    socket.on("room:presence", (presence) => live() && this.#onPresence(presence));
    // A large room's joins and leaves come in batches: each is handed out as a "presence" event.
    socket.on("room:presence:batch", ({ room, events }) => {
      for (const event of events) if (live()) this.#onPresence({ room, ...event });
    });
    socket.on("room:typing", (typing) => live() && this.emit("typing", typing));
    socket.on("notice", (notice) => live() && this.emit("notice", notice));
  }

  /** Sends a fresh token before the connection's token expires (token functions only). */
  async #refreshToken(socket: ChatSocket): Promise<void> {
    if (!this.#credentials.refreshable) return;
    try {
      const token = await this.#credentials.token();
      const answer = await call(socket, "auth:refresh", { token }, this.#ackTimeoutMs);
      if (!answer.ok) this.emit("error", new ChatError(answer.error.code, answer.error.message));
    } catch (error) {
      // The connection dropped or the function failed: the next connection fetches a token anyway.
      if (error instanceof ChatError) this.emit("error", error);
    }
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit("state", state);
  }

  #whenConnected(signal: AbortSignal): Promise<ChatSocket> {
    return this.#changed.until(() => this.#socket, signal);
  }

  /** The connection, once `room` (if remembered) has been joined on it. */
  #whenRoomReady(room: string, signal: AbortSignal): Promise<ChatSocket> {
    return this.#changed.until(() => {
      const state = this.#rooms.get(room);
      return this.#socket && (!state || state.joinedOn === this.#socket) ? this.#socket : undefined;
    }, signal);
  }

  /** Emits a rejection of the outbox as an `error` event too, unless it came from `close()`. */
  async #reported<T>(delivery: Promise<T>): Promise<T> {
    try {
      return await delivery;
    } catch (error) {
      if (error instanceof ChatError && !this.#closing.signal.aborted) this.emit("error", error);
      throw error;
    }
  }

  // ---- Rooms ----

  #forget(room: Room, reason: unknown): void {
    if (this.#rooms.get(room.name) === room) this.#rooms.delete(room.name);
    clearTimeout(room.gapTimer);
    room.abort.abort(reason);
    this.#changed.notify();
  }

  #isCurrent(room: Room): boolean {
    return this.#rooms.get(room.name) === room;
  }

  /** Joins `room` on the current connection, and fills its gaps, unless that is under way. */
  #sync(room: Room): void {
    if (room.syncing) return;
    room.syncing = true;
    clearTimeout(room.gapTimer);
    room.gapTimer = undefined;
    void this.#syncLoop(room);
  }

  /** Joins (with `since` once it has seen the room) until the room is joined and gapless. */
  async #syncLoop(room: Room): Promise<void> {
    const needsJoin = () =>
      this.#isCurrent(room) &&
      (room.joinedOn === undefined || room.joinedOn !== this.#socket || room.more || room.stream.waiting);
    try {
      while (needsJoin()) {
        let requested: string | undefined;
        let waitingFor: string | undefined;
        let socket!: ChatSocket;
        const answer = await untilAnswered({
          ready: () => this.#whenConnected(room.abort.signal),
          attempt: (current) => {
            socket = current;
            requested = room.stream.last;
            waitingFor = room.stream.earliestWaiting;
            const since = room.stream.since;
            return call(
              current,
              "room:join",
              since === undefined ? { room: room.name } : { room: room.name, since },
              this.#ackTimeoutMs,
            );
          },
          backoff: this.#backoff,
          signal: room.abort.signal,
        });
        if (!this.#isCurrent(room)) return;
        const { room: _, ok: __, ...result } = answer;
        const { messages, reset } = room.stream.load(result, requested);
        room.members = new Set(result.members);
        room.joinedOn = socket;
        // A full page may have more after it (unless it brought nothing new: no point asking again).
        room.more = result.history.length >= LIMITS.maxHistoryPage && room.stream.last !== requested;
        if (reset) this.emit("reset", { room: room.name });
        this.#emitMessages(messages);
        room.joined.resolve({ room: room.name, ...result });
        if (!room.more && room.stream.gapOutlived(waitingFor)) {
          this.emit("reset", { room: room.name });
          this.#emitMessages(room.stream.skipGap());
        }
        this.#changed.notify();
      }
    } catch (error) {
      if (this.#isCurrent(room)) {
        // A join refused for good (a bad name, a forbidden room): forget the room.
        this.#forget(room, error);
        if (room.joined.settled && error instanceof ChatError) this.emit("error", error);
      }
      room.joined.reject(error);
    } finally {
      room.syncing = false;
    }
    this.#watchGap(room);
  }

  /** Fills a gap that a late message did not close within `gapWaitMs`. */
  #watchGap(room: Room): void {
    if (!room.stream.waiting || !this.#isCurrent(room)) {
      clearTimeout(room.gapTimer);
      room.gapTimer = undefined;
      return;
    }
    if (room.gapTimer !== undefined || room.syncing) return;
    room.gapTimer = setTimeout(() => {
      room.gapTimer = undefined;
      if (room.stream.waiting && this.#isCurrent(room)) this.#sync(room);
    }, this.#gapWaitMs);
  }

  #onRoomMessage(message: ChatMessage): void {
    const room = this.#rooms.get(message.room);
    if (!room) return;
    this.#emitMessages(room.stream.receive(message));
    this.#watchGap(room);
  }

  #emitMessages(messages: readonly ChatMessage[]): void {
    for (const message of messages) this.emit("message", message);
  }

  #onPresence(presence: RoomPresence): void {
    const room = this.#rooms.get(presence.room);
    if (room && presence.event === "join") room.members.add(presence.user);
    if (room && presence.event === "leave") room.members.delete(presence.user);
    this.emit("presence", presence);
  }

  #onDirectMessage(message: DirectMessage): void {
    const { feedId } = message;
    if (feedId === undefined) this.#deliverDirect(message);
    else this.#dmFeed.receive({ ...message, feedId });
  }

  /** Emits a DM unless it was emitted before (a copy with and one without its feed place are one DM). */
  #deliverDirect(message: DirectMessage): void {
    // DM ids are unique within a conversation only.
    const [a, b] = [message.from, message.to].sort();
    if (this.#dms.add(`${a}\n${b}\n${message.id}`)) this.emit("dm", message);
  }
}
