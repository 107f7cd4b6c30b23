import { BurstyRateLimiter, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { LimitsConfig } from "../config.js";
import { RateLimitedError } from "../errors.js";
import type { RateLimiterFactory } from "./rate-limiters.js";

/** One limit, keyed by what it counts (a user, an address). */
export interface Limit {
  /** Counts an attempt, or throws RateLimitedError saying how long to wait. */
  take(key: string): Promise<void>;
  /** Throws RateLimitedError when `key` has no attempt left, without counting one. */
  check(key: string): Promise<void>;
}

/** The name of each limit, as metrics label its refusals. */
export const LIMIT_NAMES = [
  "sends",
  "joins",
  "history",
  "rooms-list",
  "typing",
  "handshakes",
  "admin-failures",
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** Told of every refusal, by the limit's name (for metrics). */
export type RefusalListener = (limit: LimitName) => void;

/** A limit of 0 is off. */
const unlimited: Limit = { take: async () => {}, check: async () => {} };

/** Window of the burst allowance on top of the sustained send rate. */
const BURST_WINDOW_SEC = 60;

function limit(
  limiter: Pick<RateLimiterAbstract, "consume" | "get" | "points">,
  name: LimitName,
  what: string,
  refused?: RefusalListener,
): Limit {
  const refuse = (msBeforeNext: number) => {
    refused?.(name);
    const retryAfterMs = Math.max(1, Math.ceil(msBeforeNext));
    return new RateLimitedError(`too many ${what}; retry in ${retryAfterMs} ms`, retryAfterMs);
  };
  return {
    async take(key) {
      try {
        await limiter.consume(key);
      } catch (rejection) {
        // Without an insurance limiter a store error would land here too; ours always has one.
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        throw refuse(rejection.msBeforeNext);
      }
    },
    async check(key) {
      const state = await limiter.get(key);
      if (state !== null && state.consumedPoints >= limiter.points) throw refuse(state.msBeforeNext);
    },
  };
}

/**
 * Every rate limit of a node, made with the stores' limiter factory, so that in a cluster each is
 * counted once for all nodes. Per-user limits are keyed by user name, per-address ones by address.
 */
export class Limits {
  /** `room:send` and `dm:send`: a sustained rate per second, plus a burst allowance per minute. */
  readonly sends: Limit;
  readonly joins: Limit;
  readonly history: Limit;
  readonly roomsList: Limit;
  readonly typing: Limit;
  /** Handshakes per client address. */
  readonly handshakes: Limit;
  /** Failed admin sign-ins per client address. */
  readonly adminFailures: Limit;

  /** @param refused told of every refusal (metrics); `check` refusals of an admin sign-in count too. */
  constructor(
    readonly config: LimitsConfig,
    make: RateLimiterFactory,
    private readonly refused?: RefusalListener,
  ) {
    const perMinute = (name: LimitName, points: number, what: string) =>
      points === 0 ? unlimited : limit(make(name, points, 60), name, what, refused);
    this.sends = this.sendLimit(make);
    this.joins = perMinute("joins", config.joinsPerMinute, "joins");
    this.history = perMinute("history", config.historyPerMinute, "history requests");
    this.roomsList = perMinute("rooms-list", config.roomsListPerMinute, "room listings");
    this.typing =
      config.typingPerSecond === 0
        ? unlimited
        : limit(make("typing", config.typingPerSecond, 1), "typing", "typing events", refused);
    this.handshakes = perMinute("handshakes", config.handshakesPerIpPerMinute, "connections from your address");
    this.adminFailures = perMinute("admin-failures", config.adminFailuresPerMinute, "failed sign-ins");
  }

  private sendLimit(make: RateLimiterFactory): Limit {
    const { sendsPerSecond, sendBurst } = this.config;
    if (sendsPerSecond === 0) return unlimited;
    const sustained = make("sends", sendsPerSecond, 1);
    const extra = sendBurst - sendsPerSecond;
    if (extra <= 0) return limit(sustained, "sends", "messages", this.refused);
    const bursty = new BurstyRateLimiter(sustained, make("sends-burst", extra, BURST_WINDOW_SEC));
    // `check` (unused for sends) looks at the sustained rate alone.
    return limit(
      { consume: (key) => bursty.consume(key), get: (key) => sustained.get(key), points: sustained.points },
      "sends",
      "messages",
      this.refused,
    );
  }
}
