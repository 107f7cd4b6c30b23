import type { History } from "../history/history.js";
import type { Ban, Moderation } from "../moderation/moderation.js";
import type { ChatServer } from "./chat.js";
import { disconnectUser } from "./disconnect-user.js";
import { roomChannel, roomLog } from "./rooms.js";

export interface ModerationActionsOptions {
  io: ChatServer;
  moderation: Moderation;
  history: History;
}

/**
 * What moderators do, applied on every node: the stores hold bans and mutes for the whole cluster
 * (handshakes and sends check them), and the adapter carries disconnects and deletions to every
 * node holding the user or the room.
 */
export function moderationActions({ io, moderation, history }: ModerationActionsOptions) {
  return {
    /** Bans `user` for `seconds` and disconnects every socket of theirs, on every node. */
    async banUser(user: string, seconds: number, reason: string): Promise<Ban> {
      const ban = await moderation.ban(user, seconds, reason);
      // A kick, as the admin route does: the client is told, and does not reconnect by itself.
      await disconnectUser(io, user, false);
      return ban;
    },
    /** Lifts the ban of `user`; false when there was none. */
    liftBan(user: string): Promise<boolean> {
      return moderation.unban(user);
    },
    /**
     * Deletes a message of `room`: it stays in the log as a tombstone (no text, same id), and the
     * room's members are told. False when the room's log does not hold that id.
     */
    async deleteRoomMessage(room: string, id: string): Promise<boolean> {
      const deleted = await history.delete(roomLog(room), id);
      if (deleted) io.to(roomChannel(room)).emit("room:message:deleted", { room, id });
      return deleted;
    },
  };
}

export type ModerationActions = ReturnType<typeof moderationActions>;
