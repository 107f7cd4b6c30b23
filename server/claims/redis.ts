import { skeleton } from "../auth/skeleton.js";
import type { RedisConnection } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";
import { judge, newClaim, type ClaimOutcome, type ClaimRecord, type NameClaims } from "./claims.js";
import { CLAIM_CREATE, CLAIM_TOUCH } from "./redis-scripts.js";

/** Name claims in Redis, one hash per confusable skeleton, with a TTL renewed on use. */
export class RedisClaims implements NameClaims {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly ttlMs: number,
  ) {}

  async check(name: string, key: string | undefined): Promise<ClaimOutcome> {
    return this.claimOrJudge(name, key, false, (record) => judge(record, name, key));
  }

  async reserve(name: string): Promise<ClaimOutcome> {
    return this.claimOrJudge(name, undefined, true, (record) => (record.name === name ? "proven" : "taken"));
  }

  async isClaimed(name: string): Promise<boolean> {
    const claimKey = this.keys.claim(skeleton(name));
    return (await this.redis.command<string | null>(claimKey, ["HGET", claimKey, "name"])) === name;
  }

  async touch(name: string): Promise<void> {
    const claimKey = this.keys.claim(skeleton(name));
    await this.redis.run(CLAIM_TOUCH, [claimKey], [name, String(this.ttlMs)]);
  }

  /**
   * Creates the claim when none covers the name (with `key`, or as a token-mode reservation when
   * `reserving`), else judges the existing one and renews it when the outcome is `proven`.
   */
  private async claimOrJudge(
    name: string,
    key: string | undefined,
    reserving: boolean,
    decide: (record: ClaimRecord) => ClaimOutcome,
  ): Promise<ClaimOutcome> {
    const claimKey = this.keys.claim(skeleton(name));
    let record = await this.read(claimKey);
    if (!record) {
      if (key === undefined && !reserving) return "unclaimed";
      const claim = newClaim(name, key);
      const created = await this.redis.run<number>(
        CLAIM_CREATE,
        [claimKey],
        [claim.name, claim.salt, claim.hash, String(this.ttlMs)],
      );
      if (created === 1) return key === undefined ? "proven" : "claimed";
      // Another connection claimed it in between: judge that claim.
      record = await this.read(claimKey);
      if (!record) return "taken";
    }
    const outcome = decide(record);
    if (outcome === "proven") await this.redis.run(CLAIM_TOUCH, [claimKey], [name, String(this.ttlMs)]);
    return outcome;
  }

  private async read(claimKey: string): Promise<ClaimRecord | undefined> {
    const fields = await this.redis.command<string[]>(claimKey, ["HGETALL", claimKey]);
    if (fields.length === 0) return undefined;
    const value: Record<string, string> = {};
    for (let index = 0; index < fields.length; index += 2) value[fields[index]!] = fields[index + 1]!;
    return { name: value.name ?? "", salt: value.salt ?? "", hash: value.hash ?? "" };
  }
}
