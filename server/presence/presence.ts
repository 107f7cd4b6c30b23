import type { DirectMessage, RoomPresence, RoomSummary } from "../../protocol/index.js";

/**
 * Orders names by code point, which is the byte order of their UTF-8 (Redis's lexicographic
 * order), so that every implementation sorts and pages alike. `<` on strings compares UTF-16
 * code units instead, which puts U+E000–U+FFFF after the astral planes.
 */
export function compareNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const left = a.codePointAt(index)!;
    const right = b.codePointAt(index)!;
    if (left !== right) return left - right;
    // Both are the same astral character: skip its second code unit.
    if (left > 0xffff) index++;
  }
  return a.length - b.length;
}

/** How a node process is doing, as it last told the others (for the admin dashboard). */
export interface NodeVitals {
  /** V8 heap in use, bytes. */
  heapUsedBytes: number;
  /** Resident memory of the process, bytes. */
  rssBytes: number;
  /** 99th percentile of the event loop's delay since the node's previous report, milliseconds. */
  eventLoopLagMs: number;
  uptimeSeconds: number;
  /** Room messages and DMs this node appended since it started. */
  messages: number;
}

/** What one node holds, for the admin listing. */
export interface NodeSummary {
  node: string;
  sockets: number;
  users: number;
  /** Epoch ms of the node's last heartbeat (now, for the embedded node). */
  seenAt: number;
  /** Present when the node reports them (its admin dashboard is on). */
  vitals?: NodeVitals;
}

/** What this node holds right now, from its own memory. */
export interface LocalCounts {
  sockets: number;
  /** Distinct users with a socket here. */
  users: number;
  /** Rooms with a member here. */
  rooms: number;
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

/** Some members of a room, and how many there are in all. */
export interface RoomMembers {
  /** At most the `limit` asked for, sorted by name (`compareNames`). */
  members: string[];
  /** Distinct users in the room. */
  count: number;
}

/** One page of the room listing. */
export interface RoomPage {
  /** Rooms with at least one member, by name (`compareNames`). */
  rooms: RoomSummary[];
  /** Present when there may be more rooms: pass it as `cursor` to get the next page. */
  nextCursor?: string;
}

/** Bounds of the DMs held for offline users, so that no sender can crowd out the others' DMs. */
export interface HeldCaps {
  /** DMs one inbox holds; once it is full, more DMs are not held (the ones it holds stay). 0 holds none. */
  maxHeldPerRecipient: number;
  /**
   * DMs of one sender held at once, across all recipients; a released DM gives its place back. The
   * count lapses with the sender's last DM held, as an inbox does. 0 holds none.
   */
  maxHeldPerSender: number;
}

/**
 * What became of a DM sent to a user: `online` (a socket of theirs gets it live), `held` (kept
 * in their inbox until they connect), or `not_held` (nobody gets it later: no holding time was
 * given, or the recipient's inbox or the sender's allowance of held DMs is full).
 */
export type HoldOutcome = "online" | "held" | "not_held";

/**
 * Who is connected, on which node, and in which rooms, counted per socket so that a user with
 * several tabs joins once and leaves once. Every method counts the calling node's sockets; the
 * implementation knows which node it runs on.
 */
export interface Presence {
  /** Starts background work (heartbeats, reaping dead nodes). */
  start(): Promise<void>;
  /**
   * A socket of `user` connected to this node. With `maxSockets` > 0, atomically refuses
   * (returns false, records nothing) when the user already has `maxSockets` sockets
   * cluster-wide. 0 or no `maxSockets`: no cap.
   */
  userConnected(user: string, maxSockets?: number): Promise<boolean>;
  /** A socket of `user` left this node. */
  userDisconnected(user: string): Promise<void>;
  /** A socket of `user` on this node joined `room`. */
  joinedRoom(room: string, user: string): Promise<RoomJoin>;
  /** A socket of `user` on this node left `room`. */
  leftRoom(room: string, user: string): Promise<RoomLeave>;
  /**
   * Some `limit` members of the room (all of them when there are no more), sorted, and the
   * total of distinct users. The work is bounded by `limit`, not by the size of the room, so
   * which members a huge room answers with is unspecified.
   */
  membersOf(room: string, limit: number): Promise<RoomMembers>;
  /**
   * One page of at most `limit` rooms with at least one member, by name, after `cursor` (the
   * `nextCursor` of the previous page; none for the first). Page until there is no `nextCursor`:
   * a page may be shorter than `limit` and still have one.
   */
  listRooms(page: { cursor?: string; limit: number }): Promise<RoomPage>;
  /** The nodes that hold at least one socket of `user`. */
  nodesOf(user: string): Promise<string[]>;
  /**
   * "online" when `dm.to` has a socket; otherwise, when `keepForMs` is given and neither cap is
   * reached (the recipient's inbox, the DMs the sender has held), keeps `dm` in the inbox (which
   * lapses `keepForMs` after the last DM held) and answers "held"; else "not_held". Never evicts
   * a DM already held. Without `keepForMs` the recipient gets only live DMs.
   */
  holdUnlessOnline(dm: DirectMessage, keepForMs?: number): Promise<HoldOutcome>;
  /** The DMs held for `user`, oldest first. They stay held until released. */
  heldFor(user: string): Promise<DirectMessage[]>;
  /** Stops holding `dm` for its recipient: a client of theirs has it. Its sender may hold one more. */
  releaseHeld(dm: DirectMessage): Promise<void>;
  /** Live nodes and their counts. */
  listNodes(): Promise<NodeSummary[]>;
  /** This node's own counts, without a round trip (for metrics, read at scrape time). */
  localCounts(): LocalCounts;
  /**
   * Called when users leave rooms without a socket of this node saying so: a dead node's users,
   * reaped by this one. The listener broadcasts the leave events.
   */
  onRemoteLeave(listener: (leave: RoomPresence) => void): void;
  /** Removes this node's entries (so others see its users leave) and stops background work. */
  close(): Promise<void>;
}
