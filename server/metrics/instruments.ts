import type { ErrorCode } from "../../protocol/index.js";
import type { RefusalListener } from "../limits/limits.js";
import type { StoreInstruments } from "../stores/stores.js";
import { Tallies } from "./tallies.js";
import { VitalsMonitor } from "./vitals.js";

/** What a node counts, and where each hook goes; parts that are off are undefined. */
export interface Instruments {
  tallies: Tallies;
  /** The admin dashboard is on (ADMIN_TOKEN): vitals in every heartbeat, and the activity samples. */
  vitals?: VitalsMonitor;
  stores: StoreInstruments;
  rateLimited?: RefusalListener;
  handshakeRefused?: (code: ErrorCode) => void;
}

/**
 * The counting a node does: with `metrics` (METRICS), the hooks of the stores, the limits and the
 * handshakes (the socket hooks and `/metrics` are `metricsPlugin`'s); with the `dashboard`
 * (ADMIN_TOKEN), the message count and the vitals. With neither, no hook is installed at all (the
 * bench compares both).
 */
export function nodeInstruments({ metrics, dashboard }: { metrics: boolean; dashboard: boolean }): Instruments {
  const tallies = new Tallies();
  const vitals = dashboard ? new VitalsMonitor(() => tallies.messages) : undefined;
  return {
    tallies,
    ...(vitals ? { vitals } : {}),
    stores: {
      ...(metrics ? { metrics: tallies } : {}),
      // The dashboard's chart counts messages too.
      ...(metrics || dashboard ? { appends: tallies } : {}),
      ...(vitals ? { vitals: () => vitals.read() } : {}),
    },
    ...(metrics
      ? {
          rateLimited: (limit) => tallies.rateLimited.inc(limit),
          handshakeRefused: (code) => tallies.handshakesRefused.inc(code),
        }
      : {}),
  };
}
