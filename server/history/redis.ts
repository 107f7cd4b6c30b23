import { parseMessageId } from "../../protocol/index.js";
import type { RedisConnection } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
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
import { AFTER, APPEND, BEFORE, DELETE } from "./redis-scripts.js";

/** A stream entry as RESP2 returns it: [id, [field, value, ...]]. */
type Entry = [string, string[]];

/** The largest sequence a stream id holds (64 bits unsigned), as digits. */
const MAX_STREAM_SEQ = "18446744073709551615";

/** The lowest stream id: nothing comes before it, and Redis refuses it as an exclusive end. */
const FIRST_STREAM_ID = "0-0";

/**
 * Stream id `<ms>-<seq>` → message id, zero-padded so that it sorts as a string. Built from the
 * digits, never through a number, so that no sequence loses precision.
 */
function toMessageId(streamId: string): string {
  if (streamId === "") return "";
  const [ms = "", seq = ""] = streamId.split("-");
  return `${ms.padStart(13, "0")}-${seq.padStart(6, "0")}`;
}

/** Digits without their leading zeros ("0" for all zeros), as Redis writes the parts of a stream id. */
function withoutLeadingZeros(digits: string): string {
  return digits.replace(/^0+(?=\d)/, "");
}

/** Whether a sequence, as digits without leading zeros, fits a stream id's 64 bits. */
function fitsStreamSeq(seq: string): boolean {
  return seq.length < MAX_STREAM_SEQ.length || (seq.length === MAX_STREAM_SEQ.length && seq <= MAX_STREAM_SEQ);
}

/**
 * Message id → stream id, built from the digits, never through a number, so that even a sequence
 * above 2^53 maps exactly. The validators only let well-formed ids through; anything else (or a
 * sequence above 64 bits) throws here rather than reaching Redis.
 */
function toStreamId(messageId: string): string {
  const [ms = "", seq = ""] = messageId.split("-").map(withoutLeadingZeros);
  if (!parseMessageId(messageId) || !fitsStreamSeq(seq)) throw new Error(`not a message id: ${messageId}`);
  return `${ms}-${seq}`;
}

/** The milliseconds of a stream id: the message's timestamp. */
function timestampOf(streamId: string): number {
  return Number(streamId.split("-")[0]);
}

/** A caller's attribute is stored as a field with this prefix, apart from the store's own fields. */
const ATTR_PREFIX = "@";

/** The callers' attributes among a stream entry's fields; undefined when there are none. */
function attrsOf(fields: readonly string[]): Record<string, string> | undefined {
  let attrs: Record<string, string> | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const field = fields[i]!;
    if (field.startsWith(ATTR_PREFIX)) (attrs ??= {})[field.slice(ATTR_PREFIX.length)] = fields[i + 1]!;
  }
  return attrs;
}

function fromEntry([streamId, fields]: Entry): StoredMessage {
  const value: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) value[fields[i]!] = fields[i + 1]!;
  const message: StoredMessage = {
    id: toMessageId(streamId),
    from: value.from ?? "",
    text: value.text ?? "",
    ts: timestampOf(streamId),
    prev: toMessageId(value.prev ?? ""),
  };
  const attrs = attrsOf(fields);
  if (attrs !== undefined) message.attrs = attrs;
  if (value.deleted === "1") message.deleted = true;
  return message;
}

/**
 * What `RedisHistory.appendAndPublish` publishes: `head`, then the new message's
 * `,"id":"…","ts":…,"prev":"…"`, then `tail`, so head must end inside a JSON object.
 */
export interface Publication {
  channel: string;
  head: string;
  tail: string;
}

/** An append `appendAndPublish` refused: the value its guard key held. */
export interface Guarded {
  guardedBy: string;
}

/** APPEND's first reply field when the guard key refused the entry. */
const GUARDED = 2;

/**
 * History in Redis: one capped Stream per log (`XADD MAXLEN ~`), whose entry ids are the message
 * ids, so ids come from one clock (Redis's) whichever node appends. Every append sets the log's
 * TTL. A clientId is recorded with `SET ... PX` in the same script as the append; its value is the
 * stream id of the message it produced, nothing more.
 */
