import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff, backoffDelay, backoffOptions, delay, DEFAULT_BACKOFF } from "../client/sdk/backoff.js";

const exact = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

describe("backoff", () => {
  it("doubles from initialMs up to maxMs", () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((attempt) => backoffDelay(attempt, exact))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
  });

  it("draws the jittered wait from [base × (1 − jitter), base]", () => {
    const options = { ...exact, jitter: 0.5 };
    expect(backoffDelay(2, options, () => 0)).toBe(400);
    expect(backoffDelay(2, options, () => 0.5)).toBe(300);
    expect(backoffDelay(2, options, () => 0.999999)).toBe(200);
    for (let i = 0; i < 200; i++) {
      const wait = backoffDelay(3, options);
      expect(wait).toBeGreaterThanOrEqual(400);
      expect(wait).toBeLessThanOrEqual(800);
    }
  });

  it("counts attempts until reset", () => {
    const backoff = new Backoff(exact);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it("fills in defaults and refuses values out of range", () => {
    expect(backoffOptions()).toEqual(DEFAULT_BACKOFF);
    expect(backoffOptions({ initialMs: 5 })).toEqual({ ...DEFAULT_BACKOFF, initialMs: 5 });
    expect(() => backoffOptions({ initialMs: -1 })).toThrow(RangeError);
    expect(() => backoffOptions({ initialMs: 500, maxMs: 100 })).toThrow(RangeError);
    expect(() => backoffOptions({ factor: 0.5 })).toThrow(RangeError);
    expect(() => backoffOptions({ jitter: 1.5 })).toThrow(RangeError);
    expect(() => backoffOptions({ jitter: Number.NaN })).toThrow(RangeError);
  });
});

describe("delay", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves after the wait, not before", async () => {
    let done = false;
    void delay(250).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(249);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it("rejects with the abort reason at once and leaves no timer behind", async () => {
    const controller = new AbortController();
    const waiting = delay(10_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(vi.getTimerCount()).toBe(0);
    await expect(delay(1, controller.signal)).rejects.toThrow("stop");
  });
});
