import { roomOfChannel } from "../chat/rooms.js";
import type { AdapterFactory } from "../stores/stores.js";

/** What the sharded adapter decides through `this`: which rooms get a channel, and where a message goes. */
interface ShardedAdapterInternals {
  /** The namespace's main channel, which every node subscribes to. */
  readonly channel: string;
  shouldUseASeparateNamespace(room: string): boolean;
  computeChannel(message: { data?: { opts?: { rooms?: string[] } } }): string;
}

/** Whether a Socket.IO room gets a sharded channel of its own: chatrooms only. */
const hasOwnChannel = (room: string): boolean => roomOfChannel(room) !== undefined;

/**
 * The same sharded adapter factory (dynamic subscription mode), with a Redis channel of their own
 * for chatrooms only. A user's room would otherwise cost one subscription per connected user,
 * though what goes to a user (DMs) travels through the nodes' own channels (`UserDelivery`). A
 * broadcast to any other room, such as a kick of a user's sockets, goes through the main channel
 * to every node, which applies it to its own sockets.
 */
export function withoutUserSubscriptions(factory: AdapterFactory): AdapterFactory {
  const make = factory as unknown as (namespace: unknown) => ShardedAdapterInternals;
  // Socket.IO calls the factory with `new`: a function, not an arrow, returning the adapter.
  return function (namespace: unknown) {
    const adapter = make(namespace);
    const { shouldUseASeparateNamespace, computeChannel } = adapter;
    // The adapter subscribes on "create-room" and unsubscribes on "delete-room" and close, asking this.
    adapter.shouldUseASeparateNamespace = (room) =>
      hasOwnChannel(room) && shouldUseASeparateNamespace.call(adapter, room);
    adapter.computeChannel = (message) => {
      const channel = computeChannel.call(adapter, message);
      // Anything but the main channel is the own channel of the broadcast's one room.
      const room = message.data?.opts?.rooms?.[0];
      return channel === adapter.channel || (room !== undefined && hasOwnChannel(room)) ? channel : adapter.channel;
    };
    return adapter;
  } as unknown as AdapterFactory;
}
