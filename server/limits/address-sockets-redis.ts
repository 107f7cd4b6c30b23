import { randomBytes } from "node:crypto";
import type { RedisConnection } from "../redis/connection.js";
import { script } from "../redis/connection.js";
import type { AddressSockets } from "./address-sockets.js";

/**
 * KEYS: the address's hash (instance → sockets). ARGV: this instance, max, key TTL ms, dead instances...
 * Sums the counts of every instance but the dead ones (forgetting those), and counts one more
 * unless at `max`. An instance it does not know yet (just started) counts: it is alive.
 */
const ACQUIRE = script(`
local key = KEYS[1]
local me = ARGV[1]
local max = tonumber(ARGV[2])
local dead = {}
for i = 4, #ARGV do dead[ARGV[i]] = true end
local entries = redis.call('HGETALL', key)
local total = 0
for i = 1, #entries, 2 do
  if dead[entries[i]] then redis.call('HDEL', key, entries[i]) else total = total + tonumber(entries[i + 1]) end
end
if total >= max then return 0 end
redis.call('HINCRBY', key, me, 1)
redis.call('PEXPIRE', key, ARGV[3])
return 1`);

/** KEYS: the address's hash. ARGV: this instance. */
const RELEASE = script(`
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`);

/** An address's count outlives no connection by more than this (a safety net; counts are released). */
const ADDRESS_TTL_MS = 24 * 60 * 60 * 1000;

export interface RedisAddressSocketsOptions {
  redis: RedisConnection;
  /** The deployment's key prefix. */
  prefix: string;
  nodeId: string;
  /** An instance silent this long is dead, and its counts stop counting. */
  heartbeatTtlMs: number;
}

/**
 * The cluster-wide count: per address, a hash of this process's instance id → its sockets. Each
 * instance beats in a sorted set; an instance silent for a heartbeat TTL is dead, and its counts
 * are dropped by the next count of each address, so the sockets of a node that died are forgotten
 * without anyone cleaning up after it. The instance id is new on every start, so a node restarted
 * under the same NODE_ID does not inherit its old counts.
 *
 * A dead instance is remembered as long as an address's hash can outlive its last count
 * (ADDRESS_TTL_MS): by the time it is forgotten, no hash can still hold its counts.
 */
export class RedisAddressSockets implements AddressSockets {
  private readonly instance: string;
  private dead: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** This instance's sockets per address: what Redis should hold in this instance's fields. */
  private readonly mine = new Map<string, number>();
  /** Addresses whose release did not reach Redis; the next beat writes their count again. */
  private readonly unsynced = new Set<string>();

  constructor(private readonly options: RedisAddressSocketsOptions) {
    this.instance = `${options.nodeId}#${randomBytes(6).toString("hex")}`;
  }

  private key(address: string): string {
    return `${this.options.prefix}:{a:${address}}:sockets`;
  }

  private get instancesKey(): string {
    return `${this.options.prefix}:address-instances`;
  }

  async acquire(address: string, max: number): Promise<boolean> {
    const key = this.key(address);
    const args = [this.instance, String(max), String(ADDRESS_TTL_MS), ...this.dead];
    if ((await this.options.redis.run<number>(ACQUIRE, [key], args)) !== 1) return false;
    this.mine.set(address, (this.mine.get(address) ?? 0) + 1);
    return true;
  }

  async release(address: string): Promise<void> {
    const count = (this.mine.get(address) ?? 0) - 1;
    if (count > 0) this.mine.set(address, count);
    else this.mine.delete(address);
    try {
      await this.options.redis.run(RELEASE, [this.key(address)], [this.instance]);
    } catch (error) {
      // Left as it is, the address would stay counted as long as it keeps connecting.
      this.unsynced.add(address);
      throw error;
    }
  }

  async start(): Promise<void> {
    await this.beat();
    const interval = Math.max(100, Math.floor(this.options.heartbeatTtlMs / 3));
    this.timer = setInterval(() => void this.beat().catch(() => undefined), interval);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.options.redis
      .command(this.instancesKey, ["ZREM", this.instancesKey, this.instance])
      .catch(() => undefined);
  }

  /** Says this instance lives, and learns which others died. */
  private async beat(): Promise<void> {
    const { redis, heartbeatTtlMs } = this.options;
    const key = this.instancesKey;
    const now = Date.now();
    await redis.command(key, ["ZADD", key, String(now), this.instance]);
    await redis.command(key, ["ZREMRANGEBYSCORE", key, "-inf", String(now - ADDRESS_TTL_MS)]);
    this.dead = await redis.command<string[]>(key, ["ZRANGEBYSCORE", key, "-inf", `(${now - heartbeatTtlMs}`]);
    for (const address of [...this.unsynced]) {
      const count = this.mine.get(address) ?? 0;
      const addressKey = this.key(address);
      await (count > 0
        ? redis.command(addressKey, ["HSET", addressKey, this.instance, String(count)])
        : redis.command(addressKey, ["HDEL", addressKey, this.instance]));
      this.unsynced.delete(address);
    }
  }
}
