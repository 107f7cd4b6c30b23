import type { DirectMessage, RoomPresence, RoomSummary } from "../../protocol/index.js";
import { sortByRoom, type NodeSummary, type Presence, type RoomJoin, type RoomLeave } from "./presence.js";

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
  private readonly inboxes = new Map<string, { messages: DirectMessage[]; expiresAt: number }>();

  constructor(
    private readonly nodeId: string,
    private readonly maxHeldPerUser: number,
  ) {}

  async start(): Promise<void> {}

  async userConnected(user: string): Promise<void> {
    increment(this.users, user, 1);
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

  async holdUnlessOnline(dm: DirectMessage, keepForMs?: number): Promise<boolean> {
    if (this.users.has(dm.to)) return true;
    if (keepForMs === undefined) return false;
    const messages = this.inbox(dm.to);
    messages.push(dm);
    if (messages.length > this.maxHeldPerUser) messages.splice(0, messages.length - this.maxHeldPerUser);
    this.inboxes.set(dm.to, { messages, expiresAt: Date.now() + keepForMs });
    return false;
  }

  async heldFor(user: string): Promise<DirectMessage[]> {
    return [...this.inbox(user)];
  }

  async releaseHeld(dm: DirectMessage): Promise<void> {
    const messages = this.inbox(dm.to);
    const index = messages.findIndex((held) => held.id === dm.id && held.from === dm.from);
    if (index >= 0) messages.splice(index, 1);
    if (messages.length === 0) this.inboxes.delete(dm.to);
  }

  /** The live inbox of `user` (empty once it lapsed). */
  private inbox(user: string): DirectMessage[] {
    const inbox = this.inboxes.get(user);
    if (inbox && inbox.expiresAt > Date.now()) return inbox.messages;
    this.inboxes.delete(user);
    return [];
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
