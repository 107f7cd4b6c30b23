import { skeleton } from "../auth/skeleton.js";
import { judge, newClaim, type ClaimOutcome, type ClaimRecord, type NameClaims } from "./claims.js";

/** Name claims in this process's memory: the embedded default. */
export class MemoryClaims implements NameClaims {
  /** skeleton → claim, in the order they were last used, so the oldest lapse from the front. */
  private readonly claims = new Map<string, ClaimRecord & { expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async check(name: string, key: string | undefined): Promise<ClaimOutcome> {
    const record = this.live(name);
    if (!record) {
      if (key === undefined) return "unclaimed";
      this.keep(name, newClaim(name, key));
      return "claimed";
    }
    const outcome = judge(record, name, key);
    if (outcome === "proven") this.keep(name, record);
    return outcome;
  }

  async reserve(name: string): Promise<ClaimOutcome> {
    const record = this.live(name) ?? newClaim(name, undefined);
    if (record.name !== name) return "taken";
    this.keep(name, record);
    return "proven";
  }

  async isClaimed(name: string): Promise<boolean> {
    return this.live(name)?.name === name;
  }

  async touch(name: string): Promise<void> {
    const record = this.live(name);
    if (record?.name === name) this.keep(name, record);
  }

  /** The claim covering `name`, unless it lapsed. */
  private live(name: string): ClaimRecord | undefined {
    const now = this.now();
    for (const [key, record] of this.claims) {
      if (record.expiresAt > now) break;
      this.claims.delete(key);
    }
    return this.claims.get(skeleton(name));
  }

  private keep(name: string, record: ClaimRecord): void {
    const key = skeleton(name);
    this.claims.delete(key);
    this.claims.set(key, { ...record, expiresAt: this.now() + this.ttlMs });
  }
}
