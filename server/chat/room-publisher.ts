import type { ChatMessage } from "../../protocol/index.js";
import type { AppendEntry, History } from "../history/history.js";
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
 * node, unless its clientId repeats an earlier send of the same user.
 */
export interface RoomPublisher {
  publish(room: string, entry: RoomEntry): Promise<Published>;
}

/**
 * Appends, then broadcasts through Socket.IO's adapter: what one node does, and what any adapter
 * supports. In cluster mode the Redis stores do both in one script instead (stores/room-publisher-redis).
 */
export function appendThenBroadcast(io: ChatServer, history: History): RoomPublisher {
  return {
    async publish(room, entry) {
      const { message: stored, duplicate } = await history.append(roomLog(room), entry);
      const message = { ...stored, room };
      if (!duplicate) io.to(roomChannel(room)).emit("room:message", message);
      return { message, duplicate };
    },
  };
}

/** The stores' own publisher when they have one (Redis: one script), else `appendThenBroadcast`. */
export function roomPublisherOf(stores: Pick<Stores, "history" | "roomPublisher">, io: ChatServer): RoomPublisher {
  return stores.roomPublisher?.(io) ?? appendThenBroadcast(io, stores.history);
}
