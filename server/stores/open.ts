import type { FastifyBaseLogger } from "fastify";
import type { Config } from "../config.js";
import { CountingHistory } from "../metrics/counting-history.js";
import { memoryStores } from "./memory.js";
import type { StoreInstruments, Stores } from "./stores.js";

/**
 * Opens the stores the configuration asks for: Redis when REDIS_URL is set, memory otherwise,
 * counting and reporting what `instruments` asks for.
 */
export async function openStores(
  config: Config,
  log: FastifyBaseLogger,
  instruments: StoreInstruments = {},
): Promise<Stores> {
  const stores = await open(config, log, instruments);
  if (instruments.appends) stores.history = new CountingHistory(stores.history, instruments.appends);
  return stores;
}

async function open(config: Config, log: FastifyBaseLogger, instruments: StoreInstruments): Promise<Stores> {
  if (config.redisUrls.length === 0) return memoryStores(config, instruments);
  // Loaded only in cluster mode, so that an embedded node never loads the Redis client.
  const { openRedisStores } = await import("./redis.js");
  return openRedisStores(config, log, instruments);
}
