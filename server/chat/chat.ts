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
import { CodedError } from "../errors.js";
import { missedSince, type History, type StoredMessage } from "../history/history.js";
import type { Moderation } from "../moderation/moderation.js";
import { mutedError } from "../moderation/refusals.js";
import type { Presence } from "../presence/presence.js";
import type { AddressSockets } from "../limits/address-sockets.js";
import type { Limits } from "../limits/limits.js";
import type { NodeCapacity } from "../limits/node-capacity.js";
import { admission } from "./admission.js";
import { Backpressure, dropConnection } from "./backpressure.js";
import { FailureLog } from "./failure-log.js";
import { directMessages } from "./direct.js";
import type { Published, RoomPublisher } from "./room-publisher.js";
import { roomChannel, roomLog, userChannel } from "./rooms.js";
import { TokenExpiry } from "./token-expiry.js";
import { makeValidators } from "./validate.js";

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ServerSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface ChatOptions {
  io: ChatServer;
  presence: Presence;
  history: History;
  /** Stores and delivers room messages (`roomPublisherOf` the stores). */
  publisher: RoomPublisher;
  claims: NameClaims;
  /** Bans (checked at the handshake) and mutes (checked on every room send). */
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
}

const toChatMessage = (room: string, stored: StoredMessage): ChatMessage => ({ ...stored, room });

/** What sending to a room uses: the publisher that stores and delivers, the send limit, and the mutes. */
export type RoomSendOptions = Pick<ChatOptions, "publisher" | "limits" | "moderation">;

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
export function roomPoster({ publisher, limits, moderation }: RoomSendOptions) {
  return async function postToRoom(user: string, { room, text, clientId }: SendRequest): Promise<Published> {
    // Both at once: the mute costs no extra round trip on the way of a message.
    const [, mutedUntil] = await Promise.all([limits.sends.take(user), moderation.mutedUntil(room, user)]);
    if (mutedUntil !== undefined) throw mutedError(room, mutedUntil);
    return publisher.publish(room, { from: user, text, clientId });
  };
}

/** A request of a socket that is gone is not served: its answer would reach no one. */
const gone = () => new CodedError(ErrorCode.Unavailable, "the connection closed");

/**
 * The chat protocol: authenticates handshakes and serves every client event. All state goes
 * through `presence` and `history`, so the same code runs on one node and on a cluster.
 */
export function attachChat(options: ChatOptions): { drain(): Promise<void>; close(): void } {
  const { io, presence, history, claims, tokens, log, limits } = options;
  const validate = makeValidators(options.maxMessageLength);
  const failures = new FailureLog(log);
  const backpressure = new Backpressure(io, limits.config.clientQueueBytes, limits.config.clientStallMs, log);
  /** Per-socket unregistration still running. */
  const leaving = new Set<Promise<unknown>>();

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

  function serve(socket: ServerSocket): void {
    const user = socket.data.user;
    const entry = admitted.take(socket);
    const { identity } = entry;
    const expiry = identity.expiresAt === undefined ? undefined : new TokenExpiry(socket, identity.expiresAt);
    const joined = new Set<string>();
    const { roomsPerSocket, joinMembersListed, pendingRequestsPerSocket } = limits.config;
    /** Requests of this socket not answered yet. */
    let pending = 0;
    // Membership changes run one at a time per socket, so a disconnect never overtakes a join
    // and the presence counts stay exact.
    let membership: Promise<unknown> = Promise.resolve();
    const serially = <T>(work: () => Promise<T>): Promise<T> => {
      const result = membership.then(work);
      membership = result.catch(() => undefined);
      return result;
    };

    const mustHaveJoined = (room: string) => {
      if (!joined.has(room)) throw new CodedError(ErrorCode.NotJoined, `join "${room}" first`);
    };

    /**
     * Registers a handler that validates, runs, and always answers the ack if there is one. The
     * result type comes from the protocol's event map, so a reply that drifts fails to compile.
     * A client that piles up requests, or leaves its answers unread, is dropped instead.
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
        // Work for a socket that is gone, or that reads nothing, is dropped, not done.
        if (!socket.connected || backpressure.check(socket)) return;
        if (pending >= pendingRequestsPerSocket) {
          log.warn({ socket: socket.id, user, pending }, "dropped a client over PENDING_REQUESTS_PER_SOCKET");
          dropConnection(socket.conn as unknown as Parameters<typeof dropConnection>[0]);
          return;
        }
        pending += 1;
        let answer: Ack<ResultOf<E>>;
        try {
          answer = { ok: true, ...(await run(parse(payload))) };
        } catch (error) {
          answer = { ok: false, error: toErrorBody(error, event, socket) };
        } finally {
          pending -= 1;
        }
        // Checked again before the answer is written: a burst of requests passed the first check
        // together, and each answer may be large.
        if (socket.connected && !backpressure.check(socket)) reply?.(answer);
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
        if (!socket.connected) throw gone();
        if (!roomAllowed(identity.rooms, room)) {
          throw new CodedError(ErrorCode.Forbidden, `your token does not allow room "${room}"`);
        }
        if (!joined.has(room)) {
          if (roomsPerSocket > 0 && joined.size >= roomsPerSocket) {
            throw new CodedError(ErrorCode.Forbidden, `a connection may be in ${roomsPerSocket} rooms at most`);
          }
          await limits.joins.take(user);
          const { firstInRoom, members } = await presence.joinedRoom(room, user);
          joined.add(room);
          await socket.join(roomChannel(room));
          if (firstInRoom) {
            io.to(roomChannel(room)).emit("room:presence", { room, user, event: "join", members });
          }
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

    handle("room:send", validate.send, async (request) => {
      mustHaveJoined(request.room);
      return { message: await sendToRoom(user, request) };
    });

    handle("room:history", validate.history, async ({ room, before, limit = LIMITS.defaultHistory }) => {
      mustHaveJoined(room);
      await limits.history.take(user);
      const log = roomLog(room);
      const stored = before === undefined ? await history.latest(log, limit) : await history.before(log, before, limit);
      return { messages: stored.map((message) => toChatMessage(room, message)) };
    });

    handle("rooms:list", validate.rooms, async ({ cursor, limit = LIMITS.defaultRoomsPage }) => {
      await limits.roomsList.take(user);
      const page = await presence.listRooms({ cursor, limit });
      return page.nextCursor === undefined ? { rooms: page.rooms } : page;
    });

    handle("dm:send", validate.direct, (request) => direct.send(identity, request));

    handle("dm:sync", validate.directSync, async ({ since }) => {
      // A feed holds what was said to its user alone: only a connection that proved it is them reads it.
      if (!identity.proven) {
        throw new CodedError(
          ErrorCode.Forbidden,
          "DMs are kept only for a name you proved yours: connect with its key",
        );
      }
      await limits.history.take(user);
      return direct.sync(user, since);
    });

    handle("typing", validate.typing, async ({ room, typing }) => {
      mustHaveJoined(room);
      await limits.typing.take(user);
      io.to(roomChannel(room)).except(userChannel(user)).emit("room:typing", { room, user, typing });
      return {};
    });

    handle("auth:refresh", validate.refresh, async ({ token }) => {
      await limits.joins.take(user);
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
        .finally(() => admitted.left(entry))
        .catch((error) => log.warn({ err: error, socket: socket.id }, "could not unregister the connection"))
        .finally(() => leaving.delete(done));
      leaving.add(done);
    });
  }
}
