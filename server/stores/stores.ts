import type { ServerOptions } from "socket.io";
import type { NameClaims } from "../claims/claims.js";
import type { History } from "../history/history.js";
import type { AddressSockets } from "../limits/address-sockets.js";
import type { RateLimiterFactory } from "../limits/rate-limiters.js";
import type { Moderation } from "../moderation/moderation.js";
import type { Presence } from "../presence/presence.js";

/** Socket.IO's adapter factory, as `new Server({ adapter })` takes it. */
export type AdapterFactory = NonNullable<ServerOptions["adapter"]>;

/** The state a node keeps, behind the same interfaces whether it is alone or in a cluster. */
export interface Stores {
  presence: Presence;
  history: History;
  claims: NameClaims;
  /** Bans and mutes, the same on every node. */
  moderation: Moderation;
  /** Makes the rate limiters: counted in Redis for the whole cluster, or in memory on one node. */
  rateLimiters: RateLimiterFactory;
  /** Open sockets per client address, for the whole cluster. */
  addressSockets: AddressSockets;
  /** The Socket.IO adapter that carries broadcasts between nodes; absent on one node. */
  adapter?: AdapterFactory;
  /** Resolves once this node receives broadcasts to `room` (a Socket.IO room it just joined). */
  subscribed(room: string): Promise<void>;
  /**
   * Listeners this node's subscriber holds for broadcasts to `room` (a Socket.IO room): a small
   * constant while the room is held, however many sockets came and went, and 0 once it is not.
   * Always 0 on one node, which subscribes to nothing.
   */
  subscriptionListeners(room: string): number;
  /** Whether the backing store is reachable right now. */
  isUp(): boolean;
  /** Closes what opening the stores opened, last of all. */
  close(): Promise<void>;
}
