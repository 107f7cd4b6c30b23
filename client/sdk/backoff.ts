/**
 * Exponential backoff with jitter: how long to wait before each retry or reconnect.
 *
 * @example
 * const options: BackoffOptions = { initialMs: 250, maxMs: 10_000, factor: 2, jitter: 0.5 };
 */
export interface BackoffOptions {
  /** Wait before the first retry, in milliseconds. @default 250 */
  initialMs: number;
  /** Longest wait, in milliseconds. @default 10000 */
  maxMs: number;
  /** Each wait is `factor` times the one before, up to `maxMs`. @default 2 */
  factor: number;
  /**
   * Share of each wait that is random, 0 to 1: the wait is drawn from
   * `[base × (1 − jitter), base]`, so that many clients do not retry in step. @default 0.5
   */
  jitter: number;
}

/**
 * The defaults of `BackoffOptions`.
 *
 * @example
 * new ChatClient({ urls, user, backoff: { ...DEFAULT_BACKOFF, maxMs: 30_000 } });
 */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialMs: 250,
  maxMs: 10_000,
  factor: 2,
  jitter: 0.5,
});

/**
 * Fills in the defaults and checks the values.
 *
 * @throws RangeError when a value is out of range.
 * @example
 * backoffOptions({ initialMs: 100 }) // { initialMs: 100, maxMs: 10000, factor: 2, jitter: 0.5 }
 */
export function backoffOptions(options: Partial<BackoffOptions> = {}): BackoffOptions {
  const merged = { ...DEFAULT_BACKOFF, ...options };
  const { initialMs, maxMs, factor, jitter } = merged;
  if (!(initialMs >= 0) || !(maxMs >= initialMs)) throw new RangeError("backoff needs 0 <= initialMs <= maxMs");
  if (!(factor >= 1)) throw new RangeError("backoff factor must be at least 1");
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError("backoff jitter must be from 0 to 1");
  return merged;
}

/**
 * The wait before retry number `attempt` (0 for the first retry).
 *
 * @example
 * backoffDelay(3, { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0 }) // 800
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(options.maxMs, options.initialMs * options.factor ** attempt);
  return Math.round(base * (1 - options.jitter * random()));
}

/**
 * The waits of one sequence of retries: each `next()` is longer, until `reset()`.
 *
 * @example
 * const backoff = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
 * backoff.next(); // 100
 * backoff.next(); // 200
 * backoff.reset();
 * backoff.next(); // 100
 */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** How many waits `next()` has handed out since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The wait before the next retry. */
  next(): number {
    return backoffDelay(this.#attempt++, this.options, this.random);
  }

  /** Starts over from `initialMs` (after a success). */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as `signal` aborts.
 *
 * @example
 * await delay(backoff.next(), controller.signal);
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
