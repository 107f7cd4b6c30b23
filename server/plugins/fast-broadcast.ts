import type { Server } from "socket.io";

/** What engine.io's WebSocket transport writes pre-encoded frames through: ws's private sender. */
interface FrameSender {
  sendFrame(frame: readonly Buffer[], callback: (error?: Error) => void): void;
}

/** The parts of engine.io's transport (build/transport.js, transports/websocket.js) used here. */
interface EngineTransport {
  name: string;
  writable: boolean;
  perMessageDeflate?: unknown;
  socket?: { _sender?: Partial<FrameSender> };
  /** The transport's callback for the last frame of a batch: "drain", writable again, "ready". */
  _onSentLast?: (error?: Error) => void;
}

/** The options Socket.IO writes a packet with; a broadcast's carry its WebSocket frame. */
interface PacketOptions {
  wsPreEncodedFrame?: readonly Buffer[];
}

/** engine.io's queued packet, as its "flush" event hands it to listeners. */
interface EnginePacket {
  type: "message";
  data: unknown;
  options: PacketOptions;
}

/** The parts of engine.io's connection (build/socket.js) used here. */
interface EngineConnection {
  readyState: string;
  writeBuffer: unknown[];
  transport: EngineTransport;
  server: { emit(event: "flush", connection: EngineConnection, packets: EnginePacket[]): boolean };
  write(data: unknown, options?: PacketOptions, callback?: () => void): EngineConnection;
}

/**
 * Writes each broadcast's WebSocket frame, which the adapter encodes once for all its recipients
 * (`wsPreEncodedFrame`), straight to the connections that can take it now, instead of through
 * engine.io's queue and its per-packet events. Every other write takes engine.io's own path.
 *
 * A connection takes the frame directly when it is open on the WebSocket transport, the transport
 * is writable and engine.io's queue is empty: nothing is waiting to be written before it, so the
 * order of its packets is kept. It then does what engine.io's flush does with a queue of one
 * packet: the transport stays busy until ws has written the frame (later packets queue behind it
 * and the write is engine.io's own callback), and the server's "flush" event is emitted, which the
 * frames-delivered count and the backpressure's stall watch listen to. It leaves out the
 * connection's own "flush" and "drain" events (the cork's, of no use for one frame) and
 * "packetCreate"; no listener of this server needs them for a broadcast.
 */
export function fastBroadcastWrites(io: Server): void {
  // engine.io's own write, the same for every connection (its Socket class's).
  let engineWrite: EngineConnection["write"] | undefined;
  function write(this: EngineConnection, data: unknown, options?: PacketOptions, callback?: () => void) {
    const frame = options?.wsPreEncodedFrame;
    const sender = frame !== undefined && callback === undefined ? idleSender(this) : undefined;
    if (options === undefined || frame === undefined || sender === undefined) {
      return engineWrite!.call(this, data, options, callback);
    }
    const transport = this.transport;
    transport.writable = false;
    this.server.emit("flush", this, [{ type: "message", data, options }]);
    // ws writes a frame of two buffers (header, payload) with cork, two writes and a writev; one
    // buffer, joined once for all the recipients, is one plain write.
    const joined = frame.length === 1 ? frame : (options.wsPreEncodedFrame = [Buffer.concat(frame)]);
    sender.sendFrame(joined, transport._onSentLast!);
    return this;
  }
  io.engine.on("connection", (connection: EngineConnection) => {
    engineWrite ??= connection.write;
    connection.write = write;
  });
}

/**
 * ws's sender of `connection`'s WebSocket when the connection can take a frame now: open on the
 * WebSocket transport, writable, nothing in engine.io's queue; undefined otherwise.
 */
function idleSender(connection: EngineConnection): FrameSender | undefined {
  const transport = connection.transport;
  if (
    connection.readyState !== "open" ||
    !transport.writable ||
    connection.writeBuffer.length !== 0 ||
    transport.name !== "websocket" ||
    transport.perMessageDeflate ||
    typeof transport._onSentLast !== "function"
  ) {
    return undefined;
  }
  const sender = transport.socket?._sender;
  return typeof sender?.sendFrame === "function" ? (sender as FrameSender) : undefined;
}