export class RedisHistory implements History {
  private readonly maxPerLog: number;
  private readonly ttlMs: number;
  private readonly clientIdTtlMs: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    options: HistoryOptions,
  ) {
    checkHistoryOptions(options);
    this.maxPerLog = options.maxPerLog;
    this.ttlMs = options.ttlMs;
    this.clientIdTtlMs = clientIdTtlMs(options);
  }

  append(log: string, entry: AppendEntry): Promise<AppendResult> {
    return this.appendAndPublish(log, entry, undefined);
  }

  /**
   * `append`, and in the same script, when the entry is new, SPUBLISH to `publication.channel`
   * (which must hash to the log's slot) the new message framed by the publication's head and tail.
   * With a `guard` key (in the log's slot), nothing is stored nor published while that key
   * exists, and the answer is its value, even for a repeated clientId.
   */
  appendAndPublish(log: string, entry: AppendEntry, publication: Publication | undefined): Promise<AppendResult>;
  appendAndPublish(
    log: string,
    entry: AppendEntry,
    publication: Publication | undefined,
    guard: string,
  ): Promise<AppendResult | Guarded>;
  async appendAndPublish(
    log: string,
    entry: AppendEntry,
    publication: Publication | undefined,
    guard?: string,
  ): Promise<AppendResult | Guarded> {
    const keys = [this.keys.log(log), this.keys.logStart(log), this.keys.logDeleted(log)];
    if (guard !== undefined) keys.push(guard);
    if (entry.clientId !== undefined) keys.push(this.keys.logSeen(log, entry.from, entry.clientId));
    const args = [entry.from, entry.text, String(this.maxPerLog), String(this.ttlMs), String(this.clientIdTtlMs)];
    args.push(
      publication?.channel ?? "",
      publication?.head ?? "",
      publication?.tail ?? "",
      guard !== undefined ? "1" : "0",
    );
    for (const [name, value] of Object.entries(entry.attrs ?? {})) args.push(ATTR_PREFIX + name, value);
    const [fresh, streamId, prev = "", firstText, firstFields] = await this.redis.run<
      [number, string, string?, string?, string[]?]
    >(APPEND, keys, args);
    if (fresh === GUARDED) return { guardedBy: streamId };
    const message: StoredMessage = {
      id: toMessageId(streamId),
      from: entry.from,
      // A duplicate whose entry is gone answers with the text of this request (see History.append).
      text: fresh === 1 ? entry.text : (firstText ?? entry.text),
      ts: timestampOf(streamId),
      prev: toMessageId(prev),
    };
    const attrs = fresh === 1 || firstFields === undefined ? entry.attrs : attrsOf(firstFields);
    if (attrs !== undefined) message.attrs = { ...attrs };
    if (firstFields?.includes("deleted")) message.deleted = true;
    return { message, duplicate: fresh !== 1 };
  }

  async latest(log: string, limit: number): Promise<StoredMessage[]> {
    return this.newestBefore(log, "+", limit);
  }

  async after(log: string, id: string): Promise<AfterResult> {
    const [complete, entries] = await this.redis.run<[number, Entry[]]>(
      AFTER,
      [this.keys.log(log), this.keys.logStart(log), this.keys.logDeleted(log)],
      [toStreamId(id)],
    );
    return { messages: entries.map(fromEntry), complete: complete === 1 };
  }

  async before(log: string, id: string, limit: number): Promise<StoredMessage[]> {
    const streamId = toStreamId(id);
    // Redis refuses an exclusive end below which no id exists.
    if (streamId === FIRST_STREAM_ID) return [];
    return this.newestBefore(log, `(${streamId}`, limit);
  }

  async delete(log: string, id: string): Promise<boolean> {
    const deleted = await this.redis.run<number>(
      DELETE,
      [this.keys.log(log), this.keys.logDeleted(log)],
      [toStreamId(id)],
    );
    return deleted === 1;
  }

  /** Up to `limit` messages before `end` (an XREVRANGE end), oldest first. */
  private async newestBefore(log: string, end: string, limit: number): Promise<StoredMessage[]> {
    const entries = await this.redis.run<Entry[]>(
      BEFORE,
      [this.keys.log(log), this.keys.logDeleted(log)],
      [end, String(limit)],
    );
    return entries.reverse().map(fromEntry);
  }

  async close(): Promise<void> {
    // The connection belongs to the stores, which close it.
  }
}
