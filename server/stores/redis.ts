import { createShardedAdapter } from "@socket.io/redis-adapter";
import type { FastifyBaseLogger } from "fastify";
import { claimTtlMs, type Config } from "../config.js";
import { UnavailableError } from "../errors.js";
import { RedisHistory } from "../history/redis.js";
import { RedisPresence } from "../presence/redis.js";
import type { Stores } from "./stores.js";
import { RedisClaims } from "../claims/redis.js";
import { RedisModeration } from "../moderation/redis.js";
import { openRedis } from "../redis/connection.js";
import { redisKeys } from "../redis/keys.js";
import { RedisAddressSockets } from "../limits/address-sockets-redis.js";
import { redisRateLimiters } from "../limits/rate-limiters.js";

/** How long a join waits for its room subscription before answering `unavailable`. */
const SUBSCRIBE_TIMEOUT_MS = 3000;

/**
 * Cluster mode: presence and history in Redis, and the sharded Socket.IO adapter in dynamic
 * subscription mode, so that a node receives only the traffic of rooms it holds sockets in.
 */
export async function openRedisStores(config: Config, log: FastifyBaseLogger): Promise<Stores> {
  const redis = await openRedis(config, log);
  const keys = redisKeys(config.redisPrefix);
  const channelPrefix = `${config.redisPrefix}:io`;
  // The adapter's channel for a room: `${channelPrefix}#${namespace}#${room}#` (sharded-adapter.ts).
  const roomChannel = (room: string) => `${channelPrefix}#/#${room}#`;
  return {
    presence: new RedisPresence({
      redis: redis.connection,
      keys,
      nodeId: config.nodeId,
      heartbeatTtlMs: config.heartbeatTtlMs,
      maxHeldPerRecipient: config.limits.dmsHeldPerRecipient,
      maxHeldPerSender: config.limits.dmsHeldPerSender,
      log,
    }),
    history: new RedisHistory(redis.connection, keys, { maxPerLog: config.historySize, ttlMs: config.historyTtlMs }),
    rateLimiters: redisRateLimiters(redis.publisher, config.redisPrefix),
    addressSockets: new RedisAddressSockets({
      redis: redis.connection,
      prefix: config.redisPrefix,
      nodeId: config.nodeId,
      heartbeatTtlMs: config.heartbeatTtlMs,
    }),
    claims: new RedisClaims(redis.connection, keys, claimTtlMs(config)),
    moderation: new RedisModeration(redis.connection, keys),
    adapter: createShardedAdapter(redis.publisher, redis.subscriber, { channelPrefix, subscriptionMode: "dynamic" }),
    async subscribed(room: string) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new UnavailableError("the room subscription")), SUBSCRIBE_TIMEOUT_MS);
      });
      await Promise.race([redis.subscribedTo(roomChannel(room)), timeout]).finally(() => clearTimeout(timer));
    },
    subscriptionListeners: (room) => redis.listenerCount(roomChannel(room)),
    isUp: () => redis.isReady(),
    close: () => redis.close(),
  };
}
