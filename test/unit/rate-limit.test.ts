import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../server/chat/rate-limit.js";

describe("TokenBucket", () => {
  /** A bucket on a clock the test moves. */
  function bucket(perSecond: number, burst: number) {
    let now = 1_000_000;
    const limiter = new TokenBucket(perSecond, burst, () => now);
    return { limiter, advance: (ms: number) => (now += ms) };
  }
  const takes = (limiter: TokenBucket, count: number) => Array.from({ length: count }, () => limiter.take());

  it("allows a burst, then refuses", () => {
    const { limiter } = bucket(2, 3);
    expect(takes(limiter, 4)).toEqual([true, true, true, false]);
  });

  it("refills at the rate, a token at a time", () => {
    const { limiter, advance } = bucket(2, 3);
    takes(limiter, 3);
    advance(499);
    expect(limiter.take()).toBe(false);
    advance(1);
    expect(limiter.take()).toBe(true);
    expect(limiter.take()).toBe(false);
  });

  it("never holds more than the burst, however long it waited", () => {
    const { limiter, advance } = bucket(10, 3);
    advance(60_000);
    expect(takes(limiter, 4)).toEqual([true, true, true, false]);
  });

  it("does not limit at a rate of 0", () => {
    const { limiter } = bucket(0, 1);
    expect(takes(limiter, 100).every(Boolean)).toBe(true);
  });
});
