import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDEMPOTENCY_TTL_MS } from "../../server/history/history.js";
import { MemoryHistory } from "../../server/history/memory.js";
import { RedisHistory } from "../../server/history/redis.js";
import { redisKeys, type RedisKeys } from "../../server/redis/keys.js";
import { within } from "../support/clients.js";
import { RedisServer, uniquePrefix } from "../support/redis-server.js";
import { DEADLINE_MS, openTestRedis } from "./fixtures.js";
import { describeHistoryContract } from "./history.contract.js";

/** 2026-01-01T00:00:00Z: where the injected clocks start. */
const CLOCK_START = Date.UTC(2026, 0, 1);

describeHistoryContract("MemoryHistory", async ({ maxPerLog, ttlMs }) => {
  let now = CLOCK_START;
  const history = new MemoryHistory({ maxPerLog, ttlMs, now: () => now });
  return {
    history,
    storedLength: async (log) => (await history.latest(log, Number.MAX_SAFE_INTEGER)).length,
    clock: {
      kind: "injected",
      advance: (ms) => {
        now += ms;
      },
    },
    close: () => history.close(),
  };
});

describe("MemoryHistory", () => {
  it("expires logs by their last append, whatever order they were created in", async () => {
    let now = CLOCK_START;
    const history = new MemoryHistory({ maxPerLog: 10, ttlMs: 1000, now: () => now });
    const [a0] = [(await history.append("room:a", { from: "ann", text: "a0" })).message];
    now += 1;
    await history.append("room:b", { from: "ann", text: "b0" });
    now += 1;
    const a1 = (await history.append("room:a", { from: "ann", text: "a1" })).message;

    now += 999; // 1000 ms after room:b's append, 999 after room:a's last one
    expect(await history.latest("room:b", 10)).toEqual([]);
    expect(await history.latest("room:a", 10)).toEqual([a0, a1]);
    expect(history.held().logs).toBe(1);
    now += 1;
    expect(await history.latest("room:a", 10)).toEqual([]);
  });

  it("stays bounded: each call first drops the logs and clientIds whose time has come", async () => {
    let now = CLOCK_START;
    const history = new MemoryHistory({ maxPerLog: 10, ttlMs: 60_000, now: () => now });
    for (let index = 0; index < 1000; index += 1) {
      await history.append(`room:${index}`, { from: "ann", text: "hi", clientId: `c-${index}` });
      now += 10;
    }
    expect(history.held()).toEqual({ logs: 1000, clientIds: 1000 });
    now = CLOCK_START + 10 * 499 + 60_000; // room:0 to room:499 were last appended to 60 s ago
    await history.append("room:new", { from: "ann", text: "hi" });
    expect(history.held()).toEqual({ logs: 501, clientIds: 500 });
    now += 60_000;
    await history.latest("room:any", 1);
    expect(history.held()).toEqual({ logs: 0, clientIds: 0 });
  });

  it("refuses bounds that are not whole numbers of at least 1", () => {
    for (const bounds of [
      { maxPerLog: 0, ttlMs: 1000 },
      { maxPerLog: 10, ttlMs: 0 },
      { maxPerLog: 10, ttlMs: 1.5 },
      { maxPerLog: Number.NaN, ttlMs: 1000 },
    ]) {
      expect(() => new MemoryHistory(bounds)).toThrow(RangeError);
    }
  });
});

