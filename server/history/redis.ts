import { formatMessageId, parseMessageId } from "../../protocol/index.js";
import type { RedisConnection } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import {
  IDEMPOTENCY_TTL_MS,
  type AfterResult,
  type AppendResult,
  type History,
  type StoredMessage,
} from "./history.js";
import { AFTER, APPEND } from "./redis-scripts.js";

/** A stream entry as RESP2 returns it: [id, [field, value, ...]]. */
type Entry = [string, string[]];

/** Stream id `<ms>-<seq>` → message id (zero-padded so that it sorts as a string). */
function toMessageId(streamId: string): string {
  if (streamId === "") return "";
  const [ms, seq] = streamId.split("-");
  return formatMessageId(Number(ms), Number(seq));
}

/** Message id → stream id. The validators only let well-formed ids through. */
function toStreamId(messageId: string): string {
  const parsed = parseMessageId(messageId);
  if (!parsed) throw new Error(`not a message id: ${messageId}`);
  return `${parsed.ms}-${parsed.seq}`;
}

function fromEntry([streamId, fields]: Entry): StoredMessage {
  const value: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) value[fields[i]!] = fields[i + 1]!;
  const id = toMessageId(streamId);
  return {
    id,
    from: value.from ?? "",
    text: value.text ?? "",
    ts: Number(streamId.split("-")[0]),
    prev: toMessageId(value.prev ?? ""),
  };
}

/**
 * History in Redis: one capped Stream per log (`XADD MAXLEN ~`), whose entry ids are the message
 * ids, so ids come from one clock (Redis's) whichever node appends. A clientId is recorded with
 * `SET ... PX` in the same script as the append.
 */
export class RedisHistory implements History {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly maxPerLog: number,
  ) {}

  async append(log: string, entry: { from: string; text: string; clientId?: string }): Promise<AppendResult> {
    const keys = [this.keys.log(log), this.keys.logStart(log)];
    if (entry.clientId !== undefined) keys.push(this.keys.logSeen(log, entry.from, entry.clientId));
    const [fresh, streamId, prev, firstText] = await this.redis.run<[number, string, string, string?]>(APPEND, keys, [
      entry.from,
      entry.text,
      String(this.maxPerLog),
      String(IDEMPOTENCY_TTL_MS),
    ]);
    const message: StoredMessage = {
      id: toMessageId(streamId),
      from: entry.from,
      text: fresh === 1 ? entry.text : (firstText ?? entry.text),
      ts: Number(streamId.split("-")[0]),
      prev: toMessageId(prev),
    };
    return { message, duplicate: fresh !== 1 };
  }

  async latest(log: string, limit: number): Promise<StoredMessage[]> {
    const key = this.keys.log(log);
    const entries = await this.redis.command<Entry[]>(key, ["XREVRANGE", key, "+", "-", "COUNT", String(limit)]);
    return entries.reverse().map(fromEntry);
  }

  async after(log: string, id: string): Promise<AfterResult> {
    const [complete, entries] = await this.redis.run<[number, Entry[]]>(
      AFTER,
      [this.keys.log(log), this.keys.logStart(log)],
      [toStreamId(id)],
    );
    return { messages: entries.map(fromEntry), complete: complete === 1 };
  }

  async before(log: string, id: string, limit: number): Promise<StoredMessage[]> {
    const key = this.keys.log(log);
    const entries = await this.redis.command<Entry[]>(key, [
      "XREVRANGE",
      key,
      `(${toStreamId(id)}`,
      "-",
      "COUNT",
      String(limit),
    ]);
    return entries.reverse().map(fromEntry);
  }

  async close(): Promise<void> {
    // The connection belongs to the stores, which close it.
  }
}
