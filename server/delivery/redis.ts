import type { FastifyBaseLogger } from "fastify";
import type { RedisConnection } from "../redis/connection.js";
import type { LocalDelivery, UserDelivery, UserEvent } from "./delivery.js";

/** What travels on a node's channel: the user, and the event for their sockets there. */
interface Envelope {
  user: string;
  event: UserEvent;
}

/** The subscriber calls a node's delivery makes (those of `openRedis`'s subscriber). */
export interface NodeChannelSubscriber {
  sSubscribe(channel: string, listener: (message: Buffer) => void, buffers: true): Promise<unknown>;
  sUnsubscribe(channel: string): Promise<unknown>;
}

export interface RedisUserDeliveryOptions {
  /** Publishes (SPUBLISH) on the command connection. */
  redis: RedisConnection;
  subscriber: NodeChannelSubscriber;
  nodeId: string;
  /** The sharded channel a node listens on (one per node: it lives in one slot of a cluster). */
  channelOf: (node: string) => string;
  /** The nodes that hold a socket of a user (presence). */
  nodesOf: (user: string) => Promise<string[]>;
  log: FastifyBaseLogger;
}

/**
 * Cluster mode: each node SSUBSCRIBEs one channel of its own; an event for a user is handed to
 * this node's sockets at once and SPUBLISHed to the channel of every other node holding the user.
 */
export class RedisUserDelivery implements UserDelivery {
  private local: LocalDelivery | undefined;

  constructor(private readonly options: RedisUserDeliveryOptions) {}

  async start(local: LocalDelivery): Promise<void> {
    this.local = local;
    const { subscriber, channelOf, nodeId } = this.options;
    await subscriber.sSubscribe(channelOf(nodeId), (message) => this.receive(message), true);
  }

  async deliver(user: string, event: UserEvent): Promise<void> {
    const { redis, channelOf, nodeId } = this.options;
    // This node's sockets whether or not presence lists them yet (Redis may have lost its data).
    this.local?.(user, event);
    const others = (await this.options.nodesOf(user)).filter((node) => node !== nodeId);
    if (others.length === 0) return;
    const message = JSON.stringify({ user, event } satisfies Envelope);
    await Promise.all(others.map((node) => redis.command(channelOf(node), ["SPUBLISH", channelOf(node), message])));
  }

  async close(): Promise<void> {
    this.local = undefined;
    await this.options.subscriber.sUnsubscribe(this.options.channelOf(this.options.nodeId));
  }

  private receive(message: Buffer): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message.toString()) as Envelope;
    } catch (error) {
      this.options.log.warn({ err: error }, "dropped a delivery this node's channel could not parse");
      return;
    }
    this.local?.(envelope.user, envelope.event);
  }
}
