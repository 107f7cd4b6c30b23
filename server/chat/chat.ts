import type { FastifyBaseLogger } from "fastify";
import type { Server, Socket } from "socket.io";
import {
  ErrorCode,
  LIMITS,
  checkName,
  type Ack,
  type ChatMessage,
  type ClientEventName,
  type ClientToServerEvents,
  type DirectMessage,
  type ErrorBody,
  type InterServerEvents,
  type RequestOf,
  type ResultOf,
  type ServerToClientEvents,
  type SocketData,
} from "../../protocol/index.js";
import { roomAllowed } from "../auth/room-access.js";
import type { TokenVerifier } from "../auth/tokens.js";
import type { NameClaims } from "../claims/claims.js";
import { CodedError } from "../errors.js";
import type { AfterResult, History, StoredMessage } from "../history/history.js";
import type { Presence } from "../presence/presence.js";
import { TokenBucket } from "./rate-limit.js";
import { pairLog, roomChannel, roomLog, userChannel } from "./rooms.js";
import { identifier, type Identity } from "./identity.js";
import { TokenExpiry } from "./token-expiry.js";
import { makeValidators } from "./validate.js";

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ServerSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface ChatOptions {
  io: ChatServer;
  presence: Presence;
  history: History;
  claims: NameClaims;
  /** Token mode: verifies the handshake's and `auth:refresh`'s tokens. Open mode: undefined. */
  tokens: TokenVerifier | undefined;
  /** How long DMs are held for a claimed name (as long as the claim lasts unused). */
  claimTtlMs: number;
  log: FastifyBaseLogger;
  historySize: number;
  maxMessageLength: number;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /**
   * Resolves once this node receives broadcasts to the rooms a socket just joined. Reading history
   * only after that means no message falls between the history and the live stream.
   */
  subscribed: (room: string) => Promise<void>;
  /** Whether the backing stores answer; a failure while they do not is reported `unavailable`. */
  storesUp: () => boolean;
}

/** A handshake refusal: the client's `connect_error` carries `{ code, message }` in `err.data`. */
function codedError(code: ErrorCode, message: string): Error & { data: ErrorBody } {
  return Object.assign(new Error(message), { data: { code, message } });
}

const toChatMessage = (room: string, stored: StoredMessage): ChatMessage => ({ ...stored, room });

/**
 * What a client that last saw `since` missed in `log`: all of it, or when that is more than a log
 * keeps, the newest `historySize` and `complete: false`. A log may hold more than `historySize`
 * (Redis trims approximately), and answering only the oldest part as complete would hide the rest.
 */
async function missed(history: History, log: string, since: string, historySize: number): Promise<AfterResult> {
  const after = await history.after(log, since);
  if (after.messages.length <= historySize) return after;
  // Everything after `since` is the newest part of the log, so its tail is the newest messages.
  return { messages: after.messages.slice(-historySize), complete: false };
}

/**
 * The chat protocol: authenticates handshakes and serves every client event. All state goes
 * through `presence` and `history`, so the same code runs on one node and on a cluster.
 */
