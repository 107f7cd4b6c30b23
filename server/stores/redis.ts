import { createShardedAdapter } from "@socket.io/redis-adapter";
import type { FastifyBaseLogger } from "fastify";
import { claimTtlMs, type Config } from "../config.js";
import { UnavailableError } from "../errors.js";
import { RedisHistory } from "../history/redis.js";
import { RedisPresence } from "../presence/redis.js";
import type { StoreInstruments, Stores } from "./stores.js";
import { RedisClaims } from "../claims/redis.js";
import { RedisUserDelivery } from "../delivery/redis.js";
import { RedisModeration } from "../moderation/redis.js";
import { moveLegacyMutesAtStart } from "../moderation/redis-legacy-mutes.js";
import { openRedis } from "../redis/connection.js";
import { redisKeys } from "../redis/keys.js";
import { withoutUserSubscriptions } from "../redis/user-rooms.js";
import { RedisAddressSockets } from "../limits/address-sockets-redis.js";
import { redisRateLimiters } from "../limits/rate-limiters.js";
import { countingAdapter, timedRedis } from "../metrics/redis.js";
import { RedisSeries } from "../metrics/series-redis.js";
import { scriptedRoomPublisher } from "./room-publisher-redis.js";

/** How long a join waits for its room subscription before answering `unavailable`. */
const SUBSCRIBE_TIMEOUT_MS = 3000;

/**
 * Cluster mode: presence and history in Redis, and the sharded Socket.IO adapter in dynamic
 * subscription mode, so that a node receives only the traffic of rooms it holds sockets in.
 */
export async function openRedisStores(
  config: Config,
  log: FastifyBaseLogger,
  instruments: StoreInstruments = {},
): Promise<Stores> {
  const redis = await openRedis(config, log);
  const { metrics, appends } = instruments;
  // The stores' commands are timed when metrics are on; the adapter publishes on its own client.
  const connection = metrics ? timedRedis(redis.connection, metrics) : redis.connection;
  const keys = redisKeys(config.redisPrefix);
  await moveLegacyMutesAtStart(connection, (pattern) => redis.scan(pattern), keys, config.nodeId, log);
  const channelPrefix = `${config.redisPrefix}:io`;
  // The adapter's channel for a room: `${channelPrefix}#${namespace}#${room}#` (sharded-adapter.ts).
  const roomChannel = (room: string) => `${channelPrefix}#/#${room}#`;
  const adapter = withoutUserSubscriptions(
    createShardedAdapter(redis.publisher, redis.subscriber, { channelPrefix, subscriptionMode: "dynamic" }),
  );
  const presence = new RedisPresence({
    redis: connection,
    keys,
    nodeId: config.nodeId,
    heartbeatTtlMs: config.heartbeatTtlMs,
    maxHeldPerRecipient: config.limits.dmsHeldPerRecipient,
    maxHeldPerSender: config.limits.dmsHeldPerSender,
    log,
    ...(instruments.vitals ? { vitals: instruments.vitals } : {}),
    ...(metrics
      ? {
          onReaped: ({ users, roomMembers }) => {
            metrics.reapedUsers += users;
            metrics.reapedRoomMembers += roomMembers;
          },
        }
      : {}),
  });
  const history = new RedisHistory(connection, keys, { maxPerLog: config.historySize, ttlMs: config.historyTtlMs });
  return {
    presence,
    userDelivery: new RedisUserDelivery({
      redis: connection,
      subscriber: redis.subscriber,
      nodeId: config.nodeId,
      channelOf: keys.nodeDeliveries,
      nodesOf: (user) => presence.nodesOf(user),
      log,
    }),
    history,
    roomPublisher: (io) =>
      scriptedRoomPublisher({
        io,
        history,
        adapterChannel: roomChannel,
        muteKey: keys.mute,
        tallies: { appends, metrics },
      }),
    series: new RedisSeries(connection, config.redisPrefix, config.nodeId),
    rateLimiters: redisRateLimiters(redis.publisher, config.redisPrefix),
    addressSockets: new RedisAddressSockets({
      redis: connection,
      prefix: config.redisPrefix,
      nodeId: config.nodeId,
      heartbeatTtlMs: config.heartbeatTtlMs,
    }),
    claims: new RedisClaims(connection, keys, claimTtlMs(config)),
    moderation: new RedisModeration(connection, keys),
    adapter: metrics ? countingAdapter(adapter, metrics) : adapter,
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
