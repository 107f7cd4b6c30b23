import type { ServerSocket } from "./chat.js";

/** setTimeout's longest delay; a token may live longer, so longer waits are made in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long before expiry the client is asked for a new token, at most. */
const WARN_BEFORE_MS = 30_000;

/**
 * Token mode: tells a socket when its token is about to expire (`auth:expiring`), and at expiry
 * says `auth:expired` and disconnects it, unless `renew` gave it a later expiry first.
 */
export class TokenExpiry {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: ServerSocket,
    private expiresAt: number,
    private readonly now: () => number = Date.now,
  ) {
    this.arm();
  }

  /** A refreshed token moved the expiry. */
  renew(expiresAt: number): void {
    this.expiresAt = expiresAt;
    this.arm();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.stop();
    const remaining = this.expiresAt - this.now();
    // Warn halfway through a short token's life, or WARN_BEFORE_MS before a long one's end.
    const warnIn = remaining - Math.min(WARN_BEFORE_MS, remaining / 2);
    this.wait(warnIn, () => {
      this.socket.emit("auth:expiring", { expiresAt: this.expiresAt });
      this.wait(this.expiresAt - this.now(), () => this.expire());
    });
  }

  private wait(ms: number, then: () => void): void {
    const step = Math.max(0, Math.min(ms, MAX_TIMER_MS));
    this.timer = setTimeout(() => (ms > MAX_TIMER_MS ? this.wait(ms - step, then) : then()), step);
  }

  private expire(): void {
    // A timer may fire a millisecond before Date.now() reaches its time: never expire early.
    const early = this.expiresAt - this.now();
    if (early > 0) return this.wait(early, () => this.expire());
    this.timer = undefined;
    this.socket.emit("auth:expired", { expiresAt: this.expiresAt });
    this.socket.disconnect(true);
  }
}
