import type { Notice } from "../../protocol/index.js";
import type { Presence } from "../presence/presence.js";
import type { ChatServer } from "./chat.js";
import { disconnectUser } from "./disconnect-user.js";
import { roomChannel } from "./rooms.js";

/** What a kick did. */
export interface KickResult {
  user: string;
  /** The nodes that held a socket of the user just before the kick. */
  nodes: string[];
}

/**
 * What operators do to the chat, cluster-wide whatever node they call: kick a user, post a
 * notice. One place for `/admin` and `/api/v1`; both check the names before they call.
 */
export function operatorActions({ io, presence }: { io: ChatServer; presence: Presence }) {
  return {
    /** Disconnects every socket of `user`, on every node; their clients do not reconnect by themselves. */
    async kick(user: string): Promise<KickResult> {
      const nodes = await presence.nodesOf(user);
      // A plain disconnect ("io server disconnect") tells the client not to reconnect on its own.
      await disconnectUser(io, user, false);
      return { user, nodes };
    },

    /** Sends a notice to the members of `room`, or to everyone without it; answers the notice sent. */
    notice(text: string, room?: string): Notice {
      const notice: Notice = { text, ts: Date.now() };
      if (room === undefined) {
        io.emit("notice", notice);
      } else {
        notice.room = room;
        io.to(roomChannel(room)).emit("notice", notice);
      }
      return notice;
    },
  };
}

export type OperatorActions = ReturnType<typeof operatorActions>;
