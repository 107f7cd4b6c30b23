import type { ChatServer } from "../chat/chat.js";
import { SmallMap } from "./small-map.js";

/** An emitter's listener table (Node's EventEmitter keeps it in `_events`). */
interface WithListeners {
  _events?: Record<string, unknown>;
}

/** An array holding just its elements: a pushed-to array keeps room for 16 more. */
const exact = <T>(array: T[]): T[] => array.slice();

/**
 * Node's EventEmitter keeps its listeners in a null-prototype object, which V8 holds in dictionary
 * mode (about 250 bytes even for three listeners), and an event's third listener grows its array
 * to 19 slots. The same listeners in a fresh object, made null-prototype afterwards, are held in
 * fast mode, and each array with just its listeners. Nothing else changes: the table has the same
 * own keys, listeners and prototype (emit copies an array before calling it); a later `off` turns
 * it back into a dictionary.
 */
export function compactListeners(emitter: WithListeners | undefined): void {
  const events = emitter?._events;
  if (events === undefined || Object.getPrototypeOf(events) !== null) return;
  const compact: Record<string, unknown> = {};
  for (const key of Object.keys(events)) {
    const listeners = events[key];
    compact[key] = Array.isArray(listeners) ? exact(listeners) : listeners;
  }
  Object.setPrototypeOf(compact, null);
  emitter!._events = compact;
}

/** The parts of a connection that stay as long as it does (engine.io, ws, Socket.IO). */
interface ConnectionParts extends WithListeners {
  /** engine.io's clean-ups of the transport (build/socket.js). */
  cleanupFn: unknown[];
  transport: WithListeners & {
    name: string;
    removeAllListeners(event: string): void;
    socket?: WithListeners & { _socket?: WithListeners; _receiver?: WithListeners & { _buffers: unknown[] } };
  };
}

/** Socket.IO's catch-all listeners and pending acks (dist/socket.js), and its client's tables (dist/client.js). */
interface SocketParts {
  _anyListeners?: unknown[];
  acks: Map<unknown, unknown>;
  client: { sockets: Map<unknown, unknown>; nsps: Map<unknown, unknown> };
}

/** The same entries in a SmallMap, when there is at most one (a socket asked for no ack, a client with one namespace). */
const small = <K, V>(map: Map<K, V>): Map<K, V> => (map instanceof Map && map.size <= 1 ? new SmallMap(map) : map);

/**
 * Once a connection is set up (after every "connection" handler ran), compacts what each idle
 * connection keeps for its lifetime, about 1.4 KiB of its heap (bench scenario 4; heap snapshots):
 * the listener tables of its emitters (Socket.IO's socket, engine.io's connection and transport,
 * ws's WebSocket, its TCP socket and receiver), arrays that grew while the connection was made,
 * Socket.IO's tables of one entry or none (`SmallMap`), and engine.io's relay of "headers", which a
 * WebSocket never emits after its upgrade.
 */
export function compactConnections(io: ChatServer): void {
  io.on("connection", (socket) => {
    setImmediate(() => {
      if (socket.disconnected) return;
      const connection = socket.conn as unknown as ConnectionParts;
      const { transport } = connection;
      // engine.io relays the transport's "headers" for its HTTP responses; a WebSocket has none after its upgrade.
      if (transport.name === "websocket") transport.removeAllListeners("headers");
      const ws = transport.socket;
      const emitters = [socket as unknown as WithListeners, connection, transport, ws, ws?._socket, ws?._receiver];
      for (const emitter of emitters) compactListeners(emitter);
      const parts = socket as unknown as SocketParts;
      if (parts._anyListeners) parts._anyListeners = exact(parts._anyListeners);
      parts.acks = small(parts.acks);
      parts.client.sockets = small(parts.client.sockets);
      parts.client.nsps = small(parts.client.nsps);
      connection.cleanupFn = exact(connection.cleanupFn);
      // Nothing buffered: the receiver is between frames, and takes the next chunk into a new array.
      if (ws?._receiver?._buffers.length === 0) ws._receiver._buffers = [];
    });
  });
}
