import { formatMessageId } from "../../protocol/index.js";
import {
  checkHistoryOptions,
  clientIdTtlMs,
  type AfterResult,
  type AppendEntry,
  type AppendResult,
  type History,
  type HistoryOptions,
  type StoredMessage,
} from "./history.js";

/** Options of `MemoryHistory`: the bounds, and the clock it reads. */
export interface MemoryHistoryOptions extends HistoryOptions {
  /**
   * Epoch milliseconds now; tests inject a clock they move.
   * @default Date.now
   */
  now?: () => number;
}

interface Log {
  messages: StoredMessage[];
  /** Id of the first message this log appended: older ids are from a previous life. */
  firstId: string;
  /** Id of the newest message dropped by the size bound, or "" when none was dropped. */
  maxDroppedId: string;
  lastMs: number;
  lastSeq: number;
  /** The log is dropped at this time unless appended to before. */
  expiresAt: number;
}

/** Index of the first message whose id is greater than `id` (binary search; ids are sorted). */
function firstAfter(messages: StoredMessage[], id: string): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (messages[mid]!.id <= id) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Index of the first message whose id is not less than `id`. */
function firstAtOrAfter(messages: StoredMessage[], id: string): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (messages[mid]!.id < id) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * History in this process's memory: the embedded default. Lost on restart, by design.
 * Memory stays bounded without timers: logs and clientIds are kept in maps ordered by expiry
 * (re-inserted on each append), and every call first drops the expired ones from the front.
 */
export class MemoryHistory implements History {
  /** Logs by last append, oldest first: the ones to expire are at the front. */
  private readonly logs = new Map<string, Log>();
  /** clientId → message id, in insertion order, so the oldest expire from the front. */
  private readonly seen = new Map<string, { id: string; expiresAt: number }>();
  private readonly maxPerLog: number;
  private readonly ttlMs: number;
  private readonly clientIdTtlMs: number;
  private readonly now: () => number;

  constructor(options: MemoryHistoryOptions) {
    checkHistoryOptions(options);
    this.maxPerLog = options.maxPerLog;
    this.ttlMs = options.ttlMs;
    this.clientIdTtlMs = clientIdTtlMs(options);
    this.now = options.now ?? Date.now;
  }

  async append(log: string, entry: AppendEntry): Promise<AppendResult> {
    const now = this.forgetExpired();
    const seenKey = entry.clientId === undefined ? undefined : `${log}\n${entry.from}\n${entry.clientId}`;
    const previous = seenKey === undefined ? undefined : this.seen.get(seenKey);
    if (previous && previous.expiresAt > now) {
      return { message: this.original(this.live(log, now), previous.id, entry), duplicate: true };
    }

    const state = this.live(log, now) ?? this.create();
    // Re-inserted, so that the map stays ordered by last append.
    this.logs.delete(log);
    this.logs.set(log, state);
    state.expiresAt = now + this.ttlMs;
    // Like a Redis stream id: milliseconds, then a sequence within the millisecond.
    const ms = Math.max(now, state.lastMs);
    const seq = ms === state.lastMs ? state.lastSeq + 1 : 0;
    state.lastMs = ms;
    state.lastSeq = seq;
    const prev = state.messages[state.messages.length - 1]?.id ?? "";
    const message: StoredMessage = { id: formatMessageId(ms, seq), from: entry.from, text: entry.text, ts: ms, prev };
    if (entry.attrs !== undefined) message.attrs = { ...entry.attrs };
    if (state.firstId === "") state.firstId = message.id;
    state.messages.push(message);
    if (state.messages.length > this.maxPerLog) {
      const dropped = state.messages.splice(0, state.messages.length - this.maxPerLog);
      state.maxDroppedId = dropped[dropped.length - 1]!.id;
    }
    if (seenKey !== undefined) this.seen.set(seenKey, { id: message.id, expiresAt: now + this.clientIdTtlMs });
    return { message, duplicate: false };
  }

  async latest(log: string, limit: number): Promise<StoredMessage[]> {
    const messages = this.live(log)?.messages ?? [];
    return messages.slice(Math.max(0, messages.length - limit));
  }

  async after(log: string, id: string): Promise<AfterResult> {
    const state = this.live(log);
    if (!state) return { messages: [], complete: false };
    const start = firstAfter(state.messages, id);
    return {
      messages: state.messages.slice(start),
      complete: id >= state.firstId && id >= state.maxDroppedId,
    };
  }

  async before(log: string, id: string, limit: number): Promise<StoredMessage[]> {
    const messages = this.live(log)?.messages ?? [];
    const end = firstAtOrAfter(messages, id);
    return messages.slice(Math.max(0, end - limit), end);
  }

  async delete(log: string, id: string): Promise<boolean> {
    const messages = this.live(log)?.messages ?? [];
    const index = firstAtOrAfter(messages, id);
    const found = messages[index];
    if (found?.id !== id) return false;
    // A new object: messages handed out before stay as they were.
    messages[index] = { ...found, text: "", deleted: true };
    return true;
  }

  /**
   * What this process holds: logs and clientIds, including expired ones not dropped yet. For
   * tests and metrics that check memory stays bounded.
   */
  held(): { logs: number; clientIds: number } {
    return { logs: this.logs.size, clientIds: this.seen.size };
  }

  async close(): Promise<void> {
    this.logs.clear();
    this.seen.clear();
  }

  private create(): Log {
    return { messages: [], firstId: "", maxDroppedId: "", lastMs: 0, lastSeq: 0, expiresAt: 0 };
  }

  /** The log, unless it expired (then it is as if it never existed). */
  private live(log: string, now = this.forgetExpired()): Log | undefined {
    const state = this.logs.get(log);
    // Checked here too: a clock that stepped back can leave an expired log behind a live one.
    return state && state.expiresAt > now ? state : undefined;
  }

  /**
   * The message a clientId produced, looked up by its id; when the log no longer holds it, the id
   * and time with the text of the resent request (see `History.append`).
   */
  private original(state: Log | undefined, id: string, entry: AppendEntry): StoredMessage {
    const messages = state?.messages ?? [];
    const found = messages[firstAtOrAfter(messages, id)];
    if (found?.id === id) return found;
    const message: StoredMessage = {
      id,
      from: entry.from,
      text: entry.text,
      ts: Number(id.slice(0, id.indexOf("-"))),
      prev: "",
    };
    if (entry.attrs !== undefined) message.attrs = { ...entry.attrs };
    return message;
  }

  /**
   * Drops the logs and clientIds whose time has come, oldest first, and answers the time now.
   * Each entry is dropped once, so this costs O(1) amortized per append.
   */
  private forgetExpired(): number {
    const now = this.now();
    for (const [log, state] of this.logs) {
      if (state.expiresAt > now) break;
      this.logs.delete(log);
    }
    for (const [key, record] of this.seen) {
      if (record.expiresAt > now) break;
      this.seen.delete(key);
    }
    return now;
  }
}
