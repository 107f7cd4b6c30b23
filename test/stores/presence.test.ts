import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RoomPresence } from "../../protocol/index.js";
import { MemoryPresence } from "../../server/presence/memory.js";
import { RedisPresence } from "../../server/presence/redis.js";
import type { RedisHandles } from "../../server/redis/connection.js";
import { redisKeys } from "../../server/redis/keys.js";
import { RedisServer, uniquePrefix } from "../support/redis-server.js";
import { DEADLINE_MS, openTestRedis, RecordingLog } from "./fixtures.js";
import { describePresenceContract, directMessage } from "./presence.contract.js";

/** Small, so that dead nodes are noticed quickly; heartbeats go out every third of it. */
const HEARTBEAT_TTL_MS = 2000;

/** A RedisPresence on its own connection, opened the way a node opens it. */
interface RedisNode {
  presence: RedisPresence;
  handles: RedisHandles;
  log: RecordingLog;
  close(): Promise<void>;
}

async function startRedisNode(
  server: RedisServer,
  prefix: string,
  nodeId: string,
  options: { maxHeldPerUser?: number; heartbeatTtlMs?: number } = {},
): Promise<RedisNode> {
  const handles = await openTestRedis(server, prefix, nodeId);
  const log = new RecordingLog();
  const presence = new RedisPresence({
    redis: handles.connection,
    keys: redisKeys(prefix),
    nodeId,
    heartbeatTtlMs: options.heartbeatTtlMs ?? HEARTBEAT_TTL_MS,
    maxHeldPerUser: options.maxHeldPerUser ?? 100,
    log,
  });
  await presence.start();
  return {
    presence,
    handles,
    log,
    async close() {
      await presence.close();
      await handles.close();
    },
  };
}

const byRoomThenUser = (a: RoomPresence, b: RoomPresence) =>
  a.room === b.room ? (a.user < b.user ? -1 : 1) : a.room < b.room ? -1 : 1;

describePresenceContract("MemoryPresence", async ({ maxHeldPerUser }) => {
  const presence = new MemoryPresence("solo", maxHeldPerUser);
  await presence.start();
  return { presence, nodeId: "solo", close: () => presence.close() };
});

