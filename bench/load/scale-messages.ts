import type { ClientProtocol } from "../targets/target.js";
import type { HistogramData } from "./histogram.js";
import type { ClientPlan } from "./messages.js";

/**
 * A connect storm on one worker (scenario 6), open loop: client k is due at
 * `startAt + k / ratePerSecond`, whether or not the earlier ones got in, then joins its rooms.
 */
export interface StormPlan {
  clients: ClientPlan[];
  startAt: number;
  /** Handshakes this worker starts per second. */
  ratePerSecond: number;
  /** Source address of the worker's sockets (127.0.0.x), so that no one address runs out of ports. */
  localAddress: string;
  /** Longest wait for one connection and for each of its joins. */
  timeoutMs: number;
  /**
   * At most this many attempts at once; the others wait their turn (closed loop). Unset: none wait
   * (open loop). The refill's fill sets it: it must fill the node even on a machine that cannot keep
   * up with the rate.
   */
  maxInFlight?: number;
  /**
   * Load clients only: once the storm is over, the clients that did not get in try again (up to 3
   * times), at most this many at once (closed loop), so that the rest of the scenario runs at full
   * size.
   */
  topUpInFlight?: number;
}

/** How a storm went on one worker; times are from each client's due time (monotonic ms). */
export interface StormResult {
  planned: number;
  connected: number;
  /** Connections the server refused, by the error code it gave (e.g. `unavailable`: node full). */
  refused: Record<string, number>;
  /** Connections that failed otherwise (timeout, network error), by reason. */
  failed: Record<string, number>;
  /** Connected clients whose room join failed. */
  joinsFailed: number;
  /** From the due time to the `connect` event: the handshake, queueing included. */
  handshake: HistogramData;
  /** From the due time to the answer of the client's last join: ready to chat. */
  ready: HistogramData;
  /** How late the worker began each attempt: high means the generator, not the server, lagged. */
  startLag: HistogramData;
  /** When this worker's last client became ready (monotonic ms), or undefined if none did. */
  lastReadyAt: number | undefined;
  /** Clients that connected in the top-up after the storm (`topUpInFlight`), and those that failed again. */
  toppedUp: number;
  topUpFailed: number;
}

/** How many of a worker's SDK clients are connected again after a restart, and when the last one came. */
export interface ReturnResult {
  clients: number;
  /** Clients whose state became `connected` after `after`, and still are. */
  back: number;
  /** The latest of those reconnections (monotonic ms); undefined unless all came back. */
  lastBackAt: number | undefined;
}

/**
 * Scenario 6's requests to a load worker: a storm of load clients (their group then runs like any
 * other), the count of those still connected, a storm of SDK clients that reconnect by themselves,
 * and the wait for those to come back.
 */
export type ScaleRequest =
  | { type: "storm"; group: number; protocol: ClientProtocol; plan: StormPlan }
  | { type: "count"; group: number }
  | { type: "sdk-storm"; group: number; plan: StormPlan }
  | { type: "sdk-returned"; group: number; after: number; timeoutMs: number };

export type ScaleReply =
  | { type: "stormed"; result: StormResult }
  | { type: "counted"; connected: number; dropped: Record<string, number> }
  | { type: "returned"; result: ReturnResult };
