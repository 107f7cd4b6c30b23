import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type {
  AckOf,
  ClientEventName,
  ClientToServerEvents,
  RequestOf,
  ServerToClientEvents,
} from "../../protocol/index.js";

/** A Socket.IO client socket typed on the protocol. */
export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Options of one Socket.IO connection (`io(url, options)`). */
export type SocketIoOptions = Partial<ManagerOptions & SocketOptions>;

/**
 * Opens one Socket.IO connection. The SDK calls it once per connection attempt, with
 * `reconnection: false` and `forceNew: true`: it reconnects, and picks the URL, itself.
 * It uses only `on`, `off`, `emit`, `connected` and `disconnect()` of the socket.
 *
 * @example
 * // Count connection attempts in a test, with the real transport:
 * const opened: ChatSocket[] = [];
 * const factory: SocketFactory = (url, options) => {
 *   const socket = io(url, options);
 *   opened.push(socket);
 *   return socket;
 * };
 */
export type SocketFactory = (url: string, options: SocketIoOptions) => ChatSocket;

/** The real transport: socket.io-client. */
export const socketIo: SocketFactory = (url, options) => io(url, options);

/** A request got no answer: the connection dropped, or the ack did not come in time. */
export class TransportError extends Error {
  override readonly name = "TransportError";

  constructor(readonly reason: "disconnected" | "timeout") {
    super(reason === "timeout" ? "the server did not answer in time" : "the connection dropped");
  }
}

/**
 * Emits `event` on `socket` and resolves with its ack. Rejects with a `TransportError` when the
 * socket is not connected, drops before the answer, or no answer comes within `timeoutMs`.
 */
export function call<E extends ClientEventName>(
  socket: ChatSocket,
  event: E,
  request: RequestOf<E>,
  timeoutMs: number,
): Promise<AckOf<E>> {
  return new Promise((resolve, reject) => {
    if (!socket.connected) return reject(new TransportError("disconnected"));
    const settle = () => {
      clearTimeout(timer);
      socket.off("disconnect", onDisconnect);
    };
    const onDisconnect = () => {
      settle();
      reject(new TransportError("disconnected"));
    };
    const timer = setTimeout(() => {
      settle();
      reject(new TransportError("timeout"));
    }, timeoutMs);
    socket.on("disconnect", onDisconnect);
    // One event at a time: TypeScript cannot pick the overload of `emit` for a generic `E`.
    const emit = socket.emit as (event: E, request: RequestOf<E>, ack: (answer: AckOf<E>) => void) => ChatSocket;
    emit.call(socket, event, request, (answer) => {
      settle();
      resolve(answer);
    });
  });
}