describe("on Redis", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.stop();
  });

  describePresenceContract("RedisPresence", async ({ maxHeldPerUser }) => {
    const node = await startRedisNode(redis, uniquePrefix(), "node-a", { maxHeldPerUser });
    return { presence: node.presence, nodeId: "node-a", close: () => node.close() };
  });

  describe("RedisPresence across nodes", () => {
    const started: RedisNode[] = [];
    afterEach(async () => {
      await Promise.all(started.splice(0).map((node) => node.close()));
    });

    async function nodes(prefix: string, ...ids: string[]): Promise<RedisNode[]> {
      const opened = await Promise.all(ids.map((id) => startRedisNode(redis, prefix, id)));
      started.push(...opened);
      return opened;
    }

    it("counts a user on two nodes once: first in on one, last out on the other", async () => {
      const [a, b] = await nodes(uniquePrefix(), "node-a", "node-b");
      await a!.presence.userConnected("ann");
      await b!.presence.userConnected("ann");
      expect((await a!.presence.nodesOf("ann")).sort()).toEqual(["node-a", "node-b"]);

      expect(await a!.presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: true, members: 1 });
      expect(await b!.presence.joinedRoom("lobby", "ann")).toEqual({ firstInRoom: false, members: 1 });
      expect(await b!.presence.joinedRoom("lobby", "bob")).toEqual({ firstInRoom: true, members: 2 });
      expect(await a!.presence.membersOf("lobby")).toEqual(["ann", "bob"]);
      expect(await a!.presence.listRooms()).toEqual([{ room: "lobby", members: 2 }]);

      expect(await a!.presence.leftRoom("lobby", "ann")).toEqual({ lastInRoom: false, members: 2 });
      expect(await b!.presence.membersOf("lobby")).toEqual(["ann", "bob"]);
      expect(await b!.presence.leftRoom("lobby", "ann")).toEqual({ lastInRoom: true, members: 1 });
      expect(await a!.presence.membersOf("lobby")).toEqual(["bob"]);
    });

    it("hands a DM held by one node over to the user's connection on another", async () => {
      const [a, b] = await nodes(uniquePrefix(), "node-a", "node-b");
      const dm = directMessage("ann", "dora", "wait for me");
      expect(await a!.presence.holdUnlessOnline(dm, 60_000)).toBe(false);
      await b!.presence.userConnected("dora");
      expect(await b!.presence.heldFor("dora")).toEqual([dm]);
      expect(await a!.presence.holdUnlessOnline(directMessage("ann", "dora", "live"), 60_000)).toBe(true);
      await b!.presence.releaseHeld(dm);
      expect(await a!.presence.heldFor("dora")).toEqual([]);
    });

    it("announces exactly a dead node's users leaving their rooms, within 2 heartbeat TTLs", async () => {
      const prefix = uniquePrefix();
      const [doomed, survivor] = await nodes(prefix, "node-a", "node-b");
      const leaves: RoomPresence[] = [];
      survivor!.presence.onRemoteLeave((leave) => leaves.push(leave));
      doomed!.presence.onRemoteLeave((leave) => leaves.push(leave));

      // On the doomed node: ann in two rooms, cy with two sockets in one. On the survivor: ann and bob.
      for (const user of ["ann", "cy", "cy"]) await doomed!.presence.userConnected(user);
      await doomed!.presence.joinedRoom("lobby", "ann");
      await doomed!.presence.joinedRoom("games", "ann");
      await doomed!.presence.joinedRoom("lobby", "cy");
      await doomed!.presence.joinedRoom("lobby", "cy");
      for (const user of ["ann", "bob"]) await survivor!.presence.userConnected(user);
      await survivor!.presence.joinedRoom("lobby", "ann");
      await survivor!.presence.joinedRoom("lobby", "bob");
      expect(await survivor!.presence.membersOf("lobby")).toEqual(["ann", "bob", "cy"]);

      // The doomed node loses Redis for good: its heartbeats stop, and nothing purges its entries.
      const diedAt = Date.now();
      await doomed!.handles.close();
      const nodesKey = redisKeys(prefix).nodes();
      const registered = () =>
        survivor!.handles.connection.command<string[]>(nodesKey, ["ZRANGE", nodesKey, "0", "-1"]);
      await expect
        .poll(registered, { timeout: Math.max(0, 2 * HEARTBEAT_TTL_MS - (Date.now() - diedAt)), interval: 50 })
        .toEqual(["node-b"]);

      expect(leaves.sort(byRoomThenUser)).toEqual([
        { room: "games", user: "ann", event: "leave", members: 0 },
        { room: "lobby", user: "cy", event: "leave", members: 2 },
      ]);
      expect(await survivor!.presence.membersOf("lobby")).toEqual(["ann", "bob"]);
      expect(await survivor!.presence.membersOf("games")).toEqual([]);
      expect(await survivor!.presence.nodesOf("ann")).toEqual(["node-b"]);
      expect(await survivor!.presence.nodesOf("cy")).toEqual([]);
      expect((await survivor!.presence.listNodes()).map((node) => node.node)).toEqual(["node-b"]);
    });
  });

  describe("RedisPresence heartbeat failures", () => {
    let own: RedisServer;
    let node: RedisNode | undefined;
    const failed = "presence heartbeat failed";
    const rewritten = "wrote this node's presence to Redis again";

    beforeAll(async () => {
      own = await RedisServer.start();
    });
    afterAll(async () => {
      await node?.close();
      await own.stop();
    });

    it("logs an error reply at every failed heartbeat, and an outage once until a heartbeat succeeds", async () => {
      const prefix = uniquePrefix();
      node = await startRedisNode(own, prefix, "node-a", { heartbeatTtlMs: 600 });
      const { log, handles } = node;
      const nodesKey = redisKeys(prefix).nodes();

      // A bug: the node registry holds a value of the wrong type, so every heartbeat gets an error reply.
      await handles.connection.command(nodesKey, ["SET", nodesKey, "not a sorted set"]);
      await expect.poll(() => log.count("error", failed), { timeout: DEADLINE_MS }).toBeGreaterThanOrEqual(3);
      const reply = log.lines.find((line) => line.level === "error");
      expect(JSON.stringify(reply?.object)).toContain("WRONGTYPE");
      await handles.connection.command(nodesKey, ["DEL", nodesKey]);
      await expect.poll(() => log.count("info", rewritten), { timeout: DEADLINE_MS }).toBe(1);
      expect(log.count("warn", failed)).toBe(0);

      // An outage: one warning however long it lasts, the repeats only at debug level.
      const errorsBefore = log.count("error", failed);
      await own.kill();
      await expect.poll(() => log.count("debug", failed), { timeout: DEADLINE_MS }).toBeGreaterThanOrEqual(3);
      expect(log.count("warn", failed)).toBe(1);
      expect(log.count("error", failed)).toBe(errorsBefore);
      const warning = log.lines.find((line) => line.level === "warn" && line.message.startsWith(failed));
      expect(warning?.object).toMatchObject({ err: { name: expect.any(String), message: expect.any(String) } });

      // Redis is back (empty): the node writes its presence again, and the next outage is logged again.
      await own.restart();
      await expect.poll(() => log.count("info", rewritten), { timeout: DEADLINE_MS }).toBe(2);
      await own.kill();
      await expect.poll(() => log.count("warn", failed), { timeout: DEADLINE_MS }).toBe(2);
      await own.restart();
      await expect.poll(() => log.count("info", rewritten), { timeout: DEADLINE_MS }).toBe(3);
    });
  });
});
