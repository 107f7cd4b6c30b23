import { LIMITS, type PendingEntry } from "roomcast-client";
import { storage } from "./identity.js";

/** A message the page keeps in `localStorage` until the server acknowledged (or refused) it. */
export type SavedSend =
  | { kind: "room"; room: string; text: string; clientId: string; queuedAt: number }
  | { kind: "dm"; to: string; text: string; clientId: string; queuedAt: number };

/**
 * Items are `roomcast.outbox:<server>:<user>:<tab>`: each tab writes its own item only, so two
 * tabs never overwrite each other's entries.
 */
const ITEM_PREFIX = "roomcast.outbox:";
/** The Web Lock each tab holds while it lives: an item whose tab's lock is free was left behind. */
const TAB_LOCK_PREFIX = "roomcast.tab:";
/** Held while one tab adopts a user's left-behind items, so that two tabs cannot both take them. */
const ADOPT_LOCK_PREFIX = "roomcast.outbox-adopt:";

/** Web Locks, where the browser has them (secure contexts: https, and http on localhost). */
function webLocks(): LockManager | undefined {
  return typeof navigator === "object" && "locks" in navigator ? navigator.locks : undefined;
}

let tab: Promise<string> | undefined;

/**
 * This page load's id. Its lock is taken before the id is handed out and held until the page
 * goes away (a reload too), which is how other loads tell a live tab from a closed one.
 */
function thisTab(locks: LockManager | undefined): Promise<string> {
  tab ??= new Promise<string>((resolve) => {
    const id = Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) => byte.toString(16).padStart(2, "0")).join(
      "",
    );
    if (!locks) return resolve(id);
    void locks.request(`${TAB_LOCK_PREFIX}${id}`, () => {
      resolve(id);
      // Never settles: the browser releases the lock when the page is gone.
      return new Promise<never>(() => {});
    });
  });
  return tab;
}

/** The entries of a stored item that have the shape of a `SavedSend`; anything else is dropped. */
export function parseSaved(text: string | null): SavedSend[] {
  let value: unknown;
  try {
    value = JSON.parse(text ?? "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const saved: SavedSend[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const { kind, room, to, text: body, clientId, queuedAt } = item as Record<string, unknown>;
    if (typeof body !== "string" || typeof clientId !== "string" || typeof queuedAt !== "number") continue;
    if (clientId.length < LIMITS.clientId.min || clientId.length > LIMITS.clientId.max) continue;
    if (kind === "room" && typeof room === "string") saved.push({ kind, room, text: body, clientId, queuedAt });
    if (kind === "dm" && typeof to === "string") saved.push({ kind, to, text: body, clientId, queuedAt });
  }
  return saved;
}

/** What the page keeps of an SDK outbox entry: enough to send it again under the same `clientId`. */
export function toSaved(entry: PendingEntry): SavedSend {
  const { text, clientId, queuedAt } = entry;
  return entry.kind === "room"
    ? { kind: "room", room: entry.room, text, clientId, queuedAt }
    : { kind: "dm", to: entry.to, text, clientId, queuedAt };
}

/**
 * One user's unsent messages on one chat server, kept in `localStorage` so that they survive a
 * reload or a closed tab and are sent again, under their `clientId`, at the next sign-in.
 *
 * Each tab keeps its own item. At sign-in a tab adopts the items of tabs that are gone (found by
 * their Web Lock) and its own from an earlier sign-in; a live tab's entries stay with that tab,
 * so two tabs of one user do not both send them. Without Web Locks every item is adopted: a live
 * tab may then send an entry the other sends too, which the server stores once (by `clientId`).
 */
export class OutboxStore {
  private readonly prefix: string;
  private readonly ready: Promise<string>;
  /** This tab's id, once its lock is held. */
  private me: string | undefined;

  /**
   * @param server the nodes the page connects to: entries for one server are not sent to another.
   * @param user the signed-in user, as the server normalizes the name.
   */
  constructor(
    server: string,
    user: string,
    private readonly store: Storage | undefined = storage("localStorage"),
    private readonly locks: LockManager | undefined = webLocks(),
  ) {
    this.prefix = `${ITEM_PREFIX}${encodeURIComponent(server)}:${encodeURIComponent(user)}:`;
    this.ready = thisTab(locks).then((me) => (this.me = me));
  }

  /**
   * Takes over the entries left behind (by a reload, a closed tab, or this tab's previous
   * sign-in), oldest first, and hands them to `resend` while no other tab can take them. `resend`
   * must queue them at once (the outbox's next `save` keeps them again, under this tab), or
   * return false to leave them where they were.
   */
  async adopt(resend: (saved: SavedSend[]) => boolean): Promise<void> {
    const me = await this.ready;
    const take = async () => {
      const live = new Set<string>();
      for (const lock of (await this.locks?.query())?.held ?? []) {
        if (lock.name?.startsWith(TAB_LOCK_PREFIX)) live.add(lock.name.slice(TAB_LOCK_PREFIX.length));
      }
      const taken = new Map<string, string | null>();
      for (const item of this.items()) {
        const owner = item.slice(this.prefix.length);
        if (owner !== me && live.has(owner)) continue;
        taken.set(item, this.read(item));
      }
      const saved = [...taken.values()].flatMap(parseSaved);
      // Stable: entries of one tab keep their order, and tabs interleave by when they queued.
      saved.sort((a, b) => a.queuedAt - b.queuedAt);
      // Removed before `resend`, whose sends save this tab's item again (maybe one just read).
      for (const item of taken.keys()) this.write(item, undefined);
      if (resend(saved)) return;
      for (const [item, value] of taken) this.write(item, value ?? undefined);
    };
    if (this.locks) await this.locks.request(ADOPT_LOCK_PREFIX + this.prefix, take);
    else await take();
  }

  /** Keeps this tab's pending entries (the SDK's `pending` list), replacing what it kept before. */
  save(pending: readonly PendingEntry[]): void {
    const value = pending.length === 0 ? undefined : JSON.stringify(pending.map(toSaved));
    // At once when the tab's id is known: entries that `adopt` hands over are kept again before
    // its lock is released.
    if (this.me !== undefined) this.write(this.prefix + this.me, value);
    else void this.ready.then((me) => this.write(this.prefix + me, value));
  }

  private items(): string[] {
    const items: string[] = [];
    try {
      for (let index = 0; index < (this.store?.length ?? 0); index += 1) {
        const item = this.store?.key(index);
        if (item?.startsWith(this.prefix)) items.push(item);
      }
    } catch {
      // Storage refused: nothing was kept.
    }
    return items;
  }

  private read(item: string): string | null {
    try {
      return this.store?.getItem(item) ?? null;
    } catch {
      return null;
    }
  }

  private write(item: string, value: string | undefined): void {
    try {
      if (value === undefined) this.store?.removeItem(item);
      else this.store?.setItem(item, value);
    } catch {
      // Full or refused: the entries live on in the SDK's outbox, for this page only.
    }
  }
}
