import type { FastifyBaseLogger } from "fastify";
import type { ChatServer, ServerSocket } from "./chat.js";

/** The TCP socket under a WebSocket: what it has taken, and what waits in it. */
interface TcpSocket {
  readonly bytesWritten: number;
  readonly writableLength: number;
}

/** The parts of an engine.io connection that tell what is waiting to be written to it. */
interface EngineConnection {
  readyState: string;
  writeBuffer: { data?: unknown }[];
  transport: { name: string; socket?: { bufferedAmount?: number; terminate?(): void; _socket?: TcpSocket } };
  close(discard?: boolean): void;
}

/** Where a connection's writes had got when bytes were first seen waiting, or last moved on. */
interface Waiting {
  progress: number;
  since: number;
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
 *
 * What "written" means: on a WebSocket, the bytes its TCP socket has handed to the kernel (the
 * broadcast fast path writes there directly, past engine.io); on long-polling, engine.io handing
 * its queue to a poll. Only connections with bytes waiting are tracked.
 */
export class Backpressure {
  /** When engine.io last handed a polling connection's queue to a poll. */
  private readonly lastFlushed = new WeakMap<EngineConnection, number>();
  /** The connections that had bytes waiting at the last scan. */
  private readonly waiting = new WeakMap<EngineConnection, Waiting>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly io: ChatServer,
    private readonly maxBytes: number,
    private readonly stallMs: number,
    private readonly log: FastifyBaseLogger,
  ) {
    io.engine.on("flush", (connection: EngineConnection) => {
      if (connection.transport.name !== "websocket") this.lastFlushed.set(connection, Date.now());
    });
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
        this.waiting.delete(connection);
        continue;
      }
      if (this.overCap(socket, bytes)) continue;
      const progress = writtenSoFar(connection, this.lastFlushed);
      const waiting = this.waiting.get(connection);
      if (waiting === undefined || waiting.progress !== progress)
        this.waiting.set(connection, { progress, since: now });
      else if (now - waiting.since > this.stallMs) {
        const context = { socket: socket.id, user: socket.data.user, stalledMs: now - waiting.since };
        this.drop(connection, context, "reads nothing");
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

/**
 * How far `connection`'s writes have got, as a number that changes whenever something more is
 * written: the bytes its WebSocket's TCP socket has handed to the kernel (what it was given, less
 * what still waits in it), or when engine.io last handed a poll the queue.
 */
function writtenSoFar(connection: EngineConnection, lastFlushed: WeakMap<EngineConnection, number>): number {
  const tcp = connection.transport.name === "websocket" ? connection.transport.socket?._socket : undefined;
  return tcp ? tcp.bytesWritten - tcp.writableLength : (lastFlushed.get(connection) ?? 0);
}
