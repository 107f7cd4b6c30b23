/** A message as a history log keeps it; the chat layer adds `room` or `to`. */
export interface StoredMessage {
  id: string;
  from: string;
  text: string;
  ts: number;
  /** Id of the message before this one in its log, "" for the first. */
  prev: string;
  /** What the caller stored beside the text (see `AppendEntry.attrs`); absent when nothing. */
  attrs?: Readonly<Record<string, string>>;
  /** The message was deleted: `text` is "", the id and `prev` stay so that chains stay whole. */
  deleted?: true;
}

/** What `History.append` stores. */
export interface AppendEntry {
  from: string;
  text: string;
  /** Idempotency key (see `History.append`). */
  clientId?: string;
  /**
   * Small string fields kept with the message and given back with it, e.g. a DM feed entry's
   * recipient and conversation id. Names are the caller's own: the store keeps them apart from its
   * fields.
   */
  attrs?: Readonly<Record<string, string>>;
}

export interface AppendResult {
  message: StoredMessage;
  /** The clientId was seen before: `message` is the original, nothing new was stored. */
  duplicate: boolean;
}

export interface AfterResult {
  /** Messages after the given id, oldest first. */
  messages: StoredMessage[];
  /** False when the log no longer reaches back to the given id, so messages may be missing. */
  complete: boolean;
}

/**
 * Bounded, ordered logs of messages, one per room and one per DM pair, named by `log`.
 * Ids sort as strings in append order within a log. A log is bounded in length (`maxPerLog`) and
 * in time: it is dropped `ttlMs` after its last append, and then reads answer as for a log that
 * never existed.
 */
export interface History {
  /**
   * Appends a message, or with a `clientId` already used by `from` in this log (within a day, or
   * the log's TTL when shorter: see `clientIdTtlMs`), stores nothing and answers `duplicate: true`
   * with the message that id produced the first time. Only that message's id is remembered: when
   * the log no longer holds the message (trimmed by the size bound), the answer carries the
   * original id and timestamp with the text and attrs of this request and `prev` "".
   */
  append(log: string, entry: AppendEntry): Promise<AppendResult>;
  /** The newest `limit` messages, oldest first. */
  latest(log: string, limit: number): Promise<StoredMessage[]>;
  /** Every message the log still holds after `id`, oldest first (the log itself is bounded). */
  after(log: string, id: string): Promise<AfterResult>;
  /** Up to `limit` messages before `id`, oldest first. */
  before(log: string, id: string, limit: number): Promise<StoredMessage[]>;
  /**
   * Deletes a message: from now on every read (and a duplicate's answer) gives it back as a
   * tombstone, `deleted: true` with text "", keeping its id and `prev`. False when the log does
   * not hold that id.
   */
  delete(log: string, id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** The bounds of every history log. */
export interface HistoryOptions {
  /**
   * Messages kept per log (exactly in memory; in Redis at least this many and fewer than twice
   * as many, as `XADD MAXLEN ~` trims whole stream nodes). From `HISTORY_SIZE`.
   */
  maxPerLog: number;
  /**
   * A log, with every clientId recorded in it, is dropped this long after its last append.
   * From `HISTORY_TTL_DAYS`.
   */
  ttlMs: number;
}

/** How long a clientId is remembered for deduplication, at most. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How long a clientId is remembered in a log: a day, or less when logs live shorter, so that a
 * clientId never outlives the log it points into.
 */
export function clientIdTtlMs(options: HistoryOptions): number {
  return Math.min(IDEMPOTENCY_TTL_MS, options.ttlMs);
}

/** Throws a RangeError unless both bounds are whole numbers of at least 1. */
export function checkHistoryOptions(options: HistoryOptions): void {
  for (const name of ["maxPerLog", "ttlMs"] as const) {
    const value = options[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`history ${name} must be a whole number of at least 1, got ${value}`);
    }
  }
}

/**
 * What a client that last saw `since` missed in `log`: all of it, or when that is more than a log
 * keeps, the newest `historySize` and `complete: false`. A log may hold more than `historySize`
 * (Redis trims approximately), and answering only the oldest part as complete would hide the rest.
 */
export async function missedSince(
  history: History,
  log: string,
  since: string,
  historySize: number,
): Promise<AfterResult> {
  const after = await history.after(log, since);
  if (after.messages.length <= historySize) return after;
  // Everything after `since` is the newest part of the log, so its tail is the newest messages.
  return { messages: after.messages.slice(-historySize), complete: false };
}
