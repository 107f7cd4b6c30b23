import type { IncomingMessage } from "node:http";
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
  type ErrorBody,
  type InterServerEvents,
  type RequestOf,
  type ResultOf,
  type SendRequest,
  type ServerToClientEvents,
  type SocketData,
} from "../../protocol/index.js";
import { roomAllowed } from "../auth/room-access.js";
import type { TokenVerifier } from "../auth/tokens.js";
import type { NameClaims } from "../claims/claims.js";
import type { UserDelivery } from "../delivery/delivery.js";
import { CodedError } from "../errors.js";
import { missedSince, type History, type StoredMessage } from "../history/history.js";
import type { Moderation } from "../moderation/moderation.js";
import type { Presence } from "../presence/presence.js";
import type { AddressSockets } from "../limits/address-sockets.js";
import type { Limits } from "../limits/limits.js";
import type { NodeCapacity } from "../limits/node-capacity.js";
import { admission } from "./admission.js";
import type { WriteBacklog } from "../plugins/write-backlog.js";
import { Backpressure, dropConnection } from "./backpressure.js";
import { FailureLog } from "./failure-log.js";
import { directMessages } from "./direct.js";
import type { PresenceAnnouncer } from "./presence-announcer.js";
import type { Published, RoomPublisher } from "./room-publisher.js";
import { roomChannel, roomLog, userChannel } from "./rooms.js";
import { ServedSocket } from "./served-socket.js";
import { TokenExpiry } from "./token-expiry.js";
import { makeValidators } from "./validate.js";

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ServerSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface ChatOptions {
  io: ChatServer;
  /** The connections that may have bytes waiting to be written to them (the backpressure's to watch). */
  writeBacklog: WriteBacklog;
  presence: Presence;
  /** Carries DMs to the sockets of a user on whichever nodes they are. */
  userDelivery: UserDelivery;
  history: History;
  /** Stores and delivers room messages (`roomPublisherOf` the stores). */
  publisher: RoomPublisher;
  claims: NameClaims;
  /** Bans, checked at the handshake (mutes are the publisher's to check). */
  moderation: Moderation;
  /** Token mode: verifies the handshake's and `auth:refresh`'s tokens. Open mode: undefined. */
  tokens: TokenVerifier | undefined;
  /** How long DMs are held for a claimed name (as long as the claim lasts unused). */
  claimTtlMs: number;
  log: FastifyBaseLogger;
  historySize: number;
  maxMessageLength: number;
  /** The rate limits and caps, counted cluster-wide. */
  limits: Limits;
  /** This node's cap on client connections (MAX_CONNECTIONS): a full node refuses handshakes. */
  capacity: NodeCapacity;
  /** Open sockets per client address, cluster-wide. */
  addressSockets: AddressSockets;
  /** The client's address of a request, behind trusted proxies the one they forwarded for. */
  addressOf: (req: IncomingMessage) => string;
  /**
   * Resolves once this node receives broadcasts to the rooms a socket just joined. Reading history
   * only after that means no message falls between the history and the live stream.
   */
  subscribed: (room: string) => Promise<void>;
  /** Whether the backing stores answer; a failure while they do not is reported `unavailable`. */
  storesUp: () => boolean;
  /** Sees every client event first, as `[event, ...args]`, and may replace its ack (metrics). */
  onClientEvent?: (packet: unknown[]) => void;
  /** Tells rooms who joined and who left (shared with the seed bridge; its owner closes it). */
  announcer: PresenceAnnouncer;
}

const toChatMessage = (room: string, stored: StoredMessage): ChatMessage => ({ ...stored, room });

/** What sending to a room uses: the publisher that checks mutes, stores and delivers, and the send limit. */
export type RoomSendOptions = Pick<ChatOptions, "publisher" | "limits">;

/**
 * Makes the one room-send path, shared by Socket.IO's `room:send` and the seed bridge's text
 * frames: counts the send against the user's limit, stores the message in the room's history (so
 * it gets its id), and delivers it to the room on every node, unless `clientId` repeats an
 * earlier send. A user muted in the room is refused. The caller checks that the sender is in the
 * room.
 *
 * @returns a function resolving to the stored message; it rejects with RateLimitedError, a
 *   ModeratedError (muted), or a store failure.
 */
