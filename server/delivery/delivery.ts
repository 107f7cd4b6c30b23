import type { ServerToClientEvents } from "../../protocol/index.js";

/** The server events sent to one user's sockets wherever they are connected. */
export type UserEventName = "dm:message";

/** One such event: its name and its payload, as it travels between nodes (JSON). */
export type UserEvent = {
  [E in UserEventName]: { event: E; payload: Parameters<ServerToClientEvents[E]>[0] };
}[UserEventName];

/** Hands `event` to this node's sockets of `user`; nothing when it holds none. */
export type LocalDelivery = (user: string, event: UserEvent) => void;

/**
 * Delivers events to every socket of a user, on every node, without a Redis subscription per user:
 * each node listens on one channel of its own, and an event goes to this node's sockets directly
 * and to the channels of the other nodes that presence says hold the user. A node that died still
 * counts until it is reaped; what is published to its channel reaches no one.
 */
export interface UserDelivery {
  /**
   * Starts handing this node's sockets, through `local`, the events other nodes send them, and
   * those sent from this node. Resolves once this node's channel receives.
   */
  start(local: LocalDelivery): Promise<void>;
  /**
   * Sends `event` to every socket of `user`: this node's at once, every other node's through its
   * channel. Resolves once sent; rejects when presence or Redis cannot be reached.
   */
  deliver(user: string, event: UserEvent): Promise<void>;
  /** Stops receiving. */
  close(): Promise<void>;
}
