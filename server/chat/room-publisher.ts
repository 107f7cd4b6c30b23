import type { ChatMessage } from "../../protocol/index.js";
import type { AppendEntry, History } from "../history/history.js";
import type { Moderation } from "../moderation/moderation.js";
import { mutedError } from "../moderation/refusals.js";
import type { Stores } from "../stores/stores.js";
import type { ChatServer } from "./chat.js";
import { roomChannel, roomLog } from "./rooms.js";

/** What a room message is stored from: room messages carry no attributes. */
export type RoomEntry = Omit<AppendEntry, "attrs">;

/** A stored room message, and whether its clientId repeated an earlier send (then nothing was sent). */
export interface Published {
  message: ChatMessage;
  duplicate: boolean;
}

/**
 * Stores a room message in the room's history and delivers it to the room's members on every
 * node, unless its clientId repeats an earlier send of the same user, or the sender is muted in
 * the room.
 */
export interface RoomPublisher {
  /** Rejects with `mutedError` when `entry.from` is muted in `room` (a repeated clientId too). */
  publish(room: string, entry: RoomEntry): Promise<Published>;
}

/**
 * Checks the mute, appends, then broadcasts through Socket.IO's adapter: what one node does, and
 * what any adapter supports. In cluster mode the Redis stores do all three in one script instead
 * (stores/room-publisher-redis).
 */
export function appendThenBroadcast(io: ChatServer, history: History, moderation: Moderation): RoomPublisher {
  return {
    async publish(room, entry) {
      const mutedUntil = await moderation.mutedUntil(room, entry.from);
      if (mutedUntil !== undefined) throw mutedError(room, mutedUntil);
      const { message: stored, duplicate } = await history.append(roomLog(room), entry);
      const message = { ...stored, room };
      if (!duplicate) io.to(roomChannel(room)).emit("room:message", message);
      return { message, duplicate };
    },
  };
}

/** The stores' own publisher when they have one (Redis: one script), else `appendThenBroadcast`. */
export function roomPublisherOf(
  stores: Pick<Stores, "history" | "moderation" | "roomPublisher">,
  io: ChatServer,
): RoomPublisher {
  return stores.roomPublisher?.(io) ?? appendThenBroadcast(io, stores.history, stores.moderation);
}
