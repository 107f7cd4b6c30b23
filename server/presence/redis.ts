import type { DirectMessage, RoomPresence, RoomSummary } from "../../protocol/index.js";
import { UnavailableError } from "../errors.js";
import type { RedisConnection } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import { MemoryPresence } from "./memory.js";
import { sortByRoom, type NodeSummary, type Presence, type RoomJoin, type RoomLeave } from "./presence.js";
import { HOLD_UNLESS_ONLINE, ROOM_PURGE_NODE, ROOM_SET, USER_DISCONNECT } from "./redis-scripts.js";

export interface RedisPresenceOptions {
  redis: RedisConnection;
  keys: RedisKeys;
  nodeId: string;
  /** A node whose heartbeat is older than this is dead; its entries are removed. */
  heartbeatTtlMs: number;
  /** DMs held per offline user. */
  maxHeldPerUser: number;
  log: PresenceLog;
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
  JSON.stringify({ id: dm.id, from: dm.from, to: dm.to, text: dm.text, ts: dm.ts, prev: dm.prev });

/** A room with no members is dropped from the room index once it has been empty this long. */
const EMPTY_ROOM_GRACE_MS = 60_000;

interface AliveRecord {
  sockets: number;
  users: number;
  seenAt: number;
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
    this.local = new MemoryPresence(options.nodeId, options.maxHeldPerUser);
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

  async userConnected(user: string): Promise<void> {
    const { keys, redis } = this.options;
    await this.local.userConnected(user);
    try {
      await redis.command(keys.nodeUsers(this.node), ["SADD", keys.nodeUsers(this.node), user]);
      await redis.command(keys.userNodes(user), ["HINCRBY", keys.userNodes(user), this.node, "1"]);
    } catch (error) {
      // The connection is refused: undo it here too.
      await this.local.userDisconnected(user);
      this.dirty = true;
      throw error;
    }
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
      await redis.command(keys.rooms(), ["ZADD", keys.rooms(), String(Date.now()), room]);
      const [first, , members] = await this.setRoomSockets(room, user, this.local.socketsIn(room, user));
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
      return { lastInRoom: last === 1, members };
    });
  }

  async membersOf(room: string): Promise<string[]> {
    const key = this.options.keys.roomUsers(room);
    const users = await this.options.redis.command<string[]>(key, ["HKEYS", key]);
    return users.sort();
  }

  async listRooms(): Promise<RoomSummary[]> {
    const { keys, redis } = this.options;
    const candidates = await redis.command<string[]>(keys.rooms(), ["ZRANGE", keys.rooms(), "0", "-1", "WITHSCORES"]);
    const rooms: RoomSummary[] = [];
    const stale: string[] = [];
    const counts = await Promise.all(
      candidates
        .filter((_, index) => index % 2 === 0)
        .map((room) => redis.command<number>(keys.roomUsers(room), ["HLEN", keys.roomUsers(room)])),
    );
    counts.forEach((members, index) => {
      const room = candidates[index * 2]!;
      if (members > 0) rooms.push({ room, members });
      else if (Number(candidates[index * 2 + 1]) < Date.now() - EMPTY_ROOM_GRACE_MS) stale.push(room);
    });
    if (stale.length > 0) await redis.command(keys.rooms(), ["ZREM", keys.rooms(), ...stale]);
    return sortByRoom(rooms);
  }

  async nodesOf(user: string): Promise<string[]> {
    const key = this.options.keys.userNodes(user);
    return this.options.redis.command<string[]>(key, ["HKEYS", key]);
  }

  async holdUnlessOnline(dm: DirectMessage, keepForMs?: number): Promise<boolean> {
    const { keys, redis } = this.options;
    const online = await redis.run<number>(
      HOLD_UNLESS_ONLINE,
      [keys.userNodes(dm.to), keys.userInbox(dm.to)],
      [heldEntry(dm), String(this.options.maxHeldPerUser), keepForMs === undefined ? "" : String(keepForMs)],
    );
    return online === 1;
  }

  async heldFor(user: string): Promise<DirectMessage[]> {
    const key = this.options.keys.userInbox(user);
    const held = await this.options.redis.command<string[]>(key, ["LRANGE", key, "0", "-1"]);
    return held.map((json) => JSON.parse(json) as DirectMessage);
  }

  async releaseHeld(dm: DirectMessage): Promise<void> {
    const key = this.options.keys.userInbox(dm.to);
    await this.options.redis.command(key, ["LREM", key, "1", heldEntry(dm)]);
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
      return [{ node, sockets: alive.sockets, users: alive.users, seenAt: alive.seenAt }];
    });
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

  private async writeAlive(mode: "NX" | "XX"): Promise<boolean> {
    const { keys, redis, heartbeatTtlMs } = this.options;
    const record: AliveRecord = { ...this.local.counts(), seenAt: Date.now() };
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
      for (const user of new Set([...stored, ...mirror.keys()])) {
        const [, last, members] = await this.setRoomSockets(room, user, mirror.get(user) ?? 0);
        if (last === 1) this.announceLeave({ room, user, event: "leave", members });
      }
      const command = mirror.size > 0 ? "SADD" : "SREM";
      await redis.command(keys.nodeRooms(this.node), [command, keys.nodeRooms(this.node), room]);
      if (mirror.size > 0) await redis.command(keys.rooms(), ["ZADD", keys.rooms(), String(Date.now()), room]);
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
      await this.purgeNode(node);
    }
  }

  /** Takes back every entry of `node`, announcing who left which room. */
  private async purgeNode(node: string): Promise<void> {
    const { keys, redis } = this.options;
    const rooms = await redis.command<string[]>(keys.nodeRooms(node), ["SMEMBERS", keys.nodeRooms(node)]);
    for (const room of rooms) {
      const [members, ...left] = await redis.run<[number, ...string[]]>(
        ROOM_PURGE_NODE,
        [keys.roomUsers(room), keys.roomNodeUsers(room, node)],
        [],
      );
      for (const user of left) this.announceLeave({ room, user, event: "leave", members });
    }
    const users = await redis.command<string[]>(keys.nodeUsers(node), ["SMEMBERS", keys.nodeUsers(node)]);
    for (const user of users) await redis.command(keys.userNodes(user), ["HDEL", keys.userNodes(user), node]);
    for (const key of [keys.nodeRooms(node), keys.nodeUsers(node), keys.nodeAlive(node)]) {
      await redis.command(key, ["DEL", key]);
    }
    await redis.command(keys.nodes(), ["ZREM", keys.nodes(), node]);
  }

  private announceLeave(leave: RoomPresence): void {
    for (const listener of this.remoteLeaveListeners) listener(leave);
  }
}
