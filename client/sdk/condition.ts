/**
 * Lets async code wait until some state holds: waiters re-check their test on every `notify()`.
 *
 * @example
 * const changed = new Condition();
 * const socket = await changed.until(() => current?.connected && current, signal);
 * // elsewhere, after `current` changes:
 * changed.notify();
 */
export class Condition {
  readonly #checks = new Set<() => void>();

  /**
   * Resolves with the first truthy value of `test`, checked now and after each `notify()`.
   * Rejects with `signal.reason` when `signal` aborts first, and with what `test` throws.
   */
  until<T>(test: () => T | undefined | null | false, signal: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stop = () => {
        this.#checks.delete(check);
        signal.removeEventListener("abort", check);
      };
      const check = () => {
        try {
          if (signal.aborted) throw signal.reason;
          const value = test();
          if (!value) return;
          stop();
          resolve(value);
        } catch (error) {
          stop();
          reject(error);
        }
      };
      this.#checks.add(check);
      signal.addEventListener("abort", check);
      check();
    });
  }

  /** Something changed: every waiter checks its test again. */
  notify(): void {
    for (const check of [...this.#checks]) check();
  }
}