export function attachChat(options: ChatOptions): { drain(): Promise<void> } {
  const { io, presence, history, claims, tokens, log } = options;
  const validate = makeValidators(options.maxMessageLength);
  const identify = identifier(tokens, claims);
  /** Per-socket unregistration still running. */
  const leaving = new Set<Promise<unknown>>();

  /** Who each admitted socket is, from its handshake until it is served. */
  const identities = new WeakMap<ServerSocket, Identity>();

  /**
   * Admits a handshake: a proven or free user, subscribed to their user room, and counted online,
   * all before the client hears it is connected. From then on no DM can miss the socket, and the
   * user is online on every node.
   */
  async function admit(socket: ServerSocket): Promise<Error | undefined> {
    let identity: Identity;
    try {
      identity = await identify(socket.handshake.auth);
    } catch (error) {
      return handshakeRefusal(error, socket);
    }
    const { user } = identity;
    socket.data.user = user;
    identities.set(socket, identity);
    const channel = userChannel(user);
    if (identity.claimedNow) {
      // Until now the name was free, so every socket using it, on any node, proved nothing: it
      // must not go on receiving the owner's DMs. This socket joins the user room only after.
      io.in(channel).disconnectSockets(true);
    }
    await socket.join(channel);
    try {
      await options.subscribed(channel);
      await presence.userConnected(user);
    } catch (error) {
      await socket.leave(channel);
      return handshakeRefusal(error, socket);
    }
    if (socket.conn.readyState !== "open") {
      // The client left during the handshake: Socket.IO will not emit "connection" or "disconnect".
      await socket.leave(channel);
      await presence.userDisconnected(user).catch(() => undefined);
      return new Error("the connection closed during the handshake");
    }
    return undefined;
  }

  /** The `connect_error` of a failed handshake; a bug is logged, and its details stay here. */
  function handshakeRefusal(error: unknown, socket: ServerSocket): Error {
    const body = toErrorBody(error, "handshake", socket);
    return codedError(body.code, body.code === ErrorCode.Internal ? "the server failed, try again" : body.message);
  }

  /**
   * Sends a proven user's held DMs, each with an ack: a DM stays held until a client of the
   * user acknowledged it, so a connection that drops at once loses nothing.
   */
  async function deliverHeld(socket: ServerSocket, user: string): Promise<void> {
    for (const dm of await presence.heldFor(user)) {
      socket.emit("dm:message", dm, () => {
        presence.releaseHeld(dm).catch((error: unknown) => log.warn({ err: error }, "could not release a held DM"));
      });
    }
  }

  io.use((socket, next) => {
    void admit(socket).then(next);
  });

  presence.onRemoteLeave((leave) => io.to(roomChannel(leave.room)).emit("room:presence", leave));

  io.on("connection", (socket) => serve(socket));

  return {
    /**
     * Closes this node's sockets at the transport, so that clients reconnect (to another node),
     * and resolves once their leave events and presence updates are done.
     */
    async drain() {
      const sockets = [...io.of("/").sockets.values()];
      const closed = sockets.map((socket) => new Promise((resolve) => socket.once("disconnect", resolve)));
      // Closing the engine connection (not socket.disconnect(), which says "io server
      // disconnect" and stops the client from reconnecting) looks like a transport close.
      for (const socket of sockets) socket.conn.close();
      await Promise.all(closed);
      await Promise.allSettled([...leaving]);
    },
  };

  function toErrorBody(error: unknown, event: string, socket: ServerSocket): ErrorBody {
    if (error instanceof CodedError) return error.toBody();
    if (!options.storesUp()) {
      return { code: ErrorCode.Unavailable, message: "the chat store is unavailable, try again" };
    }
    log.error({ err: error, event, socket: socket.id }, "event handler failed");
    return { code: ErrorCode.Internal, message: "internal error" };
  }

  function serve(socket: ServerSocket): void {
    const user = socket.data.user;
    const identity = identities.get(socket) ?? { user, proven: false };
    identities.delete(socket);
    const expiry = identity.expiresAt === undefined ? undefined : new TokenExpiry(socket, identity.expiresAt);
    const joined = new Set<string>();
    const bucket = new TokenBucket(options.rateLimitPerSecond, options.rateLimitBurst);
    // Membership changes run one at a time per socket, so a disconnect never overtakes a join
    // and the presence counts stay exact.
    let membership: Promise<unknown> = Promise.resolve();
    const serially = <T>(work: () => Promise<T>): Promise<T> => {
      const result = membership.then(work);
      membership = result.catch(() => undefined);
      return result;
    };

    const limited = () => {
      if (!bucket.take()) throw new CodedError(ErrorCode.RateLimited, "slow down");
    };
    const mustHaveJoined = (room: string) => {
      if (!joined.has(room)) throw new CodedError(ErrorCode.NotJoined, `join "${room}" first`);
    };

    /**
     * Registers a handler that validates, runs, and always answers the ack if there is one. The
     * result type comes from the protocol's event map, so a reply that drifts fails to compile.
     */
    function handle<E extends ClientEventName>(
      event: E,
      parse: (payload: unknown) => RequestOf<E>,
      run: (request: RequestOf<E>) => Promise<ResultOf<E>> | ResultOf<E>,
    ): void {
      const respond = async (payload: unknown, ack?: unknown): Promise<void> => {
        // socket.emit("rooms:list", ack) puts the ack first.
        if (typeof payload === "function" && ack === undefined) [payload, ack] = [undefined, payload];
        const reply = typeof ack === "function" ? (ack as (answer: Ack<ResultOf<E>>) => void) : undefined;
        let answer: Ack<ResultOf<E>>;
        try {
          answer = { ok: true, ...(await run(parse(payload))) };
        } catch (error) {
          answer = { ok: false, error: toErrorBody(error, event, socket) };
        }
        reply?.(answer);
      };
      // Registered untyped: a client may send anything, and `parse` decides what it was. `respond`
      // never rejects: every failure becomes the ack's error.
      (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(
        event,
        (payload, ack) => void respond(payload, ack),
      );
    }

    if (identity.proven) {
      deliverHeld(socket, user).catch((error: unknown) =>
        log.warn({ err: error, socket: socket.id }, "could not read held DMs"),
      );
    }

    handle("room:join", validate.join, ({ room, since }) =>
      serially(async () => {
        if (!roomAllowed(identity.rooms, room)) {
          throw new CodedError(ErrorCode.Forbidden, `your token does not allow room "${room}"`);
        }
        if (!joined.has(room)) {
          const { firstInRoom, members } = await presence.joinedRoom(room, user);
          joined.add(room);
          await socket.join(roomChannel(room));
          if (firstInRoom) {
            io.to(roomChannel(room)).emit("room:presence", { room, user, event: "join", members });
          }
          await options.subscribed(roomChannel(room));
        }
        const log = roomLog(room);
        const [members, backlog] = await Promise.all([
          presence.membersOf(room),
          since === undefined
            ? history.latest(log, LIMITS.defaultHistory).then((messages) => ({ messages, complete: true }))
            : missed(history, log, since, options.historySize),
        ]);
        return {
          room,
          members,
          history: backlog.messages.map((stored) => toChatMessage(room, stored)),
          recovered: since === undefined || backlog.complete,
        };
      }),
    );

    handle("room:leave", validate.leave, ({ room }) =>
      serially(async () => {
        mustHaveJoined(room);
        await leaveRoom(room);
        return {};
      }),
    );

    async function leaveRoom(room: string): Promise<void> {
      joined.delete(room);
      await socket.leave(roomChannel(room));
      const { lastInRoom, members } = await presence.leftRoom(room, user);
      if (lastInRoom) io.to(roomChannel(room)).emit("room:presence", { room, user, event: "leave", members });
    }

    handle("room:send", validate.send, async ({ room, text, clientId }) => {
      limited();
      mustHaveJoined(room);
      const { message: stored, duplicate } = await history.append(roomLog(room), { from: user, text, clientId });
      const message = toChatMessage(room, stored);
      if (!duplicate) io.to(roomChannel(room)).emit("room:message", message);
      return { message };
    });

    handle("room:history", validate.history, async ({ room, before, limit = LIMITS.defaultHistory }) => {
      mustHaveJoined(room);
      const log = roomLog(room);
      const stored = before === undefined ? await history.latest(log, limit) : await history.before(log, before, limit);
      return { messages: stored.map((message) => toChatMessage(room, message)) };
    });

    handle("rooms:list", validate.rooms, async () => ({ rooms: await presence.listRooms() }));

    handle("dm:send", validate.direct, async ({ to, text, clientId }) => {
      limited();
      const { message: stored, duplicate } = await history.append(pairLog(user, to), { from: user, text, clientId });
      const message: DirectMessage = { ...stored, to };
      if (duplicate) return { message, online: (await presence.nodesOf(to)).length > 0 };
      // DMs wait only for a name that someone proved theirs: in open mode, a claimed one.
      const keepForMs = tokens !== undefined || (await claims.isClaimed(to)) ? options.claimTtlMs : undefined;
      const online = to === user || (await presence.holdUnlessOnline(message, keepForMs));
      // Separate emits: the sharded adapter routes a single-room broadcast to only the nodes
      // holding that room. A held DM goes out live too, in case the registry lags behind a
      // connected recipient (Redis lost its data); a client keeps one copy per id.
      if (to !== user) io.to(userChannel(to)).emit("dm:message", message);
      io.to(userChannel(user)).emit("dm:message", message);
      return { message, online };
    });

    handle("typing", validate.typing, ({ room, typing }) => {
      limited();
      mustHaveJoined(room);
      io.to(roomChannel(room)).except(userChannel(user)).emit("room:typing", { room, user, typing });
      return {};
    });

    handle("auth:refresh", validate.refresh, async ({ token }) => {
      limited();
      if (!tokens || !expiry) throw new CodedError(ErrorCode.BadRequest, "this server does not use tokens");
      const verified = await tokens.verify(token);
      const subject = checkName(verified.subject, "user");
      if (!subject.ok || subject.name !== user) {
        throw new CodedError(ErrorCode.Forbidden, "the token is for another user");
      }
      identity.expiresAt = verified.expiresAt;
      identity.rooms = verified.rooms;
      expiry.renew(verified.expiresAt);
      return { expiresAt: verified.expiresAt };
    });

    socket.on("disconnect", () => {
      expiry?.stop();
      const done = serially(async () => {
        for (const room of [...joined]) await leaveRoom(room);
        await presence.userDisconnected(user);
        // A name stays claimed for a full period after its last connection.
        if (identity.proven) await claims.touch(user);
      })
        .catch((error) => log.warn({ err: error, socket: socket.id }, "could not unregister the connection"))
        .finally(() => leaving.delete(done));
      leaving.add(done);
    });
  }
}
