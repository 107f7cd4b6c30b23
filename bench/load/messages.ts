import type { ClientProtocol } from "../targets/target.js";
import type { HistogramData } from "./histogram.js";
import type { ScaleReply, ScaleRequest } from "./scale-messages.js";

/** One client a worker opens: who it is, which node it talks to, which rooms it joins. */
export interface ClientPlan {
  user: string;
  url: string;
  rooms: string[];
}

/** A client that sends, and the room it sends to. */
export interface SenderPlan {
  /** Index into the worker's clients. */
  client: number;
  room: string;
}

/**
 * An open-loop send schedule: message k is meant to leave at `startAt + k / ratePerSecond`, from
 * sender k mod n, whether or not earlier messages were answered. Times are monotonic ms (clock.ts).
 */
export interface RunPlan {
  senders: SenderPlan[];
  /** Messages per second, all senders of this worker together. */
  ratePerSecond: number;
  startAt: number;
  /** The measured window: latency of the messages meant to leave in it, deliveries received in it. */
  windowStart: number;
  windowEnd: number;
  /** Sending goes on until here (so the window's last messages meet a loaded system), then results. */
  stopAt: number;
  /** Length of each message's text. */
  textLength: number;
  /**
   * Messages due together: with 1 (the default) message k is due at `startAt + k / rate`; with N,
   * messages come in bursts of N at the same mean rate, so that servers get several in one tick.
   */
  burst: number;
  /** Rooms whose deliveries also get a latency histogram of their own, by group name (scenario 7). */
  latencyGroups?: Record<string, string>;
}

export interface RunResult {
  sent: number;
  /** Messages meant to leave inside the window, per room: the orchestrator knows who should get them. */
  sentInWindow: Record<string, number>;
  /** Deliveries (room:message events) of any message. */
  received: number;
  /** Deliveries that arrived while the window was open: the throughput. */
  receivedInWindow: number;
  /** Deliveries of the window's messages, at any time up to stopAt. */
  deliveredOfWindow: number;
  /** Latency of the window's messages, from intended send to receipt. */
  latency: HistogramData;
  /** The same for the rooms of each of the plan's `latencyGroups`. */
  latencyByGroup: Record<string, HistogramData>;
  /** Latency of the acks of the window's sends, from intended send to the ack's receipt. */
  ackLatency: HistogramData;
  /** How late the generator itself sent: actual minus intended send time. */
  sendLag: HistogramData;
  acks: { ok: number; failed: number };
  /** Connections that closed without being asked to. */
  lost: number;
  /** Deliveries to the clients of another target during the run (must be 0: no cross-talk). */
  strays: number;
}

/** One of a flooder's sockets and what it sends: to a room it joined, or a direct message to a user. */
export type FloodSender = { client: number; room: string } | { client: number; to: string };

/**
 * A flood (scenario 7): open loop as in RunPlan, evenly spaced, send k from sender k mod n; what
 * the flooder's sockets receive is not counted.
 */
export interface FloodPlan {
  senders: FloodSender[];
  /** Sends per second, all senders of this worker together. */
  ratePerSecond: number;
  startAt: number;
  /** Sends meant to leave in [windowStart, windowEnd) are counted apart. */
  windowStart: number;
  windowEnd: number;
  stopAt: number;
  textLength: number;
}

/** How the server answered a flooder's sends. */
export interface FloodCounts {
  /** Sends made (on an open socket). */
  attempted: number;
  /** Sends not made: they fell due on a socket the server had closed. */
  skipped: number;
  accepted: number;
  /** Answered `rate_limited`. */
  refused: number;
  /** Other error codes, by code. */
  errors: Record<string, number>;
}

export interface FloodRunResult {
  /** Every send of the run, warm-up and drain included. */
  run: FloodCounts;
  /** The sends meant to leave inside the window. */
  window: FloodCounts;
  /** The flooder's sockets that the server closed during the run. */
  socketsDropped: number;
  /** How late the generator itself sent: actual minus intended send time. */
  sendLag: HistogramData;
}

/**
 * A worker holds several groups of clients at once (one per target of a scenario), each connected to
 * its own target; a run drives one group while the others stay idle.
 */
export type Request =
  | {
      type: "connect";
      group: number;
      protocol: ClientProtocol;
      clients: ClientPlan[];
      concurrency: number;
      timeoutMs: number;
    }
  | { type: "run"; group: number; plan: RunPlan }
  | { type: "flood"; group: number; plan: FloodPlan }
  | { type: "disconnect"; group: number }
  | ScaleRequest;

export type Reply =
  | { type: "connected"; clients: number; ms: number }
  | { type: "ran"; result: RunResult }
  | { type: "flooded"; result: FloodRunResult }
  | { type: "disconnected" }
  | { type: "failed"; error: string }
  | ScaleReply;

/** Requests and replies carry an id, so that concurrent requests to one worker get their own replies. */
export type ToWorker = Request & { id: number };
export type FromWorker = Reply & { id: number };
