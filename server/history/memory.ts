import { formatMessageId } from "../../protocol/index.js";
import {
  IDEMPOTENCY_TTL_MS,
  type AfterResult,
  type AppendResult,
  type History,
  type StoredMessage,
} from "./history.js";

interface Log {
  messages: StoredMessage[];
  /** Id of the first message this process appended: older ids are from a previous life. */
  firstId: string;
  /** Id of the newest message dropped by the size bound, or "" when none was dropped. */
  maxDroppedId: string;
  lastMs: number;
  lastSeq: number;
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

/** History in this process's memory: the embedded default. Lost on restart, by design. */
export class MemoryHistory implements History {
  private readonly logs = new Map<string, Log>();
  /** clientId records in insertion order, so the oldest expire from the front. */
  private readonly seen = new Map<string, { message: StoredMessage; expiresAt: number }>();

  constructor(
    private readonly maxPerLog: number,
    private readonly now: () => number = Date.now,
  ) {}

  async append(log: string, entry: { from: string; text: string; clientId?: string }): Promise<AppendResult> {
    const now = this.now();
    this.forgetExpired(now);
    const seenKey = entry.clientId === undefined ? undefined : `${log}\n${entry.from}\n${entry.clientId}`;
    const previous = seenKey === undefined ? undefined : this.seen.get(seenKey);
    if (previous) return { message: previous.message, duplicate: true };

    const state = this.logs.get(log) ?? this.create(log);
    // Like a Redis stream id: milliseconds, then a sequence within the millisecond.
    const ms = Math.max(now, state.lastMs);
    const seq = ms === state.lastMs ? state.lastSeq + 1 : 0;
    state.lastMs = ms;
    state.lastSeq = seq;
    const prev = state.messages[state.messages.length - 1]?.id ?? "";
    const message: StoredMessage = { id: formatMessageId(ms, seq), from: entry.from, text: entry.text, ts: ms, prev };
    if (state.firstId === "") state.firstId = message.id;
    state.messages.push(message);
    if (state.messages.length > this.maxPerLog) {
      const dropped = state.messages.splice(0, state.messages.length - this.maxPerLog);
      state.maxDroppedId = dropped[dropped.length - 1]!.id;
    }
    if (seenKey !== undefined) this.seen.set(seenKey, { message, expiresAt: now + IDEMPOTENCY_TTL_MS });
    return { message, duplicate: false };
  }

  async latest(log: string, limit: number): Promise<StoredMessage[]> {
    const messages = this.logs.get(log)?.messages ?? [];
    return messages.slice(Math.max(0, messages.length - limit));
  }

  async after(log: string, id: string): Promise<AfterResult> {
    const state = this.logs.get(log);
    if (!state) return { messages: [], complete: false };
    const start = firstAfter(state.messages, id);
    return {
      messages: state.messages.slice(start),
      complete: id >= state.firstId && id >= state.maxDroppedId,
    };
  }

  async before(log: string, id: string, limit: number): Promise<StoredMessage[]> {
    const messages = this.logs.get(log)?.messages ?? [];
    const end = firstAtOrAfter(messages, id);
    return messages.slice(Math.max(0, end - limit), end);
  }

  async close(): Promise<void> {
    this.logs.clear();
    this.seen.clear();
  }

  private create(log: string): Log {
    const state: Log = { messages: [], firstId: "", maxDroppedId: "", lastMs: 0, lastSeq: 0 };
    this.logs.set(log, state);
    return state;
  }

  private forgetExpired(now: number): void {
    for (const [key, record] of this.seen) {
      if (record.expiresAt > now) break;
      this.seen.delete(key);
    }
  }
}