describe("on Redis", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.stop();
  });

  describeHistoryContract("RedisHistory", async (options) => {
    const prefix = uniquePrefix();
    const keys = redisKeys(prefix);
    const handles = await openTestRedis(redis, prefix, "history-test");
    const history = new RedisHistory(handles.connection, keys, options);
    const pttl = (key: string) => handles.connection.command<number>(key, ["PTTL", key]);
    return {
      history,
      storedLength: (log) => handles.connection.command<number>(keys.log(log), ["XLEN", keys.log(log)]),
      clock: {
        kind: "server",
        timesToLive: (log) => Promise.all([pttl(keys.log(log)), pttl(keys.logStart(log))]),
      },
      async close() {
        await history.close();
        await handles.close();
      },
    };
  });

  describe("RedisHistory's keys", () => {
    let handles: Awaited<ReturnType<typeof openTestRedis>>;
    let keys: RedisKeys;
    beforeAll(async () => {
      const prefix = uniquePrefix();
      keys = redisKeys(prefix);
      handles = await openTestRedis(redis, prefix, "history-test");
    });
    afterAll(async () => {
      await handles.close();
    });
    const command = <T>(key: string, args: string[]) => handles.connection.command<T>(key, args);

    it("record a clientId as the stream id of its message alone, for a day or the log's TTL if shorter", async () => {
      for (const ttlMs of [30 * 24 * 60 * 60 * 1000, 60_000]) {
        const history = new RedisHistory(handles.connection, keys, { maxPerLog: 100, ttlMs });
        const log = `room:seen-${ttlMs}`;
        const sentAt = Date.now();
        const { message } = await history.append(log, { from: "ann", text: "secret text", clientId: "c-1" });
        const seenKey = keys.logSeen(log, "ann", "c-1");
        const [ms, seq] = message.id.split("-").map(Number);

        expect(await command<string>(seenKey, ["GET", seenKey])).toBe(`${ms}-${seq}`);
        // A key's PTTL is its TTL less the time since the append, which is at most the time since sentAt.
        const expectTimeToLive = async (key: string, ttl: number) => {
          const timeToLive = await command<number>(key, ["PTTL", key]);
          expect(timeToLive).toBeLessThanOrEqual(ttl);
          expect(timeToLive).toBeGreaterThanOrEqual(ttl - (Date.now() - sentAt));
        };
        await expectTimeToLive(seenKey, Math.min(IDEMPOTENCY_TTL_MS, ttlMs));
        await expectTimeToLive(keys.log(log), ttlMs);
        await expectTimeToLive(keys.logStart(log), ttlMs);
      }
    });

    it("map ids whose sequence is above 2^53 digit for digit, both ways", async () => {
      const history = new RedisHistory(handles.connection, keys, { maxPerLog: 100, ttlMs: 60_000 });
      const key = keys.log("room:huge");
      const streamIds = ["1-18446744073709551613", "1-18446744073709551614", "1-18446744073709551615"];
      for (const [index, streamId] of streamIds.entries()) {
        await command(key, [
          "XADD",
          key,
          streamId,
          "from",
          "ann",
          "text",
          `m${index}`,
          "prev",
          streamIds[index - 1] ?? "",
        ]);
      }
      const [id0, id1, id2] = streamIds.map((streamId) => `000000000000${streamId}`);
      expect(id2).toBe("0000000000001-18446744073709551615");
      const message = (index: number, id: string, prev: string) => ({
        id,
        from: "ann",
        text: `m${index}`,
        ts: 1,
        prev,
      });
      const m0 = message(0, id0!, "");
      const m1 = message(1, id1!, id0!);
      const m2 = message(2, id2!, id1!);

      expect(await history.latest("room:huge", 10)).toEqual([m0, m1, m2]);
      expect(await history.before("room:huge", id2!, 10)).toEqual([m0, m1]);
      // Without a start key, the log is one Redis lost.
      expect(await history.after("room:huge", id0!)).toEqual({ messages: [], complete: false });
      const startKey = keys.logStart("room:huge");
      await command(startKey, ["SET", startKey, streamIds[0]!]);
      expect(await history.after("room:huge", id0!)).toEqual({ messages: [m1, m2], complete: true });
      // As doubles, these two sequences are equal: only a digit-wise comparison tells id0 is older.
      await command(startKey, ["SET", startKey, streamIds[1]!]);
      expect(await history.after("room:huge", id0!)).toEqual({ messages: [m1, m2], complete: false });
      expect(await history.after("room:huge", id1!)).toEqual({ messages: [m2], complete: true });
    });

    it("hold an append back while its guard key exists: nothing stored or published, even for a repeated clientId", async () => {
      const history = new RedisHistory(handles.connection, keys, { maxPerLog: 100, ttlMs: 60_000 });
      const log = "room:guarded";
      const guard = `${keys.log(log)}:guard`;
      // The channel and the guard are in the log's slot, as the script needs.
      const channel = `${keys.log(log)}:channel`;
      const published: string[] = [];
      let third: (() => void) | undefined;
      await handles.subscriber.sSubscribe(
        channel,
        (message) => {
          published.push(message.toString());
          if (published.length === 2) third?.();
        },
        true,
      );
      const publication = { channel, head: '{"text":"x"', tail: "}" };
      const append = (entry: { from: string; text: string; clientId?: string }) =>
        history.appendAndPublish(log, entry, publication, guard);
      const first = await append({ from: "ann", text: "one", clientId: "c-1" });
      expect(first).toMatchObject({ duplicate: false, message: { text: "one" } });

      await command(guard, ["SET", guard, "1767225600000"]);
      for (const entry of [
        { from: "ann", text: "two" },
        { from: "ann", text: "one", clientId: "c-1" },
      ]) {
        expect(await append(entry)).toEqual({ guardedBy: "1767225600000" });
      }
      expect(await command<number>(keys.log(log), ["XLEN", keys.log(log)])).toBe(1);

      await command(guard, ["DEL", guard]);
      const arrived = within(new Promise<void>((resolve) => (third = resolve)), "the third publication", DEADLINE_MS);
      const last = await append({ from: "ann", text: "three" });
      expect(last).toMatchObject({ duplicate: false, message: { text: "three" } });
      await arrived;
      // Publications come in script order: the held-back appends published nothing in between.
      expect(published.map((text) => (JSON.parse(text) as { id: string }).id)).toEqual(
        [first, last].map((result) => (result as { message: { id: string } }).message.id),
      );
    });

    it("refuse a sequence above 64 bits before it reaches Redis", async () => {
      const history = new RedisHistory(handles.connection, keys, { maxPerLog: 100, ttlMs: 60_000 });
      const tooBig = "0000000000001-18446744073709551616";
      await expect(history.after("room:a", tooBig)).rejects.toThrow(`not a message id: ${tooBig}`);
      await expect(history.before("room:a", tooBig, 10)).rejects.toThrow(`not a message id: ${tooBig}`);
    });
  });
});

