/**
 * A token bucket: `perSecond` tokens flow in, up to `burst`. One per socket, so a flooding
 * client is slowed down without affecting anyone else.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** Takes one token; false when the bucket is empty. A rate of 0 means no limit. */
  take(): boolean {
    if (this.perSecond === 0) return true;
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
