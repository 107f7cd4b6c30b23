import type { IncomingMessage } from "node:http";
import type { FastifyBaseLogger } from "fastify";
import { ErrorCode, type ErrorBody } from "../../protocol/index.js";
import type { TokenVerifier } from "../auth/tokens.js";
import type { NameClaims } from "../claims/claims.js";
import { CodedError } from "../errors.js";
import { connectionGate } from "../limits/connection-gate.js";
import type { AddressSockets } from "../limits/address-sockets.js";
import type { Limits } from "../limits/limits.js";
import { nodeFullError, type NodeCapacity } from "../limits/node-capacity.js";
import type { Moderation } from "../moderation/moderation.js";
import { bannedError } from "../moderation/refusals.js";
import type { Presence } from "../presence/presence.js";
import type { ChatServer, ServerSocket } from "./chat.js";
import { identifier, type Identity } from "./identity.js";
import { disconnectUser } from "./disconnect-user.js";
import { userChannel } from "./rooms.js";

/** What every way in (a Socket.IO handshake, a bridge upgrade) is admitted by. */
export interface AdmissionRules {
  presence: Presence;
  claims: NameClaims;
  /** Bans: a banned user is refused, with the ban's reason and end. */
  moderation: Moderation;
  /** Token mode: verifies the client's token. Open mode: undefined. */
  tokens: TokenVerifier | undefined;
  limits: Limits;
  /** This node's cap on client connections, shared by every way in. */
  capacity: NodeCapacity;
  addressSockets: AddressSockets;
  /** The client's address, behind trusted proxies the one they forwarded for. */
  addressOf: (req: IncomingMessage) => string;
  log: FastifyBaseLogger;
}

export interface AdmissionOptions extends AdmissionRules {
  io: ChatServer;
  /** Turns a failure into the body a client gets, logging bugs. */
  toErrorBody: (error: unknown, event: string, socket: ServerSocket) => ErrorBody;
  /** Told the code of every refused handshake (metrics). */
  onHandshakeRefused?: (code: ErrorCode) => void;
}

/** A handshake refusal: the client's `connect_error` carries the error body in `err.data`. */
function refusal(body: ErrorBody): Error & { data: ErrorBody } {
  return Object.assign(new Error(body.message), { data: body });
}

/** What an admitted socket carries until it disconnects. */
export interface Admitted {
  identity: Identity;
  /** The address counted for it ("" when none was), released when it goes. */
  address: string;
}

/**
 * Admits handshakes: on a node that is not full, within the per-address limits, a proven or free
 * user under their socket cap, in their user room, and counted online, all before the client hears
 * it is connected. From then on no DM can miss the socket, and the user is online on every node.
 */
export function admission(options: AdmissionOptions) {
  const { io, presence } = options;
  const identify = identifier(options.tokens, options.claims);
  const admitted = new WeakMap<ServerSocket, Admitted>();
  const gate = connectionGate(options.limits, options.addressSockets, options.log);

  async function admit(socket: ServerSocket): Promise<Admitted> {
    const release = takePlace(socket);
    try {
      const address = await gate.enterAddress(options.addressOf(socket.request));
      try {
        const identity = await identify(socket.handshake.auth);
        const ban = await options.moderation.banOf(identity.user);
        if (ban) throw bannedError(ban);
        await join(socket, identity);
        return { identity, address };
      } catch (error) {
        await gate.leaveAddress(address);
        throw error;
      }
    } catch (error) {
      socket.conn.off("close", release);
      release();
      throw error;
    }
  }

  /**
   * Takes the socket's place on the node, given back when its engine connection closes: that is
   * when its file is freed, and the one event that follows every admitted handshake, even one
   * whose client leaves before Socket.IO serves it.
   *
   * @throws CodedError `unavailable` "node full" at MAX_CONNECTIONS (the SDK tries its next URL).
   */
  function takePlace(socket: ServerSocket): () => void {
    const release = options.capacity.enter();
    if (!release) throw nodeFullError(options.capacity.max);
    // `on`, not `once`: the connection closes once, and `release` may be called again.
    if (socket.conn.readyState === "closed") release();
    else socket.conn.on("close", release);
    return release;
  }

  async function join(socket: ServerSocket, identity: Identity): Promise<void> {
    const { user } = identity;
    socket.data.user = user;
    const channel = userChannel(user);
    if (identity.claimedNow) {
      // Until now the name was free, so every socket using it, on any node, proved nothing: it
      // must not go on receiving the owner's DMs. This socket joins the user room only after this
      // node has disconnected its own (or the claim would disconnect this very socket).
      await disconnectUser(io, user, true);
    }
    await gate.enterUser(presence, user);
    try {
      // A room of this node only: what goes to the user comes through the node's own channel.
      await socket.join(channel);
    } catch (error) {
      await socket.leave(channel);
      await presence.userDisconnected(user).catch(() => undefined);
      throw error;
    }
    if (socket.conn.readyState !== "open") {
      // The client left during the handshake: Socket.IO will not emit "connection" or "disconnect".
      await socket.leave(channel);
      await presence.userDisconnected(user).catch(() => undefined);
      throw new CodedError(ErrorCode.Unavailable, "the connection closed during the handshake");
    }
  }

  io.use((socket, next) => {
    admit(socket).then(
      (entry) => {
        admitted.set(socket, entry);
        next();
      },
      (error: unknown) => {
        const body = options.toErrorBody(error, "handshake", socket);
        options.onHandshakeRefused?.(body.code);
        next(refusal(body.code === ErrorCode.Internal ? { ...body, message: "the server failed, try again" } : body));
      },
    );
  });

  return {
    /** What the handshake found for a socket now being served; each socket is taken once. */
    take(socket: ServerSocket): Admitted {
      const entry = admitted.get(socket);
      admitted.delete(socket);
      return entry ?? { identity: { user: socket.data.user, proven: false }, address: "" };
    },
    /** A served socket went: its address counts one socket less. */
    async left(entry: Admitted): Promise<void> {
      await gate.leaveAddress(entry.address);
    },
  };
}
