import { claimTtlMs, type Config } from "../config.js";
import { MemoryClaims } from "../claims/memory.js";
import { MemoryHistory } from "../history/memory.js";
import { MemoryPresence } from "../presence/memory.js";
import type { Stores } from "./stores.js";

/** One node, everything in memory: the embedded default. */
export function memoryStores(config: Config): Stores {
  const history = new MemoryHistory(config.historySize);
  return {
    presence: new MemoryPresence(config.nodeId, config.historySize),
    history,
    claims: new MemoryClaims(claimTtlMs(config)),
    subscribed: async () => {},
    subscriptionListeners: () => 0,
    isUp: () => true,
    close: () => history.close(),
  };
}
