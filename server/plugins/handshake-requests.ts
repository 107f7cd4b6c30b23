import { ServerResponse, type IncomingMessage } from "node:http";
import type { ChatServer, ServerSocket } from "../chat/chat.js";

type Handshake = ServerSocket["handshake"];
type Listener = (...args: unknown[]) => void;

/** What engine.io's stand-in response to a WebSocket upgrade holds (build/server.js, WebSocketResponse). */
interface UpgradeResponse {
  req?: IncomingMessage;
  socket?: {
    listeners(event: "close"): ((...args: unknown[]) => void)[];
    off(event: "close", listener: () => void): void;
  };
}

/** The engine connection's parts used here. */
interface EngineConnection {
  request?: IncomingMessage;
  transport: {
    name: string;
    socket?: { listeners(event: "error"): Listener[]; off(event: "error", listener: Listener): void };
  };
}

/**
 * Every served socket's `handshake`: its fields are read by the admission only, before the socket
 * is served, and the one object shared by every socket costs none of them anything.
 */
const SERVED_HANDSHAKE: Handshake = Object.freeze({
  headers: Object.freeze({}),
  time: "",
  address: "",
  xdomain: false,
  secure: false,
  issued: 0,
  url: "",
  query: Object.freeze({}),
  auth: Object.freeze({}),
}) as Handshake;

/**
 * Lets go of what each connection keeps from its handshake once the handshake is over, instead of
 * keeping it as long as the connection (about 1.5 KiB of an idle connection's heap, measured with
 * heap snapshots):
 *
 * - engine.io answers a WebSocket upgrade through a stand-in response that holds the request and,
 *   through its relay of the TCP socket's "close" (for logging middlewares; roomcast has none),
 *   lives until the socket closes. Only engine middlewares use it: once they ran (register this
 *   after every other engine middleware), it lets go of the request and the relay;
 * - engine.io's listener for errors during an upgrade stays on a WebSocket opened directly,
 *   where the transport's own listener handles them;
 * - the engine connection keeps the request for `socket.request`, and Socket.IO a `handshake`
 *   (headers, query, auth, time): the Socket.IO middlewares (admission) read them, nothing after
 *   does (Socket.IO's memory advice); each served socket gets one shared stand-in instead;
 * - Socket.IO puts each socket in a room of its own id: roomcast never sends to a socket by its
 *   id (a user's sockets share their user room), so it leaves that room, and the adapter keeps
 *   one set fewer per socket.
 */
export function releaseHandshakeRequests(io: ChatServer): void {
  io.engine.use((_req: IncomingMessage, res: unknown, next: (error?: Error) => void) => {
    next();
    if (res instanceof ServerResponse) return;
    const response = res as UpgradeResponse;
    response.req = undefined;
    const relay = response.socket?.listeners("close").find((listener) => listener.toString() === CLOSE_RELAY_SOURCE);
    if (relay) response.socket!.off("close", relay);
  });
  io.engine.on("connection", (connection: EngineConnection) => {
    const websocket = connection.transport.name === "websocket" ? connection.transport.socket : undefined;
    const upgradeErrors = websocket?.listeners("error").find((listener) => listener.name === "onUpgradeError");
    if (upgradeErrors) websocket!.off("error", upgradeErrors);
  });
  io.on("connection", (socket) => {
    (socket.conn as unknown as EngineConnection).request = undefined;
    (socket as { handshake: Handshake }).handshake = SERVED_HANDSHAKE;
    void socket.leave(socket.id);
  });
}

/** The source of engine.io's relay of the TCP socket's "close" to the stand-in response. */
const CLOSE_RELAY_SOURCE = '() => this.emit("close")';
