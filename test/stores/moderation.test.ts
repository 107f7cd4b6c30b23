/**
 * The Moderation contract, in memory and in a real Redis: bans and mutes, each lapsing by itself at
 * its end. Clocks are injected, so "the end" is reached without waiting; in Redis the keys also
 * expire by themselves (checked with PTTL, not by waiting).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MemoryModeration } from "../../server/moderation/memory.js";
import { MAX_MODERATION_SECONDS, type Moderation } from "../../server/moderation/moderation.js";
import { RedisModeration } from "../../server/moderation/redis.js";
import type { RedisHandles } from "../../server/redis/connection.js";
import { redisKeys } from "../../server/redis/keys.js";
import { RedisServer, uniquePrefix } from "../support/redis-server.js";
import { openTestRedis } from "./fixtures.js";

const START = Date.UTC(2026, 0, 1);

interface Subject {
  moderation: Moderation;
  advance(ms: number): void;
  /** Milliseconds until the store forgets a ban by itself (Redis: the key's PTTL). */
  banLifetime?(user: string): Promise<number>;
}

function describeModeration(name: string, open: () => Promise<Subject>): void {
  describe(`Moderation contract: ${name}`, () => {
    let subject: Subject;
    afterEach(() => subject?.moderation.close());

    it("bans a user until the end, with the reason; a ban lapses by itself, and can be lifted", async () => {
      subject = await open();
      const { moderation } = subject;
      expect(await moderation.banOf("mallory")).toBeUndefined();
      const ban = await moderation.ban("mallory", 60, "spam");
      expect(ban).toEqual({ user: "mallory", until: START + 60_000, reason: "spam" });
      expect(await moderation.banOf("mallory")).toEqual(ban);
      expect(await moderation.banOf("bob")).toBeUndefined();
      if (subject.banLifetime) {
        const ttl = await subject.banLifetime("mallory");
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      // A new ban replaces the old one.
      expect(await moderation.ban("mallory", 120, "more spam")).toMatchObject({ until: START + 120_000 });
      subject.advance(120_000);
      expect(await moderation.banOf("mallory")).toBeUndefined();

      await moderation.ban("mallory", 60, "again");
      expect(await moderation.unban("mallory")).toBe(true);
      expect(await moderation.unban("mallory")).toBe(false);
      expect(await moderation.banOf("mallory")).toBeUndefined();
    });

    it("mutes a user in one room only, until the end; a mute can be lifted", async () => {
      subject = await open();
      const { moderation } = subject;
      expect(await moderation.mute("lobby", "mallory", 30)).toEqual({ until: START + 30_000 });
      expect(await moderation.mutedUntil("lobby", "mallory")).toBe(START + 30_000);
      expect(await moderation.mutedUntil("other", "mallory")).toBeUndefined();
      expect(await moderation.mutedUntil("lobby", "bob")).toBeUndefined();
      subject.advance(29_999);
      expect(await moderation.mutedUntil("lobby", "mallory")).toBe(START + 30_000);
      subject.advance(1);
      expect(await moderation.mutedUntil("lobby", "mallory")).toBeUndefined();

      await moderation.mute("lobby", "mallory", 30);
      expect(await moderation.unmute("lobby", "mallory")).toBe(true);
      expect(await moderation.unmute("lobby", "mallory")).toBe(false);
      expect(await moderation.mutedUntil("lobby", "mallory")).toBeUndefined();
    });

    it("refuses durations that are not whole seconds from 1 to ten years", async () => {
      subject = await open();
      for (const seconds of [0, -1, 1.5, MAX_MODERATION_SECONDS + 1, Number.NaN]) {
        await expect(subject.moderation.ban("x", seconds, "r")).rejects.toThrow(RangeError);
        await expect(subject.moderation.mute("r", "x", seconds)).rejects.toThrow(RangeError);
      }
    });
  });
}

describeModeration("MemoryModeration", async () => {
  let now = START;
  return { moderation: new MemoryModeration(() => now), advance: (ms) => (now += ms) };
});

describe("RedisModeration", () => {
  let server: RedisServer;
  let handles: RedisHandles;
  beforeAll(async () => {
    server = await RedisServer.start();
    handles = await openTestRedis(server, uniquePrefix(), "moderation-test");
  });
  afterAll(async () => {
    await handles?.close();
    await server?.stop();
  });

  describeModeration("RedisModeration", async () => {
    let now = START;
    const keys = redisKeys(uniquePrefix());
    return {
      moderation: new RedisModeration(handles.connection, keys, () => now),
      advance: (ms) => (now += ms),
      banLifetime: (user) => handles.connection.command<number>(keys.ban(user), ["PTTL", keys.ban(user)]),
    };
  });
});
