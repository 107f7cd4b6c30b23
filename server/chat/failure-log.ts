import type { FastifyBaseLogger } from "fastify";

/** How long repeats of a failure are counted before they are summed up in one line. */
const WINDOW_MS = 10_000;

/**
 * Logs handler failures without letting a client flood the log: the first failure of a window
 * is logged whole (with its stack), the rest of that window only counted, and the count logged
 * when the next failure comes after the window (or at close).
 */
export class FailureLog {
  private windowStart = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private readonly events = new Map<string, number>();

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number = Date.now,
  ) {}

  report(error: unknown, context: { event: string; socket: string }): void {
    const now = this.now();
    if (now - this.windowStart < WINDOW_MS) {
      this.suppressed += 1;
      this.events.set(context.event, (this.events.get(context.event) ?? 0) + 1);
      return;
    }
    this.flush();
    this.windowStart = now;
    this.log.error({ err: error, ...context }, "event handler failed");
  }

  /** Logs the count of the failures not logged yet, if any. */
  flush(): void {
    if (this.suppressed === 0) return;
    this.log.error(
      { failures: this.suppressed, byEvent: Object.fromEntries(this.events), windowMs: WINDOW_MS },
      "more event handlers failed (logged once per window)",
    );
    this.suppressed = 0;
    this.events.clear();
  }
}
