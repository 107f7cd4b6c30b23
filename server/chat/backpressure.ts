import type { FastifyBaseLogger } from "fastify";
import type { ChatServer, ServerSocket } from "./chat.js";

/** The parts of an engine.io connection that tell what is waiting to be written to it. */
interface EngineConnection {
  readyState: string;
  writeBuffer: { data?: unknown }[];
  transport: { name: string; socket?: { bufferedAmount?: number; terminate?(): void } };
  close(discard?: boolean): void;
}

/** How often every connection's queue is looked at. */
const SCAN_INTERVAL_MS = 250;

/** Bytes waiting to be written to a connection: engine.io's queue, then `ws`'s. */
export function queuedBytes(connection: EngineConnection): number {
  let bytes = connection.transport.name === "websocket" ? (connection.transport.socket?.bufferedAmount ?? 0) : 0;
  for (const packet of connection.writeBuffer) {
    const data = packet.data;
    bytes += typeof data === "string" ? data.length : data instanceof Uint8Array ? data.byteLength : 8;
  }
  return bytes;
}

/**
 * Drops a connection now, and with it whatever was queued for it. A WebSocket is terminated
 * rather than closed: a close handshake with a peer that reads nothing would hold its buffers for
 * ws's 30 s close timeout.
 */
export function dropConnection(connection: EngineConnection): void {
  const websocket = connection.transport.name === "websocket" ? connection.transport.socket : undefined;
  connection.close(true);
  websocket?.terminate?.();
}

/**
 * Caps what a connection may have waiting to be written to it, as Centrifugo caps its client
 * queue: a client over `maxBytes`, or with bytes waiting and nothing written to it for `stallMs`,
 * is dropped with a logged reason. Its pongs prove nothing: a client can send them without
 * reading. Its client sees a transport close and may reconnect (and resume).
 */
export class Backpressure {
  /** When engine.io last handed the connection's queue to its transport: it was writable then. */
  private readonly lastWritten = new WeakMap<EngineConnection, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly io: ChatServer,
    private readonly maxBytes: number,
    private readonly stallMs: number,
    private readonly log: FastifyBaseLogger,
  ) {
    io.engine.on("flush", (connection: EngineConnection) => this.lastWritten.set(connection, Date.now()));
    this.timer = setInterval(() => this.scan(), SCAN_INTERVAL_MS);
    this.timer.unref();
  }

  /** Drops the socket's connection if it is over the cap; true when it was dropped. */
  check(socket: ServerSocket): boolean {
    return this.overCap(socket, queuedBytes(socket.conn as unknown as EngineConnection));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private scan(): void {
    const now = Date.now();
    for (const socket of this.io.of("/").sockets.values()) {
      const connection = socket.conn as unknown as EngineConnection;
      const bytes = queuedBytes(connection);
      if (bytes === 0) {
        // Nothing waits: an idle connection keeps no entry (the next wait counts from this scan at most).
        this.lastWritten.delete(connection);
        continue;
      }
      if (this.overCap(socket, bytes)) continue;
      const written = this.lastWritten.get(connection);
      if (written === undefined) this.lastWritten.set(connection, now);
      else if (now - written > this.stallMs) {
        this.drop(connection, { socket: socket.id, user: socket.data.user, stalledMs: now - written }, "reads nothing");
      }
    }
  }

  /** Drops the socket's connection when `bytes` are over the cap; true when it was dropped. */
  private overCap(socket: ServerSocket, bytes: number): boolean {
    if (bytes <= this.maxBytes) return false;
    const connection = socket.conn as unknown as EngineConnection;
    this.drop(connection, { socket: socket.id, user: socket.data.user, bytes }, "queue over CLIENT_QUEUE_BYTES");
    return true;
  }

  private drop(connection: EngineConnection, context: object, reason: string): void {
    if (connection.readyState === "closed") return;
    this.log.warn({ ...context, reason }, "dropped a client that does not keep up");
    dropConnection(connection);
  }
}
