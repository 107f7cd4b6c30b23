import { WebSocket } from "ws";

/**
 * A Socket.IO client reduced to what the load generator needs, speaking the wire protocol itself
 * (Engine.IO 4 over WebSocket, Socket.IO 5, main namespace, text packets only): connect with an
 * `auth` payload, answer pings, emit events with or without an ack, and hear events.
 *
 * socket.io-client runs every frame through engine.io-client's and its own emitters, its decoder
 * and its packet buffers; in scenario 6 that made the load processes, not the servers, the slower
 * side of a 2,000-member broadcast. This client decodes a frame with one JSON.parse. Servers see
 * the same frames from it as from socket.io-client (`test/bench-wire-client.test.ts`).
 */
export interface WireSocket {
  readonly connected: boolean;
  /** Sends `[event, ...args]`; with `onAck`, asks for an ack and calls it with the ack's arguments. */
  emit(event: string, args: unknown[], onAck?: (...reply: unknown[]) => void): void;
  close(): void;
}

export interface WireOptions {
  /** The server's base URL (http or ws), served at its default Socket.IO path. */
  url: string;
  /** The handshake's `auth` payload (Socket.IO's CONNECT packet data). */
  auth: Record<string, unknown>;
  timeoutMs: number;
  localAddress?: string;
  /** An event from the server: its name and arguments. */
  onEvent(event: string, args: unknown[]): void;
  /** The connection closed without `close()`, after it had connected. */
  onClose(reason: string): void;
}

/** A refused handshake, shaped like socket.io-client's `connect_error`: the server's `message` and `data`. */
export class WireConnectError extends Error {
  constructor(
    message: string,
    readonly data: unknown,
  ) {
    super(message);
    this.name = "WireConnectError";
  }
}

// Engine.IO packet types (first character of a frame) and Socket.IO's (the second, in a MESSAGE).
const ENGINE_OPEN = "0";
const ENGINE_CLOSE = "1";
const ENGINE_PING = "2";
const ENGINE_PONG = "3";
const ENGINE_MESSAGE = "4";
const IO_CONNECT = "0";
const IO_DISCONNECT = "1";
const IO_EVENT = "2";
const IO_ACK = "3";
const IO_CONNECT_ERROR = "4";

/** The digits of a packet's ack id, from `from`, and where its JSON payload starts. */
function ackIdAt(frame: string, from: number): { id: number | undefined; payloadAt: number } {
  let at = from;
  while (at < frame.length && frame.charCodeAt(at) >= 48 && frame.charCodeAt(at) <= 57) at++;
  return { id: at === from ? undefined : Number(frame.slice(from, at)), payloadAt: at };
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Opens a connection and resolves once the server accepted the handshake (Socket.IO CONNECT). */
export function connectWire(options: WireOptions): Promise<WireSocket> {
  const base = options.url.replace(/^http/, "ws").replace(/\/$/, "");
  const ws = new WebSocket(`${base}/socket.io/?EIO=4&transport=websocket`, {
    perMessageDeflate: false,
    handshakeTimeout: options.timeoutMs,
    ...(options.localAddress && { localAddress: options.localAddress }),
  });
  const acks = new Map<number, (...reply: unknown[]) => void>();
  let nextAck = 0;
  let connected = false;
  let closing = false;

  const socket: WireSocket = {
    get connected() {
      return connected && ws.readyState === WebSocket.OPEN;
    },
    emit(event, args, onAck) {
      if (ws.readyState !== WebSocket.OPEN) return;
      const payload = JSON.stringify([event, ...args]);
      if (onAck === undefined) {
        ws.send(ENGINE_MESSAGE + IO_EVENT + payload);
        return;
      }
      const id = nextAck++;
      acks.set(id, onAck);
      ws.send(ENGINE_MESSAGE + IO_EVENT + id + payload);
    },
    close() {
      closing = true;
      connected = false;
      ws.terminate();
    },
  };

  return new Promise<WireSocket>((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      closing = true;
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`timed out after ${options.timeoutMs} ms waiting for the handshake`)),
      options.timeoutMs,
    );
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const frame = data.toString();
      switch (frame[0]) {
        case ENGINE_PING:
          ws.send(ENGINE_PONG);
          return;
        case ENGINE_OPEN:
          ws.send(ENGINE_MESSAGE + IO_CONNECT + JSON.stringify(options.auth));
          return;
        case ENGINE_CLOSE:
          ws.close();
          return;
        case ENGINE_MESSAGE:
          break;
        default:
          return;
      }
      switch (frame[1]) {
        case IO_EVENT: {
          const { payloadAt } = ackIdAt(frame, 2);
          const [event, ...args] = asArray(JSON.parse(frame.slice(payloadAt)));
          if (typeof event === "string") options.onEvent(event, args);
          return;
        }
        case IO_ACK: {
          const { id, payloadAt } = ackIdAt(frame, 2);
          if (id === undefined) return;
          const onAck = acks.get(id);
          acks.delete(id);
          onAck?.(...asArray(JSON.parse(frame.slice(payloadAt))));
          return;
        }
        case IO_CONNECT:
          clearTimeout(timer);
          connected = true;
          resolve(socket);
          return;
        case IO_CONNECT_ERROR: {
          const body = JSON.parse(frame.slice(2)) as { message?: unknown; data?: unknown };
          fail(new WireConnectError(String(body?.message ?? "connect_error"), body?.data));
          return;
        }
        case IO_DISCONNECT:
          ws.close();
          return;
      }
    });
    ws.on("error", (error) => {
      if (!connected) fail(error);
    });
    ws.on("close", (code) => {
      acks.clear();
      if (!connected) {
        fail(new Error(`closed ${code} before the handshake`));
        return;
      }
      connected = false;
      if (!closing) options.onClose(`closed ${code}`);
    });
  });
}
