import { checkSeconds, type Ban, type Moderation } from "./moderation.js";

/** Bans and mutes in this process's memory: the embedded default. Each is dropped when read after its end. */
export class MemoryModeration implements Moderation {
  readonly #bans = new Map<string, Ban>();
  /** `room\nuser` → end, epoch ms. */
  readonly #mutes = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async ban(user: string, seconds: number, reason: string): Promise<Ban> {
    checkSeconds(seconds);
    const ban = { user, until: this.now() + seconds * 1000, reason };
    this.#bans.set(user, ban);
    return { ...ban };
  }

  async unban(user: string): Promise<boolean> {
    const had = (await this.banOf(user)) !== undefined;
    this.#bans.delete(user);
    return had;
  }

  async banOf(user: string): Promise<Ban | undefined> {
    const ban = this.#bans.get(user);
    if (ban === undefined) return undefined;
    if (ban.until > this.now()) return { ...ban };
    this.#bans.delete(user);
    return undefined;
  }

  async mute(room: string, user: string, seconds: number): Promise<{ until: number }> {
    checkSeconds(seconds);
    const until = this.now() + seconds * 1000;
    this.#mutes.set(`${room}\n${user}`, until);
    return { until };
  }

  async unmute(room: string, user: string): Promise<boolean> {
    const had = (await this.mutedUntil(room, user)) !== undefined;
    this.#mutes.delete(`${room}\n${user}`);
    return had;
  }

  async mutedUntil(room: string, user: string): Promise<number | undefined> {
    const key = `${room}\n${user}`;
    const until = this.#mutes.get(key);
    if (until === undefined) return undefined;
    if (until > this.now()) return until;
    this.#mutes.delete(key);
    return undefined;
  }

  async close(): Promise<void> {
    this.#bans.clear();
    this.#mutes.clear();
  }
}
