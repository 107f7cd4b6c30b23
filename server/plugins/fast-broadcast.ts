import type { Server } from "socket.io";
import type { TickCork } from "./cork.js";
import type { WriteBacklog } from "./write-backlog.js";

/** The TCP socket under a WebSocket: what the frames are written to. */
interface TcpSocket {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
}

/** The parts of ws's WebSocket (lib/websocket.js) used here. */
interface WsSocket {
  readyState: number;
  _socket?: TcpSocket;
}

/** The parts of engine.io's transport (build/transport.js, transports/websocket.js) used here. */
interface EngineTransport {
  name: string;
  perMessageDeflate?: unknown;
  socket?: WsSocket;
}

/** The options Socket.IO writes a packet with; a broadcast's carry its WebSocket frame. */
interface PacketOptions {
  wsPreEncodedFrame?: readonly Buffer[];
}

/** The parts of engine.io's connection (build/socket.js) used here, and the tick of its last direct write. */
interface EngineConnection {
  readyState: string;
  writeBuffer: unknown[];
  transport: EngineTransport;
  write(data: unknown, options?: PacketOptions, callback?: () => void): EngineConnection;
  directWriteTick: number;
}

/** ws's WebSocket.OPEN. */
const WS_OPEN = 1;

/** Where the frames written directly are counted (the metrics' frames delivered). */
export interface DirectWriteCount {
  framesDelivered: number;
}

/**
 * Writes each broadcast's WebSocket frame, which the adapter encodes once for all its recipients
 * (`wsPreEncodedFrame`), straight to the TCP socket of every connection that can take it, instead
 * of through engine.io's queue, its per-packet events and ws's sender. Every other write takes
 * engine.io's own path.
 *
 * A connection takes the frame directly when it is open on the WebSocket transport (ws open, no
 * compression) and engine.io's queue is empty: nothing is waiting to be written before it, and
 * whatever engine.io has handed to ws is already in the TCP socket's buffer, ahead of the frame,
 * so the order of its packets is kept. Bytes the kernel does not take yet wait in that buffer,
 * where the backpressure counts them (ws's `bufferedAmount`); the connection is noted in `backlog`.
 *
 * The frames one connection gets in the same tick (a burst read from Redis at once) go out in one
 * write(2): the second one corks its socket until the end of the tick (`cork`, shared with the
 * engine's writes). A connection that gets one frame per tick, the usual case, pays nothing for that.
 *
 * `count` (the metrics' tallies) counts the frames written here; engine.io's "flush" event, which
 * counts the rest, is not emitted for them.
 */
export function fastBroadcastWrites(io: Server, cork: TickCork, backlog: WriteBacklog, count?: DirectWriteCount): void {
  // engine.io's own write, the same for every connection (its Socket class's).
  let engineWrite: EngineConnection["write"] | undefined;

  function write(this: EngineConnection, data: unknown, options?: PacketOptions, callback?: () => void) {
    const frame = options?.wsPreEncodedFrame;
    const tcp = frame !== undefined && callback === undefined ? directSocket(this) : undefined;
    if (options === undefined || frame === undefined || tcp === undefined) {
      return engineWrite!.call(this, data, options, callback);
    }
    const firstInTick = this.directWriteTick !== cork.tick;
    if (firstInTick) {
      this.directWriteTick = cork.tick;
      cork.touch();
    } else {
      cork.cork(tcp, this);
    }
    // ws writes a frame of two buffers (header, payload) as two writes; one buffer, joined once
    // for all the recipients, is one.
    const joined = frame.length === 1 ? frame[0]! : (options.wsPreEncodedFrame = [Buffer.concat(frame)])[0]!;
    tcp.write(joined);
    // A corked socket is looked at when the tick uncorks it.
    if (firstInTick) backlog.noteIfWaiting(tcp, this);
    if (count) count.framesDelivered += 1;
    return this;
  }
  io.engine.on("connection", (connection: EngineConnection) => {
    engineWrite ??= connection.write;
    connection.write = write;
    connection.directWriteTick = -1;
  });
}

/**
 * The TCP socket under `connection`'s WebSocket when a frame may be written to it directly: the
 * connection and its WebSocket are open, without compression, and engine.io queues nothing.
 */
function directSocket(connection: EngineConnection): TcpSocket | undefined {
  const transport = connection.transport;
  if (
    connection.readyState !== "open" ||
    connection.writeBuffer.length !== 0 ||
    transport.name !== "websocket" ||
    transport.perMessageDeflate
  ) {
    return undefined;
  }
  const websocket = transport.socket;
  return websocket?.readyState === WS_OPEN ? websocket._socket : undefined;
}
