import type { ClientProtocol } from "../targets/target.js";
import type { HistogramData } from "./histogram.js";

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
  /** How late the generator itself sent: actual minus intended send time. */
  sendLag: HistogramData;
  acks: { ok: number; failed: number };
  /** Connections that closed without being asked to. */
  lost: number;
  /** Deliveries to the clients of another target during the run (must be 0: no cross-talk). */
  strays: number;
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
  | { type: "disconnect"; group: number };

export type Reply =
  | { type: "connected"; clients: number; ms: number }
  | { type: "ran"; result: RunResult }
  | { type: "disconnected" }
  | { type: "failed"; error: string };

/** Requests and replies carry an id, so that concurrent requests to one worker get their own replies. */
export type ToWorker = Request & { id: number };
export type FromWorker = Reply & { id: number };