export function roomSender(options: RoomSendOptions) {
  const post = roomPoster(options);
  return async function sendToRoom(user: string, request: SendRequest): Promise<ChatMessage> {
    return (await post(user, request)).message;
  };
}

/**
 * `roomSender`'s path, answering also whether `clientId` repeated an earlier send (then nothing
 * was stored or broadcast, and `message` is the first one): the HTTP API tells the two apart.
 */
export function roomPoster({ publisher, limits }: RoomSendOptions) {
  return async function postToRoom(user: string, { room, text, clientId }: SendRequest): Promise<Published> {
    await limits.sends.take(user);
    // The publisher checks the mute: in cluster mode, in the script that appends.
    return publisher.publish(room, { from: user, text, clientId });
  };
}

/** A request of a socket that is gone is not served: its answer would reach no one. */
const gone = () => new CodedError(ErrorCode.Unavailable, "the connection closed");

/** How one client event is served: its validation, then its work for the socket that sent it. */
interface Handler<E extends ClientEventName> {
  parse: (payload: unknown) => RequestOf<E>;
  run: (socket: ServerSocket, served: ServedSocket, request: RequestOf<E>) => Promise<ResultOf<E>> | ResultOf<E>;
}

type Handlers = { [E in ClientEventName]: Handler<E> };

/**
 * The chat protocol: authenticates handshakes and serves every client event. All state goes
 * through `presence` and `history`, so the same code runs on one node and on a cluster.
 */
