/** A ban: the user may not connect until `until`. */
export interface Ban {
  user: string;
  /** Epoch milliseconds when the ban ends. */
  until: number;
  /** Why, as the operator wrote it; shown to the banned user. */
  reason: string;
}

/** The longest ban or mute, in seconds (ten years). */
export const MAX_MODERATION_SECONDS = 10 * 365 * 24 * 60 * 60;

/**
 * Bans and mutes, the same on every node: in Redis for a cluster, in memory on one node. Each
 * lapses by itself at its end; the stores need no clean-up.
 */
export interface Moderation {
  /** Bans `user` for `seconds` from now (replacing a ban they had). */
  ban(user: string, seconds: number, reason: string): Promise<Ban>;
  /** Lifts the ban of `user`; false when there was none. */
  unban(user: string): Promise<boolean>;
  /** The ban `user` is under now, if any. */
  banOf(user: string): Promise<Ban | undefined>;
  /** Mutes `user` in `room` for `seconds` from now: they may read the room, not send to it. */
  mute(room: string, user: string, seconds: number): Promise<{ until: number }>;
  /** Lifts a mute; false when there was none. */
  unmute(room: string, user: string): Promise<boolean>;
  /** When the mute of `user` in `room` ends (epoch ms), or undefined when they are not muted. */
  mutedUntil(room: string, user: string): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Throws a RangeError unless `seconds` is a whole number from 1 to MAX_MODERATION_SECONDS. */
export function checkSeconds(seconds: number): void {
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_MODERATION_SECONDS) {
    throw new RangeError(`seconds must be a whole number from 1 to ${MAX_MODERATION_SECONDS}, got ${seconds}`);
  }
}
