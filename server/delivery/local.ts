import type { ChatServer } from "../chat/chat.js";
import { userChannel } from "../chat/rooms.js";
import type { LocalDelivery } from "./delivery.js";

/** Hands an event to the sockets of its user on this node: the user's Socket.IO room, locally. */
export const toLocalSockets =
  (io: ChatServer): LocalDelivery =>
  (user, { event, payload }) =>
    io.local.to(userChannel(user)).emit(event, payload);
