import type { Server } from "socket.io";

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Coalesces the frames a WebSocket receives in one tick into one write(2).
 *
 * engine.io sends each packet with its own `ws.send`, so each frame is its own syscall. When a
 * burst of broadcasts reaches a socket in one tick (several Redis messages read at once), corking
 * its TCP socket on the first flush of the tick and uncorking it on the next tick sends them
 * together. bench/ measured +38% deliveries per server CPU-second on bursts of 10; it costs
 * nothing measurable on evenly spaced traffic.
 */
export function corkWebSocketWrites(io: Server): void {
  io.engine.on(
    "connection",
    (connection: {
      transport: { name: string; socket?: { _socket?: Corkable } };
      on(event: "flush", listener: () => void): void;
    }) => {
      let corked = false;
      connection.on("flush", () => {
        // ws keeps the TCP socket private; it is there for websocket transports only.
        const tcp = connection.transport.name === "websocket" ? connection.transport.socket?._socket : undefined;
        if (!tcp || corked) return;
        corked = true;
        tcp.cork();
        process.nextTick(() => {
          corked = false;
          tcp.uncork();
        });
      });
    },
  );
}
