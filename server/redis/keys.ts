import { roomLog } from "../chat/rooms.js";

/**
 * Every Redis key roomcast uses. Keys that one Lua script touches together share a hash tag
 * (`{...}`), so that they live in one slot and the script runs on Redis Cluster too.
 */
export function redisKeys(prefix: string) {
  return {
    /** Hash node → sockets of this user on that node: who holds the user. */
    userNodes: (user: string) => `${prefix}:{u:${user}}:nodes`,
    /** List of DMs (JSON) held until the user next connects. */
    userInbox: (user: string) => `${prefix}:{u:${user}}:inbox`,
    /** Count of the DMs this user sent that are held for others, lapsing with the last one held. */
    heldFrom: (user: string) => `${prefix}:{u:${user}}:held-from`,
    /** Hash user → sockets in the room, cluster-wide. */
    roomUsers: (room: string) => `${prefix}:{r:${room}}:users`,
    /** Hash user → sockets in the room on one node: what to take back when that node dies. */
    roomNodeUsers: (room: string, node: string) => `${prefix}:{r:${room}}:node:${node}`,
    /** Set of users with sockets on the node. */
    nodeUsers: (node: string) => `${prefix}:{n:${node}}:users`,
    /** Set of rooms with sockets on the node. */
    nodeRooms: (node: string) => `${prefix}:{n:${node}}:rooms`,
    /** The node's heartbeat (JSON of its counts), with a TTL: gone means the node is dead. */
    nodeAlive: (node: string) => `${prefix}:{n:${node}}:alive`,
    /**
     * Sharded pub/sub channel the node listens on for events to its users' sockets (DMs), one per
     * node whatever the number of users.
     */
    nodeDeliveries: (node: string) => `${prefix}:{n:${node}}:deliveries`,
    /** Lock held by the node that cleans up after a dead node. */
    nodeReaper: (node: string) => `${prefix}:{n:${node}}:reaper`,
    /** Sorted set node → last heartbeat ms: every node that may hold entries. */
    nodes: () => `${prefix}:nodes`,
    /**
     * Sorted set of room names, every score 0, so that `rooms:list` pages through it by name
     * (ZRANGE BYLEX). It holds every room with members; an emptied room leaves it at its last
     * leave, or when a reaper or a listing finds it empty.
     */
    roomIndex: () => `${prefix}:room-index`,
    /** Hash {name, salt, hash} of the name claim covering a confusable skeleton; expires unused. */
    claim: (skeleton: string) => `${prefix}:{c:${skeleton}}:claim`,
    /** Stream of a history log; its entry ids are the message ids. */
    log: (log: string) => `${prefix}:{h:${log}}:log`,
    /** Id of the first entry the log ever had since Redis last lost it. */
    logStart: (log: string) => `${prefix}:{h:${log}}:start`,
    /** What a clientId produced in a log, for deduplication. */
    logSeen: (log: string, from: string, clientId: string) => `${prefix}:{h:${log}}:seen:${from}:${clientId}`,
    /** Hash of the log's deleted message ids (tombstones); it lives as long as the log. */
    logDeleted: (log: string) => `${prefix}:{h:${log}}:deleted`,
    /** JSON {until, reason} of a user's ban; expires when the ban ends. */
    ban: (user: string) => `${prefix}:{u:${user}}:ban`,
    /**
     * A user's mute in a room: its end, epoch ms; expires then. It sits in the slot of the room's
     * history log, so that the script appending a message checks it in the same step.
     */
    mute: (room: string, user: string) => `${prefix}:{h:${roomLog(room)}}:mute:${user}`,
    /**
     * Where earlier versions kept a mute (the room's presence slot), matched by
     * `legacyMutePattern`; moved to `mute` once per deployment (moderation/redis-legacy-mutes).
     */
    legacyMute: (room: string, user: string) => `${prefix}:{r:${room}}:mute:${user}`,
    /** SCAN pattern of every `legacyMute` key. */
    legacyMutePattern: () => `${prefix}:{r:*}:mute:*`,
    /** Set once the legacy mutes of this deployment have been moved. */
    legacyMutesMoved: () => `${prefix}:migrated:legacy-mutes`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
