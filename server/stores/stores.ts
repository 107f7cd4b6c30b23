import type { ServerOptions } from "socket.io";
import type { ChatServer } from "../chat/chat.js";
import type { RoomPublisher } from "../chat/room-publisher.js";
import type { NameClaims } from "../claims/claims.js";
import type { History } from "../history/history.js";
import type { AddressSockets } from "../limits/address-sockets.js";
import type { RateLimiterFactory } from "../limits/rate-limiters.js";
import type { Moderation } from "../moderation/moderation.js";
import type { UserDelivery } from "../delivery/delivery.js";
import type { SeriesStore } from "../metrics/series.js";
import type { Tallies } from "../metrics/tallies.js";
import type { NodeVitals, Presence } from "../presence/presence.js";

/** Socket.IO's adapter factory, as `new Server({ adapter })` takes it. */
export type AdapterFactory = NonNullable<ServerOptions["adapter"]>;

/** The state a node keeps, behind the same interfaces whether it is alone or in a cluster. */
export interface Stores {
  presence: Presence;
  /** Events to one user's sockets (DMs), on whichever nodes they are. */
  userDelivery: UserDelivery;
  history: History;
  claims: NameClaims;
  /** Bans and mutes, the same on every node. */
  moderation: Moderation;
  /** Makes the rate limiters: counted in Redis for the whole cluster, or in memory on one node. */
  rateLimiters: RateLimiterFactory;
  /** Open sockets per client address, for the whole cluster. */
  addressSockets: AddressSockets;
  /** Every node's recent activity, for the admin dashboard's chart. */
  series: SeriesStore;
  /** The Socket.IO adapter that carries broadcasts between nodes; absent on one node. */
  adapter?: AdapterFactory;
  /**
   * Stores and delivers room messages in one step of the backing store, for `io` (made with
   * `adapter`); absent when appending, then broadcasting through the adapter, is the way.
   */
  roomPublisher?: (io: ChatServer) => RoomPublisher;
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

/** What the stores count and report, for metrics and the admin dashboard; each part is optional. */
export interface StoreInstruments {
  /** Metrics are on: Redis command latency, adapter traffic and reaped presence are counted here. */
  metrics?: Tallies;
  /** Appended messages are counted here (for metrics, or the dashboard's chart). */
  appends?: Tallies;
  /** How the process is doing, sent with every presence heartbeat (the admin dashboard). */
  vitals?: () => NodeVitals;
}
