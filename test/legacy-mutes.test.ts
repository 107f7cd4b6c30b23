/**
 * Mutes that earlier versions kept in a room's presence slot are moved, once per deployment, to
 * the slot of the room's log, where the send script checks them; each keeps its end. On one Redis
 * and on a Redis Cluster, whose masters the move SCANs one by one.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../protocol/index.js";
import { loadConfig } from "../server/config.js";
import { moveLegacyMutes } from "../server/moderation/redis-legacy-mutes.js";
import { openRedis, type RedisHandles } from "../server/redis/connection.js";
import { redisKeys, type RedisKeys } from "../server/redis/keys.js";
import { closeAllClients, connected, ok, request } from "./support/clients.js";
import { startNode } from "./support/deployment.js";
import { unique } from "./support/identity.js";
import { startRedisCluster } from "./support/redis-cluster.js";
import { RedisServer, uniquePrefix } from "./support/redis-server.js";
import { silentLog } from "./stores/fixtures.js";

/** A Redis of its own for one describe: its URL list (one URL, or a cluster's seeds) and its stop. */
type RedisUnderTest = { urls: string[]; stop(): Promise<void> };

const REDIS_KINDS: [string, () => Promise<RedisUnderTest>][] = [
  [
    "one Redis",
    async () => {
      const server = await RedisServer.start();
      return { urls: [server.url], stop: () => server.stop() };
    },
  ],
  ["a Redis Cluster", () => startRedisCluster(3)],
];

const HOUR_MS = 3_600_000;

describe.each(REDIS_KINDS)("mutes of earlier versions, on %s", (_kind, startRedis) => {
  let redis: RedisUnderTest;
  let handles: RedisHandles;
  let prefix: string;
  let keys: RedisKeys;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    prefix = uniquePrefix();
    keys = redisKeys(prefix);
    handles = await openRedis(
      loadConfig({ REDIS_URL: redis.urls.join(","), REDIS_PREFIX: prefix, NODE_ID: "test", LOG_LEVEL: "silent" }),
      silentLog,
    );
  });
  afterEach(async () => {
    closeAllClients();
    await handles?.close();
  });

  const command = <T>(key: string, args: string[]) => handles.connection.command<T>(key, args);
  /** Mutes `user` in `room` for an hour the way earlier versions did; resolves with the end. */
  async function legacyMute(room: string, user: string): Promise<number> {
    const until = Date.now() + HOUR_MS;
    const key = keys.legacyMute(room, user);
    await command(key, ["SET", key, String(until), "PX", String(HOUR_MS)]);
    return until;
  }
  const scan = (pattern: string) => handles.scan(pattern);

  it("are moved when the first node starts, keep their end, and refuse the user's sends", async () => {
    const [room, dave] = [unique("room"), unique("dave")];
    const until = await legacyMute(room, dave);
    const node = await startNode({ REDIS_URL: redis.urls.join(","), REDIS_PREFIX: prefix, NODE_ID: "upgraded" });
    try {
      const socket = await connected(node.url, dave);
      await ok(socket, "room:join", { room });
      expect(await request(socket, "room:send", { room, text: "hello" })).toEqual({
        ok: false,
        error: { code: ErrorCode.Forbidden, message: expect.stringContaining(room), until },
      });
    } finally {
      await node.close();
    }
    const moved = keys.mute(room, dave);
    expect(await command(moved, ["GET", moved])).toBe(String(until));
    const ttlMs = await command<number>(moved, ["PTTL", moved]);
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(HOUR_MS);
    const legacy = keys.legacyMute(room, dave);
    expect(await command(legacy, ["EXISTS", legacy])).toBe(0);
  });

  it("are moved once per deployment, from every master, leaving keys of other shapes and newer mutes alone", async () => {
    const users = Array.from({ length: 40 }, (_, index) => unique(`user${index}`));
    const room = unique("room");
    const ends = await Promise.all(users.map((user) => legacyMute(room, user)));
    // A mute made through this version since wins over the one it replaces.
    const newer = keys.mute(room, users[0]!);
    await command(newer, ["SET", newer, "42", "PX", String(HOUR_MS)]);
    // Matches the pattern, but names no user.
    const odd = `${prefix}:{r:${room}}:mute:`;
    await command(odd, ["SET", odd, "1"]);

    expect(await moveLegacyMutes(handles.connection, scan, keys, "first")).toBe(users.length - 1);
    const values = await Promise.all(
      users.map((user) => command(keys.mute(room, user), ["GET", keys.mute(room, user)])),
    );
    expect(values).toEqual(["42", ...ends.slice(1).map(String)]);
    expect(await command(odd, ["GET", odd])).toBe("1");

    // A second node of this version finds the marker and scans nothing.
    await legacyMute(room, "late");
    expect(await moveLegacyMutes(handles.connection, scan, keys, "second")).toBe(0);
  });

  it("drops the marker when the move fails, so that the next start tries again", async () => {
    const [room, dave] = [unique("room"), unique("dave")];
    await legacyMute(room, dave);
    const failing = async function* (): AsyncGenerator<string[]> {
      yield* [];
      throw new Error("connection lost");
    };
    await expect(moveLegacyMutes(handles.connection, failing, keys, "first")).rejects.toThrow("connection lost");
    expect(await moveLegacyMutes(handles.connection, scan, keys, "second")).toBe(1);
  });
});
