/**
 * Deadlines for waits in tests, the bench and the dev scripts: every wait is on an event, and this
 * bounds it, so that a hang fails with a message instead of stalling.
 */

/** How long a single wait may take by default before it fails (not a sleep: an upper bound). */
export const DEADLINE_MS = 10_000;

/**
 * Rejects with `what` when `promise` has not settled within `ms`.
 *
 * @example
 * await within(child.exited, "redis-server to exit", 5_000);
 */
export function within<T>(promise: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
