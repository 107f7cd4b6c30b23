import { now } from "../clock.js";

/** When the messages of an open-loop run are due. Times are monotonic ms (clock.ts). */
export interface OpenLoop {
  startAt: number;
  stopAt: number;
  ratePerSecond: number;
  /** Messages due together (1: evenly spaced). */
  burst: number;
}

/**
 * Calls `send(k, intendedAt)` for message k = 0, 1, … at its due time `startAt + k / rate` (in
 * bursts of `burst`), until `stopAt`, whatever happened to the earlier ones: everything due by the
 * time a timer fires leaves then, with its intended time, so a late generator shows up as latency.
 * Resolves once the last message has left.
 */
export function sendOnSchedule(loop: OpenLoop, send: (k: number, intendedAt: number) => void): Promise<void> {
  const interval = 1000 / loop.ratePerSecond;
  const total = loop.ratePerSecond > 0 ? Math.floor((loop.stopAt - loop.startAt) / interval) : 0;
  const dueAt = (k: number) => loop.startAt + Math.floor(k / loop.burst) * loop.burst * interval;
  let k = 0;
  return new Promise<void>((resolve) => {
    const tick = () => {
      const at = now();
      while (k < total && dueAt(k) <= at) {
        send(k, dueAt(k));
        k++;
      }
      if (k < total) setTimeout(tick, Math.max(0, dueAt(k) - now()));
      else resolve();
    };
    setTimeout(tick, Math.max(0, loop.startAt - now()));
  });
}
