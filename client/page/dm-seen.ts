import type { DirectMessage } from "roomcast-client";
import { storage } from "./identity.js";

/** Items are `roomcast.dm-seen:<server>:<user>`: the newest DM feed id shown in this browser. */
const ITEM_PREFIX = "roomcast.dm-seen:";

/**
 * Which DMs this browser has shown already. After a reload the SDK reads the user's DM feed
 * again (its newest DMs): those up to the newest one shown before are not new, and count as read.
 * Feed ids sort as strings, in feed order.
 */
export class SeenDirect {
  readonly #item: string;
  #newest: string;

  constructor(server: string, user: string) {
    this.#item = `${ITEM_PREFIX}${server}:${user}`;
    let stored: string | null | undefined;
    try {
      stored = storage("localStorage")?.getItem(this.#item);
    } catch {
      stored = undefined;
    }
    this.#newest = stored ?? "";
  }

  /** Whether this browser shows `dm` for the first time; remembers that it has now. */
  isNew(dm: DirectMessage): boolean {
    // Without a place in a feed (a name without a key), a DM comes live only: always new.
    if (dm.feedId === undefined) return true;
    if (dm.feedId <= this.#newest) return false;
    this.#newest = dm.feedId;
    try {
      storage("localStorage")?.setItem(this.#item, dm.feedId);
    } catch {
      // Storage full or disabled: after a reload these count as unread again, nothing worse.
    }
    return true;
  }
}
