import { claimTtlMs, type Config } from "../config.js";
import { MemoryClaims } from "../claims/memory.js";
import { MemoryUserDelivery } from "../delivery/memory.js";
import { MemoryHistory } from "../history/memory.js";
import { MemoryModeration } from "../moderation/memory.js";
import { MemoryPresence } from "../presence/memory.js";
import { MemoryAddressSockets } from "../limits/address-sockets.js";
import { memoryRateLimiters } from "../limits/rate-limiters.js";
import { MemorySeries } from "../metrics/series.js";
import type { StoreInstruments, Stores } from "./stores.js";

/** One node, everything in memory: the embedded default. */
export function memoryStores(config: Config, instruments: StoreInstruments = {}): Stores {
  const history = new MemoryHistory({ maxPerLog: config.historySize, ttlMs: config.historyTtlMs });
  return {
    presence: new MemoryPresence(
      config.nodeId,
      { maxHeldPerRecipient: config.limits.dmsHeldPerRecipient, maxHeldPerSender: config.limits.dmsHeldPerSender },
      instruments.vitals,
    ),
    userDelivery: new MemoryUserDelivery(),
    history,
    series: new MemorySeries(config.nodeId),
    rateLimiters: memoryRateLimiters,
    addressSockets: new MemoryAddressSockets(),
    claims: new MemoryClaims(claimTtlMs(config)),
    moderation: new MemoryModeration(),
    subscribed: async () => {},
    subscriptionListeners: () => 0,
    isUp: () => true,
    close: () => history.close(),
  };
}
