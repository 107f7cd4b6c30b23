import type { FastifyBaseLogger } from "fastify";
import type { Config } from "./config.js";
import type { History } from "./history/history.js";
import { MemoryHistory } from "./history/memory.js";
import { MemoryPresence } from "./presence/memory.js";
import type { Presence } from "./presence/presence.js";

/** Socket.IO's adapter factory, as `new Server({ adapter })` takes it. */
export type AdapterFactory = NonNullable<import("socket.io").ServerOptions["adapter"]>;

/** The state a node keeps, behind the same interfaces whether it is alone or in a cluster. */
export interface Stores {
  presence: Presence;
  history: History;
  /** The Socket.IO adapter that carries broadcasts between nodes; absent on one node. */
  adapter?: AdapterFactory;
  /** Resolves once this node receives broadcasts to `room` (a Socket.IO room it just joined). */
  subscribed(room: string): Promise<void>;
  /** Whether the backing store is reachable right now. */
  isUp(): boolean;
  /** Closes what `openStores` opened, last of all. */
  close(): Promise<void>;
}

/** One node, everything in memory: the embedded default. */
export function memoryStores(config: Config): Stores {
  const history = new MemoryHistory(config.historySize);
  return {
    presence: new MemoryPresence(config.nodeId, config.historySize),
    history,
    subscribed: async () => {},
    isUp: () => true,
    close: () => history.close(),
  };
}

/** Opens the stores the configuration asks for: Redis when REDIS_URL is set, memory otherwise. */
export async function openStores(config: Config, log: FastifyBaseLogger): Promise<Stores> {
  if (config.redisUrls.length === 0) return memoryStores(config);
  const { openRedisStores } = await import("./redis/stores.js");
  return openRedisStores(config, log);
}
