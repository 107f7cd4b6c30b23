import type { FastifyBaseLogger } from "fastify";
import type { WriteBacklog } from "../plugins/write-backlog.js";
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

/** Whose connection was dropped, for the log. */
interface Who {
  socket?: string | undefined;
  user?: string | undefined;
}

/** Whose connection it is: `socket` may be unknown (a connection without a socket yet). */
const whoIs = (socket: ServerSocket | undefined): Who => ({ socket: socket?.id, user: socket?.data.user });

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
 * its queue to a poll.
 *
 * Only the connections in `backlog` are looked at: those whose TCP socket kept bytes after a write,
 * and every long-polling one. A scan of every connection would cost each busy node a loop stall
 * of milliseconds every interval for the few that fall behind.
 */
export class Backpressure {
  /** When engine.io last handed a polling connection's queue to a poll. */
  private readonly lastFlushed = new WeakMap<EngineConnection, number>();
  /** The connections that had bytes waiting at the last scan. */
  private readonly waiting = new WeakMap<EngineConnection, Waiting>();
  private readonly timer: NodeJS.Timeout;
  /** Connections seen over the cap at a write, to be dropped on the next turn. */
  private readonly overflowing = new Set<EngineConnection>();
  /** Its connections are engine.io's, seen through the parts read here. */
  private readonly backlog: WriteBacklog<EngineConnection>;

  constructor(
    private readonly io: ChatServer,
    backlog: WriteBacklog,
    private readonly maxBytes: number,
    private readonly stallMs: number,
    private readonly log: FastifyBaseLogger,
  ) {
    this.backlog = backlog as WriteBacklog<EngineConnection>;
    this.backlog.watchOverflow(maxBytes, (connection) => {
      // Dropped on the next turn, outside the write that overflowed.
      if (this.overflowing.size === 0) setImmediate(() => this.dropOverflowing());
      this.overflowing.add(connection);
    });
    io.engine.on("connection", (connection: EngineConnection) => {
      if (connection.transport.name !== "websocket") this.backlog.add(connection);
    });
    io.engine.on("flush", (connection: EngineConnection) => {
      if (connection.transport.name !== "websocket") this.lastFlushed.set(connection, Date.now());
    });
    this.timer = setInterval(() => this.scan(), SCAN_INTERVAL_MS);
    this.timer.unref();
  }

  /** Drops the socket's connection if it is over the cap; true when it was dropped. */
  check(socket: ServerSocket): boolean {
    const connection = socket.conn as unknown as EngineConnection;
    return this.droppedOverCap(connection, queuedBytes(connection), () => whoIs(socket));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private dropOverflowing(): void {
    const describe = this.describer();
    for (const connection of this.overflowing) {
      this.droppedOverCap(connection, queuedBytes(connection), () => describe(connection));
    }
    this.overflowing.clear();
  }

  /**
   * What the log says of a dropped connection: its socket and user. The map from connections to
   * sockets is made at the first drop, if any.
   */
  private describer(): (connection: EngineConnection) => Who {
    let socketsOf: Map<EngineConnection, ServerSocket> | undefined;
    return (connection) => {
      socketsOf ??= new Map([...this.io.of("/").sockets.values()].map((socket) => [socket.conn as never, socket]));
      return whoIs(socketsOf.get(connection));
    };
  }

  private scan(): void {
    const now = Date.now();
    const describe = this.describer();
    for (const connection of this.backlog) {
      if (connection.readyState === "closed") {
        this.backlog.forget(connection);
        continue;
      }
      const bytes = queuedBytes(connection);
      if (bytes === 0) {
        // Nothing waits: the next wait counts from this scan at most. A polling connection stays
        // looked at, since its packets wait without a write to tell.
        this.waiting.delete(connection);
        if (connection.transport.name === "websocket") this.backlog.forget(connection);
        continue;
      }
      if (this.droppedOverCap(connection, bytes, () => describe(connection))) continue;
      const progress = writtenSoFar(connection, this.lastFlushed);
      const waiting = this.waiting.get(connection);
      if (waiting === undefined || waiting.progress !== progress)
        this.waiting.set(connection, { progress, since: now });
      else if (now - waiting.since > this.stallMs) {
        this.drop(connection, { ...describe(connection), stalledMs: now - waiting.since }, "reads nothing");
      }
    }
  }

  /** Drops `connection` when the `bytes` waiting for it are over the cap; true when it was dropped. */
  private droppedOverCap(connection: EngineConnection, bytes: number, who: () => Who): boolean {
    if (bytes <= this.maxBytes) return false;
    this.drop(connection, { ...who(), bytes }, "queue over CLIENT_QUEUE_BYTES");
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
