import { performance } from "node:perf_hooks";
import type { ClientEventTally } from "./tallies.js";

type Packet = unknown[];

/**
 * Counts every client event by its outcome and times its ack, without touching the handlers: it
 * sees each event first (the chat's `onClientEvent`, as `[event, ...args]`) and puts a wrapper in
 * place of the ack callback, which reads the answer (`{ ok }` or `{ ok: false, error: { code } }`)
 * on its way out. An event without an ack is counted as "no_ack"; one never answered (its socket
 * went) is not counted.
 */
export function clientEventCounter(tally: ClientEventTally): (packet: Packet) => void {
  return (packet) => {
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
  };
}
