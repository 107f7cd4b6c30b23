import type { DirectMessage, RoomPresence, RoomSummary } from "../../protocol/index.js";
import { UnavailableError } from "../errors.js";
import type { RedisConnection } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import { MemoryPresence } from "./memory.js";
import {
  compareNames,
  type HeldCaps,
  type HoldOutcome,
  type LocalCounts,
  type NodeSummary,
  type NodeVitals,
  type Presence,
  type RoomJoin,
  type RoomLeave,
  type RoomMembers,
  type RoomPage,
} from "./presence.js";
import {
  HELD_FROM_RELEASE,
  HELD_FROM_RESERVE,
  HOLD_UNLESS_ONLINE,
  ROOM_MEMBERS,
  ROOM_PURGE_NODE,
  ROOM_SET,
  USER_CONNECT,
  USER_DISCONNECT,
} from "./redis-scripts.js";

export interface RedisPresenceOptions extends HeldCaps {
  redis: RedisConnection;
  keys: RedisKeys;
  nodeId: string;
  /** A node whose heartbeat is older than this is dead; its entries are removed. */
  heartbeatTtlMs: number;
  log: PresenceLog;
  /** How the process is doing, sent with every heartbeat for the admin dashboard; none: not sent. */
  vitals?: () => NodeVitals;
  /** Told what each reaping of a dead node took back (for metrics). */
  onReaped?: (reaped: Reaped) => void;
}

/** The presence entries taken back from a dead node. */
export interface Reaped {
  /** Users the node held (their entry for that node). */
  users: number;
  /** (room, user) memberships the node held. */
  roomMembers: number;
}

type LogMethod = (object: object, message: string) => void;

/** The log calls a Redis presence makes (a Fastify logger has them all). */
export interface PresenceLog {
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
}

/** An error's name and message, for a log line; an outage is described by what Redis's client said. */
function describeError(error: unknown): { name: string; message: string } {
  const reason = error instanceof UnavailableError && error.cause instanceof Error ? error.cause : error;
  if (reason instanceof Error) return { name: reason.name, message: reason.message };
  return { name: typeof reason, message: String(reason) };
}

/** A held DM as the inbox list keeps it: the same DM always gives the same entry, to remove it by. */
const heldEntry = (dm: DirectMessage): string =>
  JSON.stringify({
    id: dm.id,
    from: dm.from,
    to: dm.to,
    text: dm.text,
    ts: dm.ts,
    prev: dm.prev,
    ...(dm.feedId === undefined ? {} : { feedId: dm.feedId, feedPrev: dm.feedPrev }),
  });

interface AliveRecord {
  sockets: number;
  users: number;
  seenAt: number;
  vitals?: NodeVitals;
}

/**
 * Cluster-wide presence in Redis. A hash per user records the nodes that hold them (with socket
 * counts); per room, a hash counts each user's sockets cluster-wide and another per node, so a
 * dead node's share can be taken back exactly. Each node keeps a heartbeat key with a TTL; a
 * surviving node that finds a heartbeat gone removes that node's entries and announces the
 * departures. Every node also mirrors its own sockets in memory, and writes them again whenever
 * Redis lost them (a restart without persistence) or a write failed.
 */
