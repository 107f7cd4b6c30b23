import type { RoomSummary } from "../../protocol/index.js";
import type { Presence } from "./presence.js";

/** Rooms asked per page of the listing while looking for the busiest. */
const PAGE = 500;

export interface BusiestRooms {
  /** The rooms with the most members, most first (ties by name). */
  rooms: RoomSummary[];
  /** Rooms with members looked at. */
  scanned: number;
  /** False when there were more rooms than `maxScanned`: the busiest are those of the first ones by name. */
  complete: boolean;
}

/**
 * The `limit` rooms with the most members, cluster-wide, from the room listing: a page costs two
 * Redis round trips, and no more than `maxScanned` rooms are looked at.
 */
export async function busiestRooms(presence: Presence, limit: number, maxScanned: number): Promise<BusiestRooms> {
  const seen: RoomSummary[] = [];
  let cursor: string | undefined;
  // Pages, not rooms, bound the work: a page may come back short (rooms emptied meanwhile).
  for (let asked = 0; asked < maxScanned && (asked === 0 || cursor !== undefined);) {
    const size = Math.min(PAGE, maxScanned - asked);
    const page = await presence.listRooms({ cursor, limit: size });
    asked += size;
    seen.push(...page.rooms);
    cursor = page.nextCursor;
  }
  const rooms = seen
    .sort((a, b) => b.members - a.members || (a.room < b.room ? -1 : a.room > b.room ? 1 : 0))
    .slice(0, limit);
  return { rooms, scanned: seen.length, complete: cursor === undefined };
}
