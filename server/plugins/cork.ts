import type { Server } from "socket.io";

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** What the engine's "flush" event tells about the connection being written to. */
interface FlushedConnection {
  transport: { name: string; socket?: { _socket?: Corkable } };
}

/**
 * Coalesces the frames a WebSocket receives in one tick into one write(2).
 *
 * engine.io sends each packet with its own `ws.send`, so each frame is its own syscall. When a
 * burst of broadcasts reaches a socket in one tick (several Redis messages read at once), corking
 * its TCP socket on the first flush of the tick and uncorking it on the next tick sends them
 * together. bench/ measured +38% deliveries per server CPU-second on bursts of 10; it costs
 * nothing measurable on evenly spaced traffic.
 *
 * One listener on the engine serves every connection (a listener per connection would cost each
 * idle one a closure): the sockets corked in a tick are uncorked together on the next.
 */
export function corkWebSocketWrites(io: Server): void {
  const corked = new Set<Corkable>();
  const uncorkAll = () => {
    for (const tcp of corked) tcp.uncork();
    corked.clear();
  };
  io.engine.on("flush", (connection: FlushedConnection) => {
    // ws keeps the TCP socket private; it is there for websocket transports only.
    const tcp = connection.transport.name === "websocket" ? connection.transport.socket?._socket : undefined;
    if (!tcp || corked.has(tcp)) return;
    if (corked.size === 0) process.nextTick(uncorkAll);
    corked.add(tcp);
    tcp.cork();
  });
}
