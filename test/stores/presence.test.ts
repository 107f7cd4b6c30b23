import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RoomPresence } from "../../protocol/index.js";
import { MemoryPresence } from "../../server/presence/memory.js";
import type { HeldCaps } from "../../server/presence/presence.js";
import { RedisPresence } from "../../server/presence/redis.js";
import type { RedisConnection, RedisHandles } from "../../server/redis/connection.js";
import { redisKeys } from "../../server/redis/keys.js";
import { RedisServer, uniquePrefix } from "../support/redis-server.js";
import { DEADLINE_MS, openTestRedis, RecordingLog } from "./fixtures.js";
import { describePresenceContract, directMessage, everyPage, numberedNames } from "./presence.contract.js";

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
  options: Partial<HeldCaps> & { heartbeatTtlMs?: number; connection?: (own: RedisConnection) => RedisConnection } = {},
): Promise<RedisNode> {
  const handles = await openTestRedis(server, prefix, nodeId);
  const log = new RecordingLog();
  const presence = new RedisPresence({
    redis: options.connection?.(handles.connection) ?? handles.connection,
    keys: redisKeys(prefix),
    nodeId,
    heartbeatTtlMs: options.heartbeatTtlMs ?? HEARTBEAT_TTL_MS,
    maxHeldPerRecipient: options.maxHeldPerRecipient ?? 100,
    maxHeldPerSender: options.maxHeldPerSender ?? 100,
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

/** Calls made to a connection, and round trips: a round is the calls made before any of them is answered. */
interface CallCount {
  calls: number;
  rounds: number;
}

/** Wraps a connection so that it counts its calls and round trips into `count`. */
function counting(count: CallCount): (own: RedisConnection) => RedisConnection {
  return (own) => {
    let answeredSinceLastCall = true;
    const track = async <T>(call: () => Promise<T>): Promise<T> => {
      count.calls += 1;
      if (answeredSinceLastCall) count.rounds += 1;
      answeredSinceLastCall = false;
      try {
        return await call();
      } finally {
        answeredSinceLastCall = true;
      }
    };
    return {
      command: (key, args) => track(() => own.command(key, args)),
      run: (script, keys, args) => track(() => own.run(script, keys, args)),
    };
  };
}

describePresenceContract("MemoryPresence", async (caps) => {
  const presence = new MemoryPresence("solo", caps);
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

  describePresenceContract("RedisPresence", async (caps) => {
    const node = await startRedisNode(redis, uniquePrefix(), "node-a", caps);
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
      expect(await a!.presence.membersOf("lobby", 10)).toEqual({ members: ["ann", "bob"], count: 2 });
      expect(await a!.presence.listRooms({ limit: 10 })).toEqual({ rooms: [{ room: "lobby", members: 2 }] });

      expect(await a!.presence.leftRoom("lobby", "ann")).toEqual({ lastInRoom: false, members: 2 });
      expect(await b!.presence.membersOf("lobby", 10)).toEqual({ members: ["ann", "bob"], count: 2 });
      expect(await b!.presence.leftRoom("lobby", "ann")).toEqual({ lastInRoom: true, members: 1 });
      expect(await a!.presence.membersOf("lobby", 10)).toEqual({ members: ["bob"], count: 1 });
    });

    it("caps a user's sockets cluster-wide: the sum over every node", async () => {
      const [a, b] = await nodes(uniquePrefix(), "node-a", "node-b");
      expect(await a!.presence.userConnected("ann", 3)).toBe(true);
      expect(await a!.presence.userConnected("ann", 3)).toBe(true);
      expect(await b!.presence.userConnected("ann", 3)).toBe(true);
      expect(await a!.presence.userConnected("ann", 3)).toBe(false);
      expect(await b!.presence.userConnected("ann", 3)).toBe(false);

      await a!.presence.userDisconnected("ann");
      expect(await b!.presence.userConnected("ann", 3)).toBe(true);
      expect(await a!.presence.userConnected("ann", 3)).toBe(false);
      await a!.presence.userDisconnected("ann");
      expect((await a!.presence.nodesOf("ann")).sort()).toEqual(["node-b"]);
    });

    it("records nothing of a refused socket in Redis, not even the node's user set", async () => {
      const prefix = uniquePrefix();
      const [a, b] = await nodes(prefix, "node-a", "node-b");
      const keys = redisKeys(prefix);
      const { connection } = a!.handles;
      await b!.presence.userConnected("ann", 1);
      expect(await a!.presence.userConnected("ann", 1)).toBe(false);

      expect(await connection.command<string[]>(keys.userNodes("ann"), ["HGETALL", keys.userNodes("ann")])).toEqual([
        "node-b",
        "1",
      ]);
      const onNodeA = keys.nodeUsers("node-a");
      expect(await connection.command<string[]>(onNodeA, ["SMEMBERS", onNodeA])).toEqual([]);
    });

    it("keeps the room index to rooms with members: a room leaves it when emptied, on any node", async () => {
      const prefix = uniquePrefix();
      const [a, b] = await nodes(prefix, "node-a", "node-b");
      const index = redisKeys(prefix).roomIndex();
      const { connection } = a!.handles;
      const score = (room: string) => connection.command<string | null>(index, ["ZSCORE", index, room]);

      await a!.presence.joinedRoom("lobby", "ann");
      await b!.presence.joinedRoom("lobby", "bob");
      expect(await score("lobby")).toBe("0");
      await a!.presence.leftRoom("lobby", "ann");
      expect(await score("lobby")).toBe("0");
      await b!.presence.leftRoom("lobby", "bob");
      expect(await score("lobby")).toBeNull();
      expect(await connection.command<number>(index, ["ZCARD", index])).toBe(0);

      await b!.presence.joinedRoom("lobby", "bob");
      expect(await score("lobby")).toBe("0");
    });

    it("writes the room index again once Redis lost it", async () => {
      const prefix = uniquePrefix();
      const [a] = await nodes(prefix, "node-a");
      const keys = redisKeys(prefix);
      const { connection } = a!.handles;
      await a!.presence.joinedRoom("lobby", "ann");
      // As after a restart without persistence: the heartbeat finds its key gone and writes everything again.
      for (const key of [keys.roomIndex(), keys.nodeAlive("node-a")]) await connection.command(key, ["DEL", key]);
      await expect
        .poll(() => a!.presence.listRooms({ limit: 10 }), { timeout: DEADLINE_MS })
        .toEqual({
          rooms: [{ room: "lobby", members: 1 }],
        });
    });

    it("drops from the index an empty room a listing comes across", async () => {
      const prefix = uniquePrefix();
      const [a] = await nodes(prefix, "node-a");
      const index = redisKeys(prefix).roomIndex();
      const { connection } = a!.handles;
      await a!.presence.joinedRoom("lobby", "ann");
      // What a node that lost Redis between its last leave and the ZREM leaves behind.
      await connection.command(index, ["ZADD", index, "0", "ghost"]);

      expect(await a!.presence.listRooms({ limit: 10 })).toEqual({ rooms: [{ room: "lobby", members: 1 }] });
      expect(await connection.command<string[]>(index, ["ZRANGE", index, "0", "-1"])).toEqual(["lobby"]);
    });

    it("lists 10,000 rooms in 2 round trips per page: the names, then their counts at once", async () => {
      const count: CallCount = { calls: 0, rounds: 0 };
      const prefix = uniquePrefix();
      // No heartbeat during the count: it would share the counted connection.
      const node = await startRedisNode(redis, prefix, "node-a", {
        heartbeatTtlMs: 600_000,
        connection: counting(count),
      });
      started.push(node);
      const rooms = numberedNames("room-", 10_000);
      for (let start = 0; start < rooms.length; start += 1000) {
        await Promise.all(rooms.slice(start, start + 1000).map((room) => node.presence.joinedRoom(room, "ann")));
      }

      for (const limit of [100, 1000]) {
        const pages = [];
        let cursor: string | undefined;
        do {
          Object.assign(count, { calls: 0, rounds: 0 });
          const page = await node.presence.listRooms({ cursor, limit });
          pages.push({ rooms: page.rooms.length, ...count });
          cursor = page.nextCursor;
        } while (cursor !== undefined);
        const full = pages.slice(0, 10_000 / limit);
        expect(full).toEqual(Array(10_000 / limit).fill({ rooms: limit, calls: 1 + limit, rounds: 2 }));
        // The cursor of the last full page leads to an empty one: one ZRANGE and nothing else.
        expect(pages.slice(10_000 / limit)).toEqual([{ rooms: 0, calls: 1, rounds: 1 }]);
      }
      expect((await everyPage(node.presence, 1000)).flat().map(({ room }) => room)).toEqual([...rooms].sort());
    });

    it("hands a DM held by one node over to the user's connection on another", async () => {
      const [a, b] = await nodes(uniquePrefix(), "node-a", "node-b");
      const dm = directMessage("ann", "dora", "wait for me");
      expect(await a!.presence.holdUnlessOnline(dm, 60_000)).toBe("held");
      await b!.presence.userConnected("dora");
      expect(await b!.presence.heldFor("dora")).toEqual([dm]);
      expect(await a!.presence.holdUnlessOnline(directMessage("ann", "dora", "live"), 60_000)).toBe("online");
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
      expect(await survivor!.presence.membersOf("lobby", 10)).toEqual({ members: ["ann", "bob", "cy"], count: 3 });

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
      expect(await survivor!.presence.membersOf("lobby", 10)).toEqual({ members: ["ann", "bob"], count: 2 });
      expect(await survivor!.presence.membersOf("games", 10)).toEqual({ members: [], count: 0 });
      // The room the dead node emptied left the index; the other one stayed.
      const index = redisKeys(prefix).roomIndex();
      expect(await survivor!.handles.connection.command<string[]>(index, ["ZRANGE", index, "0", "-1"])).toEqual([
        "lobby",
      ]);
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
