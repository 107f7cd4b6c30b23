import type { DirectMessage, RoomPresence } from "../../protocol/index.js";
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

function increment(counts: Map<string, number>, key: string, by: number): number {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
  return Math.max(next, 0);
}

/** The index of the first name in `sorted` that comes after `name` (or equals it, unless `after`). */
function searchNames(sorted: readonly string[], name: string, after: boolean): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = compareNames(sorted[middle]!, name);
    if (order < 0 || (after && order === 0)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Something that lapses `keepForMs` after it was last refreshed. */
interface Lapsing<T> {
  value: T;
  expiresAt: number;
}

/**
 * Presence of one node in its own memory: the embedded default, and the local mirror a Redis
 * presence keeps so that it can write its entries again after Redis lost them.
 */
export class MemoryPresence implements Presence {
  /** user → sockets */
  private readonly users = new Map<string, number>();
  /** room → user → sockets */
  private readonly rooms = new Map<string, Map<string, number>>();
  /** The keys of `rooms`, kept sorted so that a page of the listing costs its own size, not the total. */
  private readonly roomIndex: string[] = [];
  /** recipient → their held DMs, oldest first */
  private readonly inboxes = new Map<string, Lapsing<DirectMessage[]>>();
  /** sender → how many of their DMs are held (lapsing like the Redis counter, with the last DM held) */
  private readonly heldFromSender = new Map<string, Lapsing<number>>();

  /** @param vitals how the process is doing, for `listNodes` (the admin dashboard); none: not listed. */
  constructor(
    private readonly nodeId: string,
    private readonly caps: HeldCaps,
    private readonly vitals?: () => NodeVitals,
  ) {}

  async start(): Promise<void> {}

  async userConnected(user: string, maxSockets = 0): Promise<boolean> {
    // One node: its own count is the user's total.
    if (maxSockets > 0 && this.socketsOf(user) >= maxSockets) return false;
    increment(this.users, user, 1);
    return true;
  }

  async userDisconnected(user: string): Promise<void> {
    increment(this.users, user, -1);
  }

  async joinedRoom(room: string, user: string): Promise<RoomJoin> {
    let members = this.rooms.get(room);
    if (!members) {
      this.rooms.set(room, (members = new Map()));
      this.roomIndex.splice(searchNames(this.roomIndex, room, false), 0, room);
    }
    const sockets = increment(members, user, 1);
    return { firstInRoom: sockets === 1, members: members.size };
  }

  async leftRoom(room: string, user: string): Promise<RoomLeave> {
    const members = this.rooms.get(room);
    if (!members?.has(user)) return { lastInRoom: false, members: members?.size ?? 0 };
    const sockets = increment(members, user, -1);
    if (members.size === 0) this.forgetRoom(room);
    return { lastInRoom: sockets === 0, members: members.size };
  }

  async membersOf(room: string, limit: number): Promise<RoomMembers> {
    const members = this.rooms.get(room);
    if (!members) return { members: [], count: 0 };
    return { members: [...members.keys()].sort(compareNames).slice(0, Math.max(limit, 0)), count: members.size };
  }

  async listRooms({ cursor, limit }: { cursor?: string; limit: number }): Promise<RoomPage> {
    const start = cursor === undefined ? 0 : searchNames(this.roomIndex, cursor, true);
    const names = this.roomIndex.slice(start, start + Math.max(limit, 0));
    const rooms = names.map((room) => ({ room, members: this.rooms.get(room)!.size }));
    // As on Redis: a full page may have a next one; a short page is the last.
    return names.length > 0 && names.length === limit ? { rooms, nextCursor: names.at(-1)! } : { rooms };
  }

  async nodesOf(user: string): Promise<string[]> {
    return this.users.has(user) ? [this.nodeId] : [];
  }

  async holdUnlessOnline(dm: DirectMessage, keepForMs?: number): Promise<HoldOutcome> {
    if (this.users.has(dm.to)) return "online";
    if (keepForMs === undefined) return "not_held";
    const fromSender = this.live(this.heldFromSender, dm.from) ?? 0;
    const inbox = this.live(this.inboxes, dm.to) ?? [];
    if (fromSender >= this.caps.maxHeldPerSender || inbox.length >= this.caps.maxHeldPerRecipient) return "not_held";
    const expiresAt = Date.now() + keepForMs;
    this.heldFromSender.set(dm.from, { value: fromSender + 1, expiresAt });
    inbox.push(dm);
    this.inboxes.set(dm.to, { value: inbox, expiresAt });
    return "held";
  }

  async heldFor(user: string): Promise<DirectMessage[]> {
    return [...(this.live(this.inboxes, user) ?? [])];
  }

  async releaseHeld(dm: DirectMessage): Promise<void> {
    const messages = this.live(this.inboxes, dm.to) ?? [];
    const index = messages.findIndex((held) => held.id === dm.id && held.from === dm.from);
    if (index < 0) return;
    messages.splice(index, 1);
    if (messages.length === 0) this.inboxes.delete(dm.to);
    const fromSender = this.live(this.heldFromSender, dm.from) ?? 0;
    if (fromSender > 1) this.heldFromSender.get(dm.from)!.value = fromSender - 1;
    else this.heldFromSender.delete(dm.from);
  }

  /** The value under `key` while it has not lapsed; a lapsed one is dropped. */
  private live<T>(entries: Map<string, Lapsing<T>>, key: string): T | undefined {
    const entry = entries.get(key);
    if (entry && entry.expiresAt > Date.now()) return entry.value;
    entries.delete(key);
    return undefined;
  }

  async listNodes(): Promise<NodeSummary[]> {
    const summary: NodeSummary = { node: this.nodeId, ...this.counts(), seenAt: Date.now() };
    if (this.vitals) summary.vitals = this.vitals();
    return [summary];
  }

  localCounts(): LocalCounts {
    return { ...this.counts(), rooms: this.rooms.size };
  }

  onRemoteLeave(_listener: (leave: RoomPresence) => void): void {
    // One node has no remote users to lose.
  }

  async close(): Promise<void> {
    this.users.clear();
    this.rooms.clear();
    this.roomIndex.length = 0;
  }

  private forgetRoom(room: string): void {
    this.rooms.delete(room);
    this.roomIndex.splice(searchNames(this.roomIndex, room, false), 1);
  }

  /** This node's socket and user counts. */
  counts(): { sockets: number; users: number } {
    let sockets = 0;
    for (const count of this.users.values()) sockets += count;
    return { sockets, users: this.users.size };
  }

  /** Sockets of `user` on this node in `room`. */
  socketsIn(room: string, user: string): number {
    return this.rooms.get(room)?.get(user) ?? 0;
  }

  /** Sockets of `user` on this node. */
  socketsOf(user: string): number {
    return this.users.get(user) ?? 0;
  }

  /** Users of `room` on this node, with their sockets. */
  roomMembers(room: string): ReadonlyMap<string, number> {
    return this.rooms.get(room) ?? new Map();
  }

  /** Rooms with sockets on this node. */
  roomNames(): string[] {
    return [...this.rooms.keys()];
  }

  /** Every (user, sockets) on this node, for writing them to a shared store again. */
  userEntries(): IterableIterator<[string, number]> {
    return this.users.entries();
  }
}
