import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from "rate-limiter-flexible";

/**
 * Makes one named rate limiter: `points` per `durationSec`, keyed by whatever its caller counts
 * (a user, an address). Memory: this node's counts. Redis: counts shared by every node.
 */
export type RateLimiterFactory = (name: string, points: number, durationSec: number) => RateLimiterAbstract;

/** The embedded node's limiters, in memory. */
export const memoryRateLimiters: RateLimiterFactory = (name, points, duration) =>
  new RateLimiterMemory({ keyPrefix: name, points, duration });

/**
 * Limiters whose counts live in Redis, so that a limit holds across the cluster. A key over its
 * limit is then refused in memory until its window ends, so a flood costs Redis nothing. While
 * Redis is unreachable each node counts alone (the insurance limiter), so limits still apply.
 *
 * @param client a node-redis client or cluster client (commands, not subscriptions).
 * @param prefix the deployment's key prefix.
 */
export function redisRateLimiters(client: object, prefix: string): RateLimiterFactory {
  return (name, points, duration) =>
    new RateLimiterRedis({
      storeClient: client,
      useRedisPackage: true,
      keyPrefix: `${prefix}:rl:${name}`,
      points,
      duration,
      inMemoryBlockOnConsumed: points,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${name}-insurance`, points, duration }),
    });
}
