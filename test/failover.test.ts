import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RoomPresence } from "../protocol/index.js";
import { closeAllClients, connected, DEADLINE_MS, next, ok, record, type TestSocket } from "./support/clients.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";

// Node processes built in dist/ (npm test builds first), on a Redis of their own.
const HEARTBEAT_TTL_MS = 2000;

/** Matches `user`'s leave. */
const leaveOf = (user: string) => (presence: RoomPresence) => presence.user === user && presence.event === "leave";

/** The first presence event of `socket` that satisfies `match`, and when it arrived (epoch ms). */
async function arrival(
  socket: TestSocket,
  match: (presence: RoomPresence) => boolean,
  ms = DEADLINE_MS,
): Promise<{ presence: RoomPresence; at: number }> {
  const presence = await next(socket, "room:presence", match, ms);
  return { presence, at: Date.now() };
}

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

    const leftAtAlice = arrival(alice, leaveOf("victor"));
    const leftAtBob = arrival(bob, leaveOf("victor"));
    const killedAt = Date.now();
    expect(await cluster.kill(2, "SIGKILL")).toBeNull();
    const leaves = await Promise.all([leftAtAlice, leftAtBob]);
    for (const { presence } of leaves) expect(presence).toEqual({ room, user: "victor", event: "leave", members: 2 });
    // The heartbeat's promise, measured from the kill to the later of the two arrivals.
    expect(Math.max(...leaves.map(({ at }) => at)) - killedAt).toBeLessThanOrEqual(2 * HEARTBEAT_TTL_MS);

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

  it("SIGTERM: leaves are announced, sockets close at the transport, the process exits 0", async () => {
    const room = uniqueRoom();
    const stayer = await connected(cluster.urls[0]!, "stan");
    const mover = await connected(cluster.urls[1]!, "mo");
    await ok(stayer, "room:join", { room });
    // The mover's join reaches the stayer through another node: it may come after the mover's answer.
    const moverJoined = next(stayer, "room:presence", (p) => p.user === "mo" && p.event === "join");
    await ok(mover, "room:join", { room });
    await moverJoined;
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
    /** How many times each node logged `message` so far. */
    const logged = (message: string) =>
      cluster.nodes.map((node) => node.logs.filter((line) => line.msg === message).length);
    const since = (counts: number[], message: string) => logged(message).map((count, index) => count - counts[index]!);
    const readiness = () => Promise.all(cluster.urls.map(async (url) => (await fetch(`${url}/readyz`)).status));
    const lostBefore = logged("lost the Redis connection; retrying");
    const restoredBefore = logged("Redis connection restored");

    await cluster.redis.kill("SIGKILL");
    await expect.poll(readiness, { timeout: DEADLINE_MS }).toEqual([503, 503, 503]);
    await cluster.redis.restart();
    await expect.poll(readiness, { timeout: DEADLINE_MS }).toEqual([200, 200, 200]);
    // Each node's log is read in order: once it says the outage ended, all it said about it is in.
    await expect
      .poll(() => since(restoredBefore, "Redis connection restored").every((count) => count > 0), {
        timeout: DEADLINE_MS,
      })
      .toBe(true);
    expect(since(lostBefore, "lost the Redis connection; retrying")).toEqual([1, 1, 1]);
    expect(since(restoredBefore, "Redis connection restored")).toEqual([1, 1, 1]);
  });
});

describe("a node restarted under the same NODE_ID before its heartbeat expired (real processes)", () => {
  // Far longer than the test runs: no other node can reap the dead node's entries meanwhile, so
  // only the restarted node itself can remove them.
  const LONG_HEARTBEAT_TTL_MS = 300_000;
  /** A cold start on a busy machine may take this long; the leave comes during the start. */
  const RESTART_DEADLINE_MS = 30_000;
  let cluster: ProcessCluster;

  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2, env: { HEARTBEAT_TTL_MS: String(LONG_HEARTBEAT_TTL_MS) } });
  });
  afterEach(closeAllClients);
  afterAll(() => cluster.close());

  it("removes its old entries when it starts, and the others see the leaves", async () => {
    const room = "restarted";
    const alice = await connected(cluster.urls[0]!, "amy");
    const ghost = await connected(cluster.urls[1]!, "gus");
    await ok(alice, "room:join", { room });
    await ok(ghost, "room:join", { room });
    const left = arrival(alice, leaveOf("gus"), RESTART_DEADLINE_MS);
    expect(await cluster.kill(1, "SIGKILL")).toBeNull();
    const restartedAt = Date.now();
    await cluster.restart(1);
    const { presence, at } = await left;
    expect(presence).toEqual({ room, user: "gus", event: "leave", members: 1 });
    // Announced by the restart, not before it.
    expect(at).toBeGreaterThanOrEqual(restartedAt);
    expect((await ok(alice, "room:join", { room })).members).toEqual(["amy"]);
  });
});