export function attachChat(options: ChatOptions): { drain(): Promise<void>; close(): void } {
  const { io, presence, history, claims, tokens, log, limits, announcer } = options;
  const validate = makeValidators(options.maxMessageLength);
  const failures = new FailureLog(log);
  const backpressure = new Backpressure(
    io,
    options.writeBacklog,
    limits.config.clientQueueBytes,
    limits.config.clientStallMs,
    log,
  );
  const { roomsPerSocket, joinMembersListed, pendingRequestsPerSocket } = limits.config;
  /** Per-socket unregistration still running. */
  const leaving = new Set<Promise<unknown>>();
  /** What each socket being served keeps; the handlers below are shared. */
  const servedSockets = new WeakMap<ServerSocket, ServedSocket>();

  const admitted = admission({ ...options, toErrorBody });
  const sendToRoom = roomSender(options);
  const direct = directMessages({ ...options, tokenMode: tokens !== undefined });

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

  const mustHaveJoined = (served: ServedSocket, room: string) => {
    if (!served.has(room)) throw new CodedError(ErrorCode.NotJoined, `join "${room}" first`);
  };

  async function leaveRoom(socket: ServerSocket, served: ServedSocket, room: string): Promise<void> {
    const { user } = served.identity;
    served.leave(room);
    await socket.leave(roomChannel(room));
    const { lastInRoom, members } = await presence.leftRoom(room, user);
    if (lastInRoom) announcer.announce({ room, user, event: "leave", members });
  }

  const handlers: Handlers = {
    "room:join": {
      parse: validate.join,
      run: (socket, served, { room, since }) =>
        served.serially(async () => {
          if (!socket.connected) throw gone();
          const { user, rooms } = served.identity;
          if (!roomAllowed(rooms, room)) {
            throw new CodedError(ErrorCode.Forbidden, `your token does not allow room "${room}"`);
          }
          if (!served.has(room)) {
            if (roomsPerSocket > 0 && served.roomCount >= roomsPerSocket) {
              throw new CodedError(ErrorCode.Forbidden, `a connection may be in ${roomsPerSocket} rooms at most`);
            }
            await limits.joins.take(user);
            const { firstInRoom, members } = await presence.joinedRoom(room, user);
            served.join(room);
            await socket.join(roomChannel(room));
            if (firstInRoom) announcer.announce({ room, user, event: "join", members });
            await options.subscribed(roomChannel(room));
          }
          const log = roomLog(room);
          const [{ members, count }, backlog] = await Promise.all([
            presence.membersOf(room, joinMembersListed),
            since === undefined
              ? history.latest(log, LIMITS.defaultHistory).then((messages) => ({ messages, complete: true }))
              : missedSince(history, log, since, options.historySize),
          ]);
          return {
            room,
            members,
            memberCount: count,
            history: backlog.messages.map((stored) => toChatMessage(room, stored)),
            recovered: since === undefined || backlog.complete,
          };
        }),
    },

    "room:leave": {
      parse: validate.leave,
      run: (socket, served, { room }) =>
        served.serially(async () => {
          mustHaveJoined(served, room);
          await leaveRoom(socket, served, room);
          return {};
        }),
    },

    "room:send": {
      parse: validate.send,
      run: async (_socket, served, request) => {
        mustHaveJoined(served, request.room);
        return { message: await sendToRoom(served.identity.user, request) };
      },
    },

    "room:history": {
      parse: validate.history,
      run: async (_socket, served, { room, before, limit = LIMITS.defaultHistory }) => {
        mustHaveJoined(served, room);
        await limits.history.take(served.identity.user);
        const log = roomLog(room);
        const stored =
          before === undefined ? await history.latest(log, limit) : await history.before(log, before, limit);
        return { messages: stored.map((message) => toChatMessage(room, message)) };
      },
    },

    "rooms:list": {
      parse: validate.rooms,
      run: async (_socket, served, { cursor, limit = LIMITS.defaultRoomsPage }) => {
        await limits.roomsList.take(served.identity.user);
        const page = await presence.listRooms({ cursor, limit });
        return page.nextCursor === undefined ? { rooms: page.rooms } : page;
      },
    },

    "dm:send": {
      parse: validate.direct,
      run: (_socket, served, request) => direct.send(served.identity, request),
    },

    "dm:sync": {
      parse: validate.directSync,
      run: async (_socket, served, { since }) => {
        const { user, proven } = served.identity;
        // A feed holds what was said to its user alone: only a connection that proved it is them reads it.
        if (!proven) {
          throw new CodedError(
            ErrorCode.Forbidden,
            "DMs are kept only for a name you proved yours: connect with its key",
          );
        }
        await limits.history.take(user);
        return direct.sync(user, since);
      },
    },

    typing: {
      parse: validate.typing,
      run: async (_socket, served, { room, typing }) => {
        const { user } = served.identity;
        mustHaveJoined(served, room);
        await limits.typing.take(user);
        io.to(roomChannel(room)).except(userChannel(user)).emit("room:typing", { room, user, typing });
        return {};
      },
    },

    "auth:refresh": {
      parse: validate.refresh,
      run: async (_socket, served, { token }) => {
        const { identity, expiry } = served;
        await limits.joins.take(identity.user);
        if (!tokens || !expiry) throw new CodedError(ErrorCode.BadRequest, "this server does not use tokens");
        const verified = await tokens.verify(token);
        const subject = checkName(verified.subject, "user");
        if (!subject.ok || subject.name !== identity.user) {
          throw new CodedError(ErrorCode.Forbidden, "the token is for another user");
        }
        identity.expiresAt = verified.expiresAt;
        identity.rooms = verified.rooms;
        expiry.renew(verified.expiresAt);
        return { expiresAt: verified.expiresAt };
      },
    },
  };

  /**
   * Validates, runs, and always answers the ack if there is one. The result type comes from the
   * protocol's event map, so a reply that drifts fails to compile. A client that piles up
   * requests, or leaves its answers unread, is dropped instead. It never rejects: every failure
   * becomes the ack's error.
   */
  async function respond<E extends ClientEventName>(
    socket: ServerSocket,
    event: E,
    payload: unknown,
    ack: unknown,
  ): Promise<void> {
    // socket.emit("rooms:list", ack) puts the ack first.
    if (typeof payload === "function" && ack === undefined) [payload, ack] = [undefined, payload];
    const reply = typeof ack === "function" ? (ack as (answer: Ack<ResultOf<E>>) => void) : undefined;
    const served = servedSockets.get(socket);
    // Work for a socket that is gone, or that reads nothing, is dropped, not done.
    if (!served || !socket.connected || backpressure.check(socket)) return;
    if (served.pending >= pendingRequestsPerSocket) {
      const { pending } = served;
      log.warn(
        { socket: socket.id, user: served.identity.user, pending },
        "dropped a client over PENDING_REQUESTS_PER_SOCKET",
      );
      dropConnection(socket.conn as unknown as Parameters<typeof dropConnection>[0]);
      return;
    }
    served.pending += 1;
    const handler: Handler<E> = handlers[event];
    let answer: Ack<ResultOf<E>>;
    try {
      answer = { ok: true, ...(await handler.run(socket, served, handler.parse(payload))) };
    } catch (error) {
      answer = { ok: false, error: toErrorBody(error, event, socket) };
    } finally {
      served.pending -= 1;
    }
    // Checked again before the answer is written: a burst of requests passed the first check
    // together, and each answer may be large.
    if (socket.connected && !backpressure.check(socket)) reply?.(answer);
  }

  const { onClientEvent: seeClientEvent } = options;
  const isClientEvent = (event: unknown): event is ClientEventName =>
    typeof event === "string" && Object.hasOwn(handlers, event);

  /**
   * The one listener of every socket for every client event (Socket.IO's `onAny`, shared): a
   * socket keeps a one-entry array for it, where a listener per event would give each socket a
   * table of them. An event nobody serves is seen (counted) and ignored; `parse` decides what a
   * client sent.
   */
  function onClientEvent(this: ServerSocket, ...packet: unknown[]): void {
    seeClientEvent?.(packet);
    const [event, payload, ack] = packet;
    if (isClientEvent(event)) void respond(this, event, payload, ack);
  }

  /** Unregisters a socket that went: its rooms, its presence, its place. */
  function unregister(socket: ServerSocket): void {
    const served = servedSockets.get(socket);
    if (!served) return;
    served.expiry?.stop();
    const { user, proven } = served.identity;
    const done = served
      .serially(async () => {
        for (const room of served.rooms()) await leaveRoom(socket, served, room);
        await presence.userDisconnected(user);
        // A name stays claimed for a full period after its last connection.
        if (proven) await claims.touch(user);
      })
      .finally(() => admitted.left(served))
      .catch((error: unknown) => log.warn({ err: error, socket: socket.id }, "could not unregister the connection"))
      .finally(() => leaving.delete(done));
    leaving.add(done);
  }

  function onDisconnect(this: ServerSocket): void {
    unregister(this);
  }

  presence.onRemoteLeave((leave) => announcer.announce(leave));

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
    /** Stops the background work; the sockets are closed by then. */
    close() {
      backpressure.stop();
      failures.flush();
    },
  };

  function toErrorBody(error: unknown, event: string, socket: ServerSocket): ErrorBody {
    if (error instanceof CodedError) return error.toBody();
    if (!options.storesUp()) {
      return { code: ErrorCode.Unavailable, message: "the chat store is unavailable, try again" };
    }
    failures.report(error, { event, socket: socket.id });
    return { code: ErrorCode.Internal, message: "internal error" };
  }

  /** Serves a socket admitted by the handshake: its state, the shared listeners, its held DMs. */
  function serve(socket: ServerSocket): void {
    const entry = admitted.take(socket);
    const { identity } = entry;
    const expiry = identity.expiresAt === undefined ? undefined : new TokenExpiry(socket, identity.expiresAt);
    servedSockets.set(socket, new ServedSocket(entry, expiry));
    socket.onAny(onClientEvent);
    socket.on("disconnect", onDisconnect);
    if (identity.proven) {
      deliverHeld(socket, identity.user).catch((error: unknown) =>
        log.warn({ err: error, socket: socket.id }, "could not read held DMs"),
      );
    }
  }
}
