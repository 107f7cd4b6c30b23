import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Server } from "socket.io";
import { Decoder, Encoder, type Packet } from "socket.io-parser";
import { ErrorCode } from "../../protocol/index.js";
import type { ChatServer } from "../chat/chat.js";
import { originPolicy, type OriginPolicyOptions } from "../origin.js";
import { corkWebSocketWrites, TickCork } from "./cork.js";
import { fastBroadcastWrites, type DirectWriteCount } from "./fast-broadcast.js";
import { WriteBacklog } from "./write-backlog.js";
import { releaseHandshakeRequests } from "./handshake-requests.js";
import { compactConnections } from "./compact-connections.js";

declare module "fastify" {
  interface FastifyInstance {
    io: ChatServer;
    /** The connections that may have bytes waiting to be written to them. */
    writeBacklog: WriteBacklog;
  }
}

export interface SocketIoPluginOptions {
  origins: OriginPolicyOptions;
  /** While true, new connections are refused (the node is shutting down). */
  refusing: () => boolean;
  /** Path prefixes whose WebSocket upgrades another plugin answers (the seed bridge's). */
  otherUpgradePaths?: readonly string[];
  /** Told the code of every handshake refused here, before Socket.IO sees it (metrics). */
  onRefused?: (code: ErrorCode) => void;
  /** Broadcasts skip engine.io's queue where they can (FAST_BROADCAST). */
  fastBroadcast: boolean;
  /** Counts the frames the fast path writes (metrics: the rest are counted from engine.io's "flush"). */
  directWrites?: DirectWriteCount;
}

/** Socket.IO's path, where engine.io answers upgrades. */
const SOCKET_IO_PATH = "/socket.io/";

/** Largest packet a client may send; a chat message is far smaller. */
const MAX_HTTP_BUFFER_SIZE = 64 * 1024;

/** How long a connection may stay without joining the namespace (Socket.IO's default is 45 s). */
const CONNECT_TIMEOUT_MS = 10_000;

/** The decoders' options, one object for all (the parser would copy them for each connection). */
const DECODER_OPTIONS = Object.freeze({ reviver: undefined, maxAttachments: 0 });

/** What socket.io-parser's Decoder keeps of its listeners (component-emitter's table). */
interface EmitterTable {
  _callbacks?: Record<string, unknown[]>;
}

/**
 * The protocol is JSON only: a binary packet is refused when its header arrives (the parser
 * throws, and Socket.IO closes the connection), instead of its attachments being collected.
 *
 * Every connection has one decoder, which holds one listener: Socket.IO's "decoded". It gets a
 * table of one entry, where component-emitter would grow an empty array to 17 slots; with the
 * shared options, about 200 bytes less per connection.
 */
class JsonOnlyDecoder extends Decoder {
  constructor() {
    super(DECODER_OPTIONS);
    (this as unknown as { opts: typeof DECODER_OPTIONS }).opts = DECODER_OPTIONS;
  }

  override on(event: "decoded", listener: (packet: Packet) => void): this {
    const table = this as unknown as EmitterTable;
    if (event !== "decoded" || table._callbacks !== undefined) return super.on(event, listener);
    table._callbacks = { $decoded: [listener] };
    return this;
  }
}

/**
 * Hosts Socket.IO on Fastify's HTTP server as `app.io`, with the adapter of `app.stores` and the
 * Origin check on every handshake and upgrade. On close it closes its sockets and the adapter.
 */
export const socketIoPlugin = fp(
  async (app: FastifyInstance, options: SocketIoPluginOptions) => {
    const originAllowed = originPolicy(options.origins);
    const io: ChatServer = new Server(app.server, {
      maxHttpBufferSize: MAX_HTTP_BUFFER_SIZE,
      perMessageDeflate: false,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // engine.io would end every other upgrade after a second unanswered, the seed bridge's among
      // them while it checks a client: upgrades of other paths are answered below instead.
      destroyUpgrade: false,
      parser: { Encoder, Decoder: JsonOnlyDecoder },
      // Origin and shutdown checks for a new session, on polling or a direct WebSocket handshake.
      allowRequest: (req, callback) => {
        const refused = options.refusing()
          ? ErrorCode.Unavailable
          : originAllowed(req)
            ? undefined
            : ErrorCode.Forbidden;
        if (refused === undefined) return callback(null, true);
        options.onRefused?.(refused);
        callback(refused, false);
      },
      ...(app.stores.adapter ? { adapter: app.stores.adapter } : {}),
    });
    // The same Origin check on requests of an existing session (a `sid` in the query), the
    // WebSocket upgrade among them; a new session's handshake is left to allowRequest, which
    // answers 403.
    io.engine.use((req: IncomingMessage, _res: unknown, next: (error?: Error) => void) => {
      const ownsSession = new URL(req.url ?? "/", "http://localhost").searchParams.has("sid");
      next(!ownsSession || originAllowed(req) ? undefined : new Error(ErrorCode.Forbidden));
    });

    // An upgrade nobody serves gets a 404 (engine.io no longer ends it).
    const otherPaths = options.otherUpgradePaths ?? [];
    app.server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
      const url = req.url ?? "/";
      if (url.startsWith(SOCKET_IO_PATH) || otherPaths.some((prefix) => url.startsWith(prefix))) return;
      socket.on("error", () => socket.destroy());
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });

    // After the Origin check: the last engine middleware.
    releaseHandshakeRequests(io);
    compactConnections(io);
    const writeBacklog = new WriteBacklog();
    const tickCork = new TickCork(writeBacklog);
    corkWebSocketWrites(io, tickCork);
    if (options.fastBroadcast) fastBroadcastWrites(io, tickCork, writeBacklog, options.directWrites);
    app.decorate("io", io);
    app.decorate("writeBacklog", writeBacklog);
    app.addHook("onClose", async () => {
      await io.close();
    });
  },
  { name: "roomcast-socket-io", dependencies: ["roomcast-stores"] },
);