export class RedisPresence implements Presence {
  private readonly local: MemoryPresence;
  private readonly remoteLeaveListeners: ((leave: RoomPresence) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  /** Redis may differ from the mirror: write everything again on the next heartbeat. */
  private dirty = false;
  /** A heartbeat failed for want of Redis and was logged; repeats stay quiet until one succeeds. */
  private outageLogged = false;

  constructor(private readonly options: RedisPresenceOptions) {
    const { maxHeldPerRecipient, maxHeldPerSender } = options;
    this.local = new MemoryPresence(options.nodeId, { maxHeldPerRecipient, maxHeldPerSender });
  }

  private get node(): string {
    return this.options.nodeId;
  }

  async start(): Promise<void> {
    // A node restarted under the same id starts clean: whatever its last life left is removed.
    await this.purgeNode(this.node);
    await this.writeAlive("NX");
    const interval = Math.max(100, Math.floor(this.options.heartbeatTtlMs / 3));
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.heartbeat());
    }, interval);
  }

  async userConnected(user: string, maxSockets = 0): Promise<boolean> {
    const { keys, redis } = this.options;
    // The cap is cluster-wide, so only Redis applies it; the mirror counts first and is undone on refusal.
    await this.local.userConnected(user);
    let admitted: boolean;
    try {
      // The node's user set first: should this node die right after, its reaper still finds the user.
      await redis.command(keys.nodeUsers(this.node), ["SADD", keys.nodeUsers(this.node), user]);
      admitted = (await redis.run<number>(USER_CONNECT, [keys.userNodes(user)], [this.node, String(maxSockets)])) === 1;
    } catch (error) {
      // The connection is refused: undo it here too.
      await this.local.userDisconnected(user);
      this.dirty = true;
      throw error;
    }
    if (!admitted) {
      await this.local.userDisconnected(user);
      if (this.local.socketsOf(user) === 0) {
        await this.marking(() => redis.command(keys.nodeUsers(this.node), ["SREM", keys.nodeUsers(this.node), user]));
      }
    }
    return admitted;
  }

  async userDisconnected(user: string): Promise<void> {
    const { keys, redis } = this.options;
    await this.local.userDisconnected(user);
    await this.marking(async () => {
      await redis.run(USER_DISCONNECT, [keys.userNodes(user)], [this.node]);
      if (this.local.socketsOf(user) === 0) {
        await redis.command(keys.nodeUsers(this.node), ["SREM", keys.nodeUsers(this.node), user]);
      }
    });
  }

  async joinedRoom(room: string, user: string): Promise<RoomJoin> {
    const { keys, redis } = this.options;
    await this.local.joinedRoom(room, user);
    try {
      await redis.command(keys.nodeRooms(this.node), ["SADD", keys.nodeRooms(this.node), room]);
      const [first, , members] = await this.setRoomSockets(room, user, this.local.socketsIn(room, user));
      // After the count, never before: see `unindexIfEmpty`.
      await redis.command(keys.roomIndex(), ["ZADD", keys.roomIndex(), "0", room]);
      return { firstInRoom: first === 1, members };
    } catch (error) {
      // The join did not happen: undo it here too.
      await this.local.leftRoom(room, user);
      this.dirty = true;
      throw error;
    }
  }

  async leftRoom(room: string, user: string): Promise<RoomLeave> {
    const { keys, redis } = this.options;
    await this.local.leftRoom(room, user);
    return this.marking(async () => {
      const [, last, members] = await this.setRoomSockets(room, user, this.local.socketsIn(room, user));
      if (this.local.roomMembers(room).size === 0) {
        await redis.command(keys.nodeRooms(this.node), ["SREM", keys.nodeRooms(this.node), room]);
      }
      if (members === 0) await this.unindexIfEmpty([room]);
      return { lastInRoom: last === 1, members };
    });
  }

  async membersOf(room: string, limit: number): Promise<RoomMembers> {
    const key = this.options.keys.roomUsers(room);
    const [count, ...members] = await this.options.redis.run<[number, ...string[]]>(
      ROOM_MEMBERS,
      [key],
      [String(Math.max(limit, 0))],
    );
    return { members: members.sort(compareNames), count };
  }

  /** Two round trips whatever the number of rooms: the page of names, then their counts at once. */
  async listRooms({ cursor, limit }: { cursor?: string; limit: number }): Promise<RoomPage> {
    if (limit <= 0) return { rooms: [] };
    const { keys, redis } = this.options;
    const index = keys.roomIndex();
    const start = cursor === undefined ? "-" : `(${cursor}`;
    const names = await redis.command<string[]>(index, [
      "ZRANGE",
      index,
      start,
      "+",
      "BYLEX",
      "LIMIT",
      "0",
      String(limit),
    ]);
    const counts = await Promise.all(
      names.map((room) => redis.command<number>(keys.roomUsers(room), ["HLEN", keys.roomUsers(room)])),
    );
    const rooms: RoomSummary[] = [];
    const empty: string[] = [];
    names.forEach((room, position) => {
      const members = counts[position]!;
      if (members > 0) rooms.push({ room, members });
      else empty.push(room);
    });
    // Left behind by a leave that failed half-way; rare, so the extra round trips are too.
    if (empty.length > 0) await this.unindexIfEmpty(empty);
    return names.length === limit ? { rooms, nextCursor: names.at(-1)! } : { rooms };
  }

  async nodesOf(user: string): Promise<string[]> {
    const key = this.options.keys.userNodes(user);
    return this.options.redis.command<string[]>(key, ["HKEYS", key]);
  }

  /**
   * The sender's count and the recipient's inbox live in different slots, so this takes two
   * scripts: the first reserves a place in the sender's allowance (so that concurrent DMs cannot
   * overshoot it), the second holds the DM, and the reservation is given back when it did not.
   */
  async holdUnlessOnline(dm: DirectMessage, keepForMs?: number): Promise<HoldOutcome> {
    const { keys, redis, maxHeldPerSender, maxHeldPerRecipient } = this.options;
    const recipient = [keys.userNodes(dm.to), keys.userInbox(dm.to)];
    const hold = (keep: string) =>
      redis.run<HoldOutcome>(HOLD_UNLESS_ONLINE, recipient, [heldEntry(dm), String(maxHeldPerRecipient), keep]);
    if (keepForMs === undefined) return hold("");
    // Most DMs go to users who are online: spare them the reservation and its undoing.
    if (await this.isOnline(dm.to)) return "online";
    const sender = keys.heldFrom(dm.from);
    const reserved = await redis.run<number>(
      HELD_FROM_RESERVE,
      [sender],
      [String(maxHeldPerSender), String(keepForMs)],
    );
    // At the sender's cap the DM is not held, but the recipient may have come online meanwhile.
    const outcome = await hold(reserved === 1 ? String(keepForMs) : "");
    if (reserved === 1 && outcome !== "held") await redis.run(HELD_FROM_RELEASE, [sender], []);
    return outcome;
  }

  private async isOnline(user: string): Promise<boolean> {
    const key = this.options.keys.userNodes(user);
    return (await this.options.redis.command<number>(key, ["EXISTS", key])) === 1;
  }

  async heldFor(user: string): Promise<DirectMessage[]> {
    const key = this.options.keys.userInbox(user);
    const held = await this.options.redis.command<string[]>(key, ["LRANGE", key, "0", "-1"]);
    return held.map((json) => JSON.parse(json) as DirectMessage);
  }

  async releaseHeld(dm: DirectMessage): Promise<void> {
    const { keys, redis } = this.options;
    const inbox = keys.userInbox(dm.to);
    const removed = await redis.command<number>(inbox, ["LREM", inbox, "1", heldEntry(dm)]);
    // Only the release that removed it gives the sender's place back (two sockets may acknowledge one DM).
    if (removed === 1) await redis.run(HELD_FROM_RELEASE, [keys.heldFrom(dm.from)], []);
  }

  async listNodes(): Promise<NodeSummary[]> {
    const { keys, redis } = this.options;
    const nodes = await redis.command<string[]>(keys.nodes(), ["ZRANGE", keys.nodes(), "0", "-1"]);
    const records = await Promise.all(
      nodes.map((node) => redis.command<string | null>(keys.nodeAlive(node), ["GET", keys.nodeAlive(node)])),
    );
    return nodes.flatMap((node, index) => {
      const json = records[index];
      if (!json) return [];
      const alive = JSON.parse(json) as AliveRecord;
      const summary: NodeSummary = { node, sockets: alive.sockets, users: alive.users, seenAt: alive.seenAt };
      if (alive.vitals) summary.vitals = alive.vitals;
      return [summary];
    });
  }

  localCounts(): LocalCounts {
    return this.local.localCounts();
  }

  onRemoteLeave(listener: (leave: RoomPresence) => void): void {
    this.remoteLeaveListeners.push(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    try {
      await this.purgeNode(this.node);
    } catch (error) {
      // Redis is down: the other nodes reap this node's entries when its heartbeat expires.
      this.options.log.warn({ err: error }, "could not remove this node's presence; it will expire");
    }
  }

  /** Runs a write; if it fails, the next heartbeat writes this node's whole state again. */
  private async marking<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  private setRoomSockets(room: string, user: string, sockets: number): Promise<[number, number, number]> {
    const { keys, redis } = this.options;
    return redis.run(ROOM_SET, [keys.roomUsers(room), keys.roomNodeUsers(room, this.node)], [user, String(sockets)]);
  }

  /**
   * Takes rooms found empty out of the room index, without losing a concurrent join on another
   * node. The index and a room's count live in different slots, so no script can cover both;
   * instead: remove first, then count, and put back the rooms that have members. A join writes
   * its count before it adds the room to the index. So either the join's ZADD comes after our
   * ZREM, and the room stays indexed, or it came before, and then so did the join's count, which
   * our HLEN sees: we add the room back.
   */
  private async unindexIfEmpty(rooms: string[]): Promise<void> {
    const { keys, redis } = this.options;
    const index = keys.roomIndex();
    await redis.command(index, ["ZREM", index, ...rooms]);
    const counts = await Promise.all(
      rooms.map((room) => redis.command<number>(keys.roomUsers(room), ["HLEN", keys.roomUsers(room)])),
    );
    const occupied = rooms.filter((_, position) => counts[position]! > 0);
    if (occupied.length > 0) await redis.command(index, ["ZADD", index, ...occupied.flatMap((room) => ["0", room])]);
  }

  private async writeAlive(mode: "NX" | "XX"): Promise<boolean> {
    const { keys, redis, heartbeatTtlMs } = this.options;
    const record: AliveRecord = { ...this.local.counts(), seenAt: Date.now() };
    if (this.options.vitals) record.vitals = this.options.vitals();
    const key = keys.nodeAlive(this.node);
    const written = await redis.command<string | null>(key, [
      "SET",
      key,
      JSON.stringify(record),
      "PX",
      String(heartbeatTtlMs),
      mode,
    ]);
    await redis.command(keys.nodes(), ["ZADD", keys.nodes(), String(record.seenAt), this.node]);
    return written !== null;
  }

  private async heartbeat(): Promise<void> {
    try {
      // XX fails when the key is gone: Redis lost its data, or others presumed this node dead.
      const alive = await this.writeAlive("XX");
      if (!alive || this.dirty) {
        this.dirty = false;
        await this.rewriteState();
        await this.writeAlive("NX");
        this.options.log.info({ lostHeartbeat: !alive }, "wrote this node's presence to Redis again");
      }
      await this.reapDeadNodes();
      this.outageLogged = false;
    } catch (error) {
      this.dirty = true;
      this.logHeartbeatFailure(error);
    }
  }

  /**
   * Logs a failed heartbeat without flooding the log: an outage at warn once (and at debug while
   * it lasts; the connection logs the outage itself too), any other error, a bug such as a script
   * error or a key of the wrong type, every time.
   */
  private logHeartbeatFailure(error: unknown): void {
    const context = { err: describeError(error) };
    if (!(error instanceof UnavailableError)) {
      this.options.log.error(context, "presence heartbeat failed");
    } else if (this.outageLogged) {
      this.options.log.debug(context, "presence heartbeat failed again; Redis is still unreachable");
    } else {
      this.outageLogged = true;
      this.options.log.warn(context, "presence heartbeat failed; this node's presence will be written again");
    }
  }

  /** Makes Redis hold exactly this node's mirror, announcing the joins and leaves that makes. */
  private async rewriteState(): Promise<void> {
    const { keys, redis } = this.options;
    const inRedis = await redis.command<string[]>(keys.nodeRooms(this.node), ["SMEMBERS", keys.nodeRooms(this.node)]);
    for (const room of new Set([...inRedis, ...this.local.roomNames()])) {
      const nodeKey = keys.roomNodeUsers(room, this.node);
      const stored = await redis.command<string[]>(nodeKey, ["HKEYS", nodeKey]);
      const mirror = this.local.roomMembers(room);
      let emptied = false;
      for (const user of new Set([...stored, ...mirror.keys()])) {
        const [, last, members] = await this.setRoomSockets(room, user, mirror.get(user) ?? 0);
        if (last === 1) this.announceLeave({ room, user, event: "leave", members });
        emptied = members === 0;
      }
      const command = mirror.size > 0 ? "SADD" : "SREM";
      await redis.command(keys.nodeRooms(this.node), [command, keys.nodeRooms(this.node), room]);
      if (mirror.size > 0) await redis.command(keys.roomIndex(), ["ZADD", keys.roomIndex(), "0", room]);
      else if (emptied) await this.unindexIfEmpty([room]);
    }
    const users = await redis.command<string[]>(keys.nodeUsers(this.node), ["SMEMBERS", keys.nodeUsers(this.node)]);
    for (const user of users) {
      if (this.local.socketsOf(user) > 0) continue;
      await redis.command(keys.userNodes(user), ["HDEL", keys.userNodes(user), this.node]);
      await redis.command(keys.nodeUsers(this.node), ["SREM", keys.nodeUsers(this.node), user]);
    }
    for (const [user, sockets] of this.local.userEntries()) {
      await redis.command(keys.nodeUsers(this.node), ["SADD", keys.nodeUsers(this.node), user]);
      await redis.command(keys.userNodes(user), ["HSET", keys.userNodes(user), this.node, String(sockets)]);
    }
  }

  /** Removes the entries of nodes whose heartbeat expired, one reaper per dead node. */
  private async reapDeadNodes(): Promise<void> {
    const { keys, redis, heartbeatTtlMs } = this.options;
    const stale = await redis.command<string[]>(keys.nodes(), [
      "ZRANGEBYSCORE",
      keys.nodes(),
      "-inf",
      String(Date.now() - heartbeatTtlMs),
    ]);
    for (const node of stale) {
      if (node === this.node) continue;
      const alive = await redis.command<number>(keys.nodeAlive(node), ["EXISTS", keys.nodeAlive(node)]);
      if (alive === 1) continue;
      const lock = keys.nodeReaper(node);
      const claimed = await redis.command<string | null>(lock, [
        "SET",
        lock,
        this.node,
        "NX",
        "PX",
        String(heartbeatTtlMs),
      ]);
      if (claimed === null) continue;
      this.options.log.info({ deadNode: node }, "removing the presence of a dead node");
      const reaped = await this.purgeNode(node);
      this.options.onReaped?.(reaped);
    }
  }

  /** Takes back every entry of `node`, announcing who left which room; says how many it took. */
  private async purgeNode(node: string): Promise<Reaped> {
    const { keys, redis } = this.options;
    const rooms = await redis.command<string[]>(keys.nodeRooms(node), ["SMEMBERS", keys.nodeRooms(node)]);
    const emptied: string[] = [];
    let roomMembers = 0;
    for (const room of rooms) {
      const [members, held, ...left] = await redis.run<[number, number, ...string[]]>(
        ROOM_PURGE_NODE,
        [keys.roomUsers(room), keys.roomNodeUsers(room, node)],
        [],
      );
      roomMembers += held;
      for (const user of left) this.announceLeave({ room, user, event: "leave", members });
      if (members === 0) emptied.push(room);
    }
    if (emptied.length > 0) await this.unindexIfEmpty(emptied);
    const users = await redis.command<string[]>(keys.nodeUsers(node), ["SMEMBERS", keys.nodeUsers(node)]);
    for (const user of users) await redis.command(keys.userNodes(user), ["HDEL", keys.userNodes(user), node]);
    for (const key of [keys.nodeRooms(node), keys.nodeUsers(node), keys.nodeAlive(node)]) {
      await redis.command(key, ["DEL", key]);
    }
    await redis.command(keys.nodes(), ["ZREM", keys.nodes(), node]);
    return { users: users.length, roomMembers };
  }

  private announceLeave(leave: RoomPresence): void {
    for (const listener of this.remoteLeaveListeners) listener(leave);
  }
}
