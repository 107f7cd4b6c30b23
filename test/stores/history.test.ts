import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryHistory } from "../../server/history/memory.js";
import { RedisHistory } from "../../server/history/redis.js";
import { redisKeys } from "../../server/redis/keys.js";
import { RedisServer, uniquePrefix } from "../support/redis-server.js";
import { DEADLINE_MS, openTestRedis } from "./fixtures.js";
import { describeHistoryContract } from "./history.contract.js";

describeHistoryContract("MemoryHistory", async (maxPerLog) => {
  const history = new MemoryHistory(maxPerLog);
  return {
    history,
    storedLength: async (log) => (await history.latest(log, Number.MAX_SAFE_INTEGER)).length,
    close: () => history.close(),
  };
});

describe("on Redis", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.stop();
  });

  describeHistoryContract("RedisHistory", async (maxPerLog) => {
    const prefix = uniquePrefix();
    const keys = redisKeys(prefix);
    const handles = await openTestRedis(redis, prefix, "history-test");
    const history = new RedisHistory(handles.connection, keys, maxPerLog);
    return {
      history,
      storedLength: (log) => handles.connection.command<number>(keys.log(log), ["XLEN", keys.log(log)]),
      async close() {
        await history.close();
        await handles.close();
      },
    };
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
    history = new RedisHistory(handles.connection, redisKeys(prefix), 100);
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
