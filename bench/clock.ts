/**
 * The one clock of the benchmark: CLOCK_MONOTONIC in milliseconds. Every process on the machine
 * reads the same monotonic clock, so a send time taken in one process and a receive time taken in
 * another can be subtracted, and wall-clock steps (NTP) never show up as latency.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Resolves after `ms`; only for fixed settle times, never to wait for a condition. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves at the monotonic time `at` (immediately when it has passed). */
export function sleepUntil(at: number): Promise<void> {
  return sleep(Math.max(0, at - now()));
}
