import type { DirectMessage, RoomPresence, RoomSummary } from "../../protocol/index.js";

/** Sorts a room listing by name, in place, as `Presence.listRooms` answers it. */
export function sortByRoom(rooms: RoomSummary[]): RoomSummary[] {
  return rooms.sort((a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : 0));
}

/** What one node holds, for the admin listing. */
export interface NodeSummary {
  node: string;
  sockets: number;
  users: number;
  /** Epoch ms of the node's last heartbeat (now, for the embedded node). */
  seenAt: number;
}

export interface RoomJoin {
  /** This was the user's first socket in the room, cluster-wide. */
  firstInRoom: boolean;
  /** Distinct users in the room after the join. */
  members: number;
}

export interface RoomLeave {
  /** This was the user's last socket in the room, cluster-wide. */
  lastInRoom: boolean;
  members: number;
}

/**
 * Who is connected, on which node, and in which rooms, counted per socket so that a user with
 * several tabs joins once and leaves once. Every method counts the calling node's sockets; the
 * implementation knows which node it runs on.
 */
export interface Presence {
  /** Starts background work (heartbeats, reaping dead nodes). */
  start(): Promise<void>;
  /** A socket of `user` connected to this node. */
  userConnected(user: string): Promise<void>;
  /** A socket of `user` left this node. */
  userDisconnected(user: string): Promise<void>;
  /** A socket of `user` on this node joined `room`. */
  joinedRoom(room: string, user: string): Promise<RoomJoin>;
  /** A socket of `user` on this node left `room`. */
  leftRoom(room: string, user: string): Promise<RoomLeave>;
  /** Distinct users in the room, sorted. */
  membersOf(room: string): Promise<string[]>;
  /** Rooms with at least one member, sorted by name. */
  listRooms(): Promise<RoomSummary[]>;
  /** The nodes that hold at least one socket of `user`. */
  nodesOf(user: string): Promise<string[]>;
  /**
   * Atomically: if `dm.to` is online, returns true; otherwise, when `keepForMs` is given, keeps
   * `dm` in their inbox (which lapses `keepForMs` after the last DM held) and returns false.
   * Without `keepForMs` nothing is held: the recipient gets only live DMs.
   */
  holdUnlessOnline(dm: DirectMessage, keepForMs?: number): Promise<boolean>;
  /** The DMs held for `user`, oldest first. They stay held until released. */
  heldFor(user: string): Promise<DirectMessage[]>;
  /** Stops holding `dm` for its recipient: a client of theirs has it. */
  releaseHeld(dm: DirectMessage): Promise<void>;
  /** Live nodes and their counts. */
  listNodes(): Promise<NodeSummary[]>;
  /**
   * Called when users leave rooms without a socket of this node saying so: a dead node's users,
   * reaped by this one. The listener broadcasts the leave events.
   */
  onRemoteLeave(listener: (leave: RoomPresence) => void): void;
  /** Removes this node's entries (so others see its users leave) and stops background work. */
  close(): Promise<void>;
}
