import type { ChatServer, roomPoster } from "../chat/chat.js";
import type { DirectMessages } from "../chat/direct.js";
import type { ModerationActions } from "../chat/moderation-actions.js";
import type { OperatorActions } from "../chat/operator-actions.js";
import type { Validators } from "../chat/validate.js";
import type { History } from "../history/history.js";
import type { Moderation } from "../moderation/moderation.js";
import type { Presence } from "../presence/presence.js";

/** What the routes of /api/v1 act through: the same paths as the socket events and /admin. */
export interface ApiDeps {
  io: ChatServer;
  presence: Presence;
  history: History;
  /** The socket protocol's validators, so that a field has the same rules over HTTP. */
  validate: Validators;
  /** `room:send`'s path, telling a repeated clientId apart. */
  postToRoom: ReturnType<typeof roomPoster>;
  /** `dm:send`'s path. */
  direct: DirectMessages;
  /** Kicks and notices, shared with /admin. */
  operator: OperatorActions;
  /** Bans and mutes, as the stores keep them for the whole cluster. */
  moderation: Moderation;
  /** Bans that disconnect, and deletions that tell the room (the chat plugin's). */
  moderationActions: ModerationActions;
}
