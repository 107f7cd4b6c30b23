import type { FastifyBaseLogger } from "fastify";
import type { Config } from "../config.js";
import { memoryStores } from "./memory.js";
import type { Stores } from "./stores.js";

/** Opens the stores the configuration asks for: Redis when REDIS_URL is set, memory otherwise. */
export async function openStores(config: Config, log: FastifyBaseLogger): Promise<Stores> {
  if (config.redisUrls.length === 0) return memoryStores(config);
  // Loaded only in cluster mode, so that an embedded node never loads the Redis client.
  const { openRedisStores } = await import("./redis.js");
  return openRedisStores(config, log);
}
