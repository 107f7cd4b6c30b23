import { performance } from "node:perf_hooks";
import type { ChatServer } from "../chat/chat.js";
import type { ClientEventTally } from "./tallies.js";

type Packet = unknown[];

/**
 * Counts every client event by its outcome and times its ack, without touching the handlers: a
 * Socket.IO middleware of each socket puts a wrapper in place of the ack callback, which reads the
 * answer (`{ ok }` or `{ ok: false, error: { code } }`) on its way out. An event without an ack is
 * counted as "no_ack"; one never answered (its socket went) is not counted.
 */
export function countClientEvents(io: ChatServer, tally: ClientEventTally): void {
  const middleware = (packet: Packet, next: (error?: Error) => void): void => {
    const slot = tally.slotOf(packet[0]);
    const last = packet.length - 1;
    const ack = packet[last];
    if (last > 0 && typeof ack === "function") {
      const start = performance.now();
      packet[last] = (answer: unknown) => {
        tally.answered(slot, answer, (performance.now() - start) / 1000);
        (ack as (answer: unknown) => void)(answer);
      };
    } else {
      tally.unacknowledged(slot);
    }
    next();
  };
  io.on("connection", (socket) => socket.use(middleware as Parameters<typeof socket.use>[0]));
}
