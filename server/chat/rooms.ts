/** The history log of a room. */
export const roomLog = (room: string): string => `room:${room}`;

/**
 * Socket.IO room names for chatrooms and users. Chatrooms and users live in their own prefixes,
 * so no chatroom name can reach a socket's private room or a user's room.
 *
 * The sharded Redis adapter treats any 20-character room as a socket id and sends its traffic to
 * every node (see `looksLikeASocketId` in @socket.io/redis-adapter), so a name that would come out
 * 20 long gets one more character. ":" is not allowed in names, so the result stays unique.
 */
function internal(prefix: "r" | "u", name: string): string {
  const key = `${prefix}:${name}`;
  return key.length === 20 ? `${key}:` : key;
}

/**
 * The Socket.IO room of a chatroom: `r:{h:room:<name>}`. The braces hold the Redis hash tag of the
 * room's history log (`redisKeys().log`), so the adapter's channel for the room lives in the log's
 * Redis Cluster slot, and one script can append a message and publish it (stores/room-publisher).
 */
export const roomChannel = (room: string): string => internal("r", `{h:${roomLog(room)}}`);

/** The Socket.IO room holding every socket of a user, on every node. */
export const userChannel = (user: string): string => internal("u", user);

/** The history log of the conversation between two users, the same from either side. */
export const pairLog = (a: string, b: string): string => (a < b ? `dm:${a}\n${b}` : `dm:${b}\n${a}`);

/** The history log of a user's DM feed: every DM to or from them, in order. */
export const feedLog = (user: string): string => `feed:${user}`;

/**
 * The chatroom whose Socket.IO room is `channel` (the inverse of `roomChannel`), or undefined for
 * any other Socket.IO room: a user's, or a socket's own.
 */
export function roomOfChannel(channel: string): string | undefined {
  const start = "r:{h:room:";
  if (!channel.startsWith(start)) return undefined;
  const key = channel.endsWith(":") ? channel.slice(0, -1) : channel;
  const room = key.slice(start.length, -"}".length);
  return room !== "" && roomChannel(room) === channel ? room : undefined;
}
