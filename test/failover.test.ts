import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeAllClients, connected, eventually, next, ok, record } from "./support/clients.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";

// Node processes built in dist/ (npm test builds first), on a Redis of their own.
const HEARTBEAT_TTL_MS = 2000;

describe("node failures (real processes)", () => {
  let cluster: ProcessCluster;
  let rooms = 0;
  const uniqueRoom = () => `failover-${++rooms}`;

  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 3, env: { HEARTBEAT_TTL_MS: String(HEARTBEAT_TTL_MS) } });
  });
  afterEach(closeAllClients);
  afterAll(() => cluster.close());

  it("removes a SIGKILLed node's users within 2 heartbeat TTLs, and the others keep chatting", async () => {
    const room = uniqueRoom();
    const alice = await connected(cluster.urls[0]!, "alice");
    const bob = await connected(cluster.urls[1]!, "bob");
    const victim = await connected(cluster.urls[2]!, "victor");
    for (const socket of [alice, bob, victim]) await ok(socket, "room:join", { room });

    const leftAtAlice = next(alice, "room:presence", (p) => p.user === "victor" && p.event === "leave", 2 * HEARTBEAT_TTL_MS);
    const leftAtBob = next(bob, "room:presence", (p) => p.user === "victor" && p.event === "leave", 2 * HEARTBEAT_TTL_MS);
    expect(await cluster.kill(2, "SIGKILL")).toBeNull();
    expect(await leftAtAlice).toEqual({ room, user: "victor", event: "leave", members: 2 });
    await leftAtBob;

    expect((await ok(alice, "room:join", { room })).members).toEqual(["alice", "bob"]);
    expect((await ok(bob, "rooms:list", {})).rooms).toContainEqual({ room, members: 2 });
    const got = next(bob, "room:message", (m) => m.text === "still here");
    await ok(alice, "room:send", { room, text: "still here" });
    await got;

    // Back under the same NODE_ID, it starts clean and serves again.
    await cluster.restart(2);
    const again = await connected(cluster.urls[2]!, "victor");
    expect((await ok(again, "room:join", { room })).members).toEqual(["alice", "bob", "victor"]);
  });

  it("a node restarted under the same NODE_ID before its heartbeat expired removes its old entries", async () => {
    const room = uniqueRoom();
    const alice = await connected(cluster.urls[0]!, "amy");
    const ghost = await connected(cluster.urls[1]!, "gus");
    await ok(alice, "room:join", { room });
    await ok(ghost, "room:join", { room });
    const left = next(alice, "room:presence", (p) => p.user === "gus" && p.event === "leave");
    await cluster.kill(1, "SIGKILL");
    await cluster.restart(1);
    expect(await left).toEqual({ room, user: "gus", event: "leave", members: 1 });
    expect((await ok(alice, "room:join", { room })).members).toEqual(["amy"]);
  });

  it("SIGTERM: leaves are announced, sockets close at the transport, the process exits 0", async () => {
    const room = uniqueRoom();
    const stayer = await connected(cluster.urls[0]!, "stan");
    const mover = await connected(cluster.urls[1]!, "mo");
    await ok(stayer, "room:join", { room });
    await ok(mover, "room:join", { room });
    const presence = record(stayer, "room:presence");
    const reason = new Promise((resolve) => mover.once("disconnect", resolve));
    const left = next(stayer, "room:presence", (p) => p.user === "mo" && p.event === "leave");

    expect(await cluster.kill(1, "SIGTERM")).toBe(0);
    // "transport close", not "io server disconnect": the client reconnects, to another node.
    expect(await reason).toBe("transport close");
    expect(await left).toEqual({ room, user: "mo", event: "leave", members: 1 });

    const moved = await connected(cluster.urls[2]!, "mo");
    const joined = next(stayer, "room:presence", (p) => p.user === "mo" && p.event === "join");
    await ok(moved, "room:join", { room });
    await joined;
    const got = next(moved, "room:message", (m) => m.text === "welcome back");
    await ok(stayer, "room:send", { room, text: "welcome back" });
    await got;
    expect(presence.filter((p) => p.user === "mo").map((p) => p.event)).toEqual(["leave", "join"]);
    await cluster.restart(1);
  });

  it("logs a Redis outage once per node, not once per retry, and recovers without a restart", async () => {
    const lost = (index: number) => cluster.nodes[index]!.logs.filter((line) => line.msg === "lost the Redis connection; retrying");
    const before = cluster.nodes.map((_, index) => lost(index).length);
    await cluster.redis.kill("SIGKILL");
    await eventually(async () => {
      for (const url of cluster.urls) expect((await fetch(`${url}/readyz`)).status).toBe(503);
    }, "every node to report not ready");
    await cluster.redis.restart();
    await eventually(async () => {
      for (const url of cluster.urls) expect((await fetch(`${url}/readyz`)).status).toBe(200);
    }, "every node to be ready again");
    expect(cluster.nodes.map((_, index) => lost(index).length - before[index]!)).toEqual([1, 1, 1]);
    const restored = cluster.nodes.map((node) => node.logs.filter((line) => line.msg === "Redis connection restored").length);
    expect(restored.every((count) => count >= 1)).toBe(true);
  });
});
