import type { DirectMessage, RoomPresence, RoomSummary } from "../../protocol/index.js";
import { sortByRoom, type NodeSummary, type Presence, type RoomJoin, type RoomLeave, type UserConnect } from "./presence.js";

function increment(counts: Map<string, number>, key: string, by: number): number {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
  return Math.max(next, 0);
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
  private readonly inboxes = new Map<string, DirectMessage[]>();

  constructor(
    private readonly nodeId: string,
    private readonly maxHeldPerUser: number,
  ) {}

  async start(): Promise<void> {}

  async userConnected(user: string): Promise<UserConnect> {
    increment(this.users, user, 1);
    const held = this.inboxes.get(user) ?? [];
    this.inboxes.delete(user);
    return { held };
  }

  async userDisconnected(user: string): Promise<void> {
    increment(this.users, user, -1);
  }

  async joinedRoom(room: string, user: string): Promise<RoomJoin> {
    let members = this.rooms.get(room);
    if (!members) this.rooms.set(room, (members = new Map()));
    const sockets = increment(members, user, 1);
    return { firstInRoom: sockets === 1, members: members.size };
  }

  async leftRoom(room: string, user: string): Promise<RoomLeave> {
    const members = this.rooms.get(room);
    if (!members?.has(user)) return { lastInRoom: false, members: members?.size ?? 0 };
    const sockets = increment(members, user, -1);
    if (members.size === 0) this.rooms.delete(room);
    return { lastInRoom: sockets === 0, members: members.size };
  }

  async membersOf(room: string): Promise<string[]> {
    return [...(this.rooms.get(room)?.keys() ?? [])].sort();
  }

  async listRooms(): Promise<RoomSummary[]> {
    return sortByRoom([...this.rooms].map(([room, members]) => ({ room, members: members.size })));
  }

  async nodesOf(user: string): Promise<string[]> {
    return this.users.has(user) ? [this.nodeId] : [];
  }

  async holdUnlessOnline(dm: DirectMessage): Promise<boolean> {
    if (this.users.has(dm.to)) return true;
    const inbox = this.inboxes.get(dm.to) ?? [];
    inbox.push(dm);
    if (inbox.length > this.maxHeldPerUser) inbox.splice(0, inbox.length - this.maxHeldPerUser);
    this.inboxes.set(dm.to, inbox);
    return false;
  }

  async listNodes(): Promise<NodeSummary[]> {
    return [{ node: this.nodeId, ...this.counts(), seenAt: Date.now() }];
  }

  onRemoteLeave(_listener: (leave: RoomPresence) => void): void {
    // One node has no remote users to lose.
  }

  async close(): Promise<void> {
    this.users.clear();
    this.rooms.clear();
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
