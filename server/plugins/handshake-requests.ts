import { ServerResponse, type IncomingMessage } from "node:http";
import type { ChatServer } from "../chat/chat.js";

/**
 * Lets go of each connection's handshake request (its headers, raw headers and stream state, over a
 * kilobyte) once the handshake is over, instead of keeping it as long as the connection:
 *
 * - engine.io answers a WebSocket upgrade through a stand-in response that holds the request and
 *   lives until the TCP socket closes; only engine middlewares use its request, so it lets go of
 *   it once they ran (register this after every other engine middleware);
 * - the engine connection keeps the request for `socket.request`, and the handshake its headers:
 *   the Socket.IO middlewares (admission) read them, nothing after does (Socket.IO's memory advice).
 */
export function releaseHandshakeRequests(io: ChatServer): void {
  io.engine.use((_req: IncomingMessage, res: unknown, next: (error?: Error) => void) => {
    next();
    if (!(res instanceof ServerResponse)) (res as { req?: IncomingMessage }).req = undefined;
  });
  io.on("connection", (socket) => {
    (socket.conn as { request?: IncomingMessage }).request = undefined;
    socket.handshake.headers = {};
  });
}
