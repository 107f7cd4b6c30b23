import type { RedisConnection } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import { checkSeconds, type Ban, type Moderation } from "./moderation.js";

/** A ban as its key holds it; the key expires when the ban ends. */
interface StoredBan {
  until: number;
  reason: string;
}

/**
 * Bans and mutes in Redis, for the whole cluster: one key each, set with `PX` so that it lapses
 * at its end by itself. A mute's key sits in the hash slot of its room's log, where the send
 * script checks it (stores/room-publisher-redis); a ban's sits in its user's.
 */
export class RedisModeration implements Moderation {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {}

  async ban(user: string, seconds: number, reason: string): Promise<Ban> {
    checkSeconds(seconds);
    const until = this.now() + seconds * 1000;
    const key = this.keys.ban(user);
    const stored: StoredBan = { until, reason };
    await this.redis.command(key, ["SET", key, JSON.stringify(stored), "PX", String(seconds * 1000)]);
    return { user, until, reason };
  }

  async unban(user: string): Promise<boolean> {
    const key = this.keys.ban(user);
    return (await this.redis.command<number>(key, ["DEL", key])) === 1;
  }

  async banOf(user: string): Promise<Ban | undefined> {
    const key = this.keys.ban(user);
    const raw = await this.redis.command<string | null>(key, ["GET", key]);
    if (raw === null) return undefined;
    const { until, reason } = JSON.parse(raw) as StoredBan;
    // The key lapses at the end; between a clock tick and Redis's expiry, the ban is over already.
    return until > this.now() ? { user, until, reason } : undefined;
  }

  async mute(room: string, user: string, seconds: number): Promise<{ until: number }> {
    checkSeconds(seconds);
    const until = this.now() + seconds * 1000;
    const key = this.keys.mute(room, user);
    await this.redis.command(key, ["SET", key, String(until), "PX", String(seconds * 1000)]);
    return { until };
  }

  async unmute(room: string, user: string): Promise<boolean> {
    // The legacy key too: nodes of an earlier version, during a rolling upgrade, still read it.
    const deleted = await Promise.all(
      [this.keys.mute(room, user), this.keys.legacyMute(room, user)].map((key) =>
        this.redis.command<number>(key, ["DEL", key]),
      ),
    );
    return deleted.includes(1);
  }

  async mutedUntil(room: string, user: string): Promise<number | undefined> {
    const key = this.keys.mute(room, user);
    const raw = await this.redis.command<string | null>(key, ["GET", key]);
    if (raw === null) return undefined;
    const until = Number(raw);
    return until > this.now() ? until : undefined;
  }

  async close(): Promise<void> {
    // The connection belongs to the stores, which close it.
  }
}
