import type { IncomingMessage } from "node:http";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Server } from "socket.io";
import { ErrorCode } from "../../protocol/index.js";
import type { ChatServer } from "../chat/chat.js";
import { originPolicy } from "../origin.js";
import { corkWebSocketWrites } from "./cork.js";

declare module "fastify" {
  interface FastifyInstance {
    io: ChatServer;
  }
}

export interface SocketIoPluginOptions {
  allowedOrigins: readonly string[];
  /** While true, new connections are refused (the node is shutting down). */
  refusing: () => boolean;
}

/** Largest packet a client may send; a chat message is far smaller. */
const MAX_HTTP_BUFFER_SIZE = 64 * 1024;

/**
 * Hosts Socket.IO on Fastify's HTTP server as `app.io`, with the adapter of `app.stores` and the
 * Origin check on every handshake and upgrade. On close it closes its sockets and the adapter.
 */
export const socketIoPlugin = fp(
  async (app: FastifyInstance, options: SocketIoPluginOptions) => {
    const originAllowed = originPolicy(options.allowedOrigins);
    const io: ChatServer = new Server(app.server, {
      maxHttpBufferSize: MAX_HTTP_BUFFER_SIZE,
      perMessageDeflate: false,
      // Origin and shutdown checks for a new session, on polling or a direct WebSocket handshake.
      allowRequest: (req, callback) => {
        if (options.refusing()) return callback(ErrorCode.Unavailable, false);
        if (!originAllowed(req)) return callback(ErrorCode.Forbidden, false);
        callback(null, true);
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

    corkWebSocketWrites(io);
    app.decorate("io", io);
    app.addHook("onClose", async () => {
      await io.close();
    });
  },
  { name: "roomcast-socket-io", dependencies: ["roomcast-stores"] },
);