describe("RedisHistory when Redis loses its data", () => {
  let redis: RedisServer;
  let handles: Awaited<ReturnType<typeof openTestRedis>>;
  let history: RedisHistory;
  beforeAll(async () => {
    redis = await RedisServer.start();
    const prefix = uniquePrefix();
    handles = await openTestRedis(redis, prefix, "history-test");
    history = new RedisHistory(handles.connection, redisKeys(prefix), { maxPerLog: 100, ttlMs: 60_000 });
  });
  afterAll(async () => {
    await handles.close();
    await redis.stop();
  });
  /** Restarts Redis without persistence (its data is lost) and waits until the store reaches it again. */
  async function restartRedisEmpty(): Promise<void> {
    await redis.kill();
    await redis.restart();
    await expect
      .poll(
        () =>
          history.latest("room:any", 1).then(
            () => "reachable",
            () => "unreachable",
          ),
        { timeout: DEADLINE_MS },
      )
      .toBe("reachable");
  }

  it("says after() is incomplete, even for ids older than the new log, once the log was lost", async () => {
    let lastSeen = "";
    for (const text of ["m0", "m1", "m2"])
      lastSeen = (await history.append("room:a", { from: "ann", text })).message.id;
    expect(await history.after("room:a", lastSeen)).toEqual({ messages: [], complete: true });

    await restartRedisEmpty();
    expect(await history.after("room:a", lastSeen)).toEqual({ messages: [], complete: false });

    const { message: reborn } = await history.append("room:a", { from: "bob", text: "after the loss" });
    expect(reborn.prev).toBe("");
    expect(reborn.id > lastSeen).toBe(true);
    expect(await history.after("room:a", lastSeen)).toEqual({ messages: [reborn], complete: false });
    expect(await history.after("room:a", reborn.id)).toEqual({ messages: [], complete: true });
  });
});
