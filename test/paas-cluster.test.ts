/**
 * WEB_CONCURRENCY on a real process (the build in dist/): one process, one port, that many
 * roomcast nodes as node:cluster workers, each with its own NODE_ID in the Redis registry. An
 * ordinary node beside it, on the same Redis, watches the registry from outside.
 */
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatClient } from "../client/sdk/index.js";
import { DEADLINE_MS, within } from "./support/clients.js";
import { TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { NodeProcess } from "./support/processes.js";
import { freePort, RedisServer, uniquePrefix } from "./support/redis-server.js";
import { nextEvent } from "./support/sdk-events.js";

type Log = Record<string, unknown>;

/** The node ids `GET /admin/nodes` of `url` lists, sorted. */
async function registeredNodes(url: string): Promise<string[]> {
  const response = await fetch(`${url}/admin/nodes`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  const body = (await response.json()) as { nodes: { node: string }[] };
  return body.nodes.map((entry) => entry.node).sort();
}

const listening = (node: string) => (line: Log) => line.msg === "roomcast is listening" && line.node === node;

/** Pids of the workers the primary started, from its log. */
const workerPids = (dyno: NodeProcess): number[] =>
  dyno.logs.flatMap((line) => (line.msg === "worker started" ? [line.pid as number] : []));

/** Kills whatever workers of `dyno` are still running (they also exit when their primary dies). */
function killWorkers(dyno: NodeProcess): void {
  for (const pid of workerPids(dyno)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

describe("WEB_CONCURRENCY=2: one port, two nodes", () => {
  let redis: RedisServer;
  let observer: NodeProcess;
  let dyno: NodeProcess;
  const clients: ChatClient[] = [];
  const prefix = uniquePrefix();

  beforeAll(async () => {
    redis = await RedisServer.start();
    // A heartbeat far longer than the test: a node that leaves the registry was removed by its
    // own shutdown, not expired.
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: prefix, HEARTBEAT_TTL_MS: "600000" };
    observer = new NodeProcess(await freePort(), { ...env, NODE_ID: "observer" });
    dyno = new NodeProcess(await freePort(), { ...env, NODE_ID: "dyno", WEB_CONCURRENCY: "2" });
    await Promise.all([observer.start(), dyno.start()]);
    await dyno.waitForLog(listening("dyno-0"), "worker dyno-0 to listen");
    await dyno.waitForLog(listening("dyno-1"), "worker dyno-1 to listen");
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([observer?.stop("SIGKILL"), dyno?.stop("SIGKILL")]);
    if (dyno) killWorkers(dyno);
    await redis?.stop();
  });

  it("runs two nodes named NODE_ID-<index>, both in the registry", async () => {
    expect(new Set(workerPids(dyno)).size).toBe(2);
    await expect
      .poll(() => registeredNodes(dyno.url), { timeout: DEADLINE_MS })
      .toEqual(["dyno-0", "dyno-1", "observer"]);
  });

  it("SDK clients connected to the one port chat across the workers", async () => {
    // Which worker holds each user, as the registry records it.
    const redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    const byWorker = new Map<string, ChatClient>();
    try {
      // The primary hands connections to the workers in turn; a few are enough to reach both.
      for (let index = 0; index < 10 && byWorker.size < 2; index += 1) {
        const client = new ChatClient({
          urls: dyno.url,
          user: `user-${index}`,
          backoff: { initialMs: 10, maxMs: 100 },
        });
        clients.push(client);
        await within(client.connect(), `user-${index} to connect`);
        const [worker] = await redisClient.hKeys(`${prefix}:{u:user-${index}}:nodes`);
        if (worker !== undefined && !byWorker.has(worker)) byWorker.set(worker, client);
      }
    } finally {
      await redisClient.close();
    }
    expect([...byWorker.keys()].sort()).toEqual(["dyno-0", "dyno-1"]);

    const onFirst = byWorker.get("dyno-0")!;
    const onSecond = byWorker.get("dyno-1")!;
    await onFirst.join("across");
    await onSecond.join("across");
    for (const [from, to] of [
      [onFirst, onSecond],
      [onSecond, onFirst],
    ] as const) {
      const text = `from ${from.user} to ${to.user}`;
      const received = nextEvent(to, "message", (message) => message.text === text);
      const sent = await from.send("across", text);
      expect(await received).toEqual(sent);
    }
  });

  it("restarts a worker that crashed, under the same NODE_ID", async () => {
    const [, secondPid] = workerPids(dyno);
    process.kill(secondPid!, "SIGKILL");
    const restarting = await dyno.waitForLog(
      (line) => line.msg === "worker exited; restarting it" && line.worker === "dyno-1",
      "the primary to restart dyno-1",
    );
    expect(restarting).toMatchObject({ level: 50, signal: "SIGKILL", role: "primary" });
    await expect.poll(() => dyno.logs.filter(listening("dyno-1")).length, { timeout: DEADLINE_MS }).toBe(2);
    expect(new Set(workerPids(dyno)).size).toBe(3);
    await expect
      .poll(() => registeredNodes(dyno.url), { timeout: DEADLINE_MS })
      .toEqual(["dyno-0", "dyno-1", "observer"]);
  });

  it("SIGTERM to the primary: both workers shut down in order and leave the registry, then it exits 0", async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    expect(await registeredNodes(observer.url)).toEqual(["dyno-0", "dyno-1", "observer"]);
    expect(await dyno.stop("SIGTERM")).toBe(0);
    // Right away: each worker removed itself on its way out.
    expect(await registeredNodes(observer.url)).toEqual(["observer"]);
    for (const node of ["dyno-0", "dyno-1"]) {
      expect(
        dyno.logs.some((line) => line.msg === "shutting down" && line.node === node),
        node,
      ).toBe(true);
    }
    expect(dyno.logs.find((line) => line.msg === "every worker has exited")).toMatchObject({ codes: [0, 0] });
  });
});

/**
 * A test-only preload for every process (NODE_OPTIONS; workers inherit it): a node:cluster worker
 * dies as it starts. Inline, as a data: URL, so that each of the many restarts costs only a bare
 * Node start.
 */
const WORKERS_CRASH = `--import=data:text/javascript,${encodeURIComponent(
  'import cluster from "node:cluster"; if (cluster.isWorker) process.exit(3);',
)}`;

describe("WEB_CONCURRENCY=2 with workers that crash as they start", () => {
  let redis: RedisServer;
  let dyno: NodeProcess | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await dyno?.stop("SIGKILL");
    if (dyno) killWorkers(dyno);
    await redis?.stop();
  });

  it("restarts them with a growing delay, then gives up and exits 1", async () => {
    dyno = new NodeProcess(await freePort(), {
      REDIS_URL: redis.url,
      REDIS_PREFIX: uniquePrefix(),
      NODE_ID: "looping",
      WEB_CONCURRENCY: "2",
      NODE_OPTIONS: WORKERS_CRASH,
    });
    await expect(dyno.start()).rejects.toThrow(/exited with 1 before listening/);
    // The exit can be reported before the last of its output is read.
    const givingUp = await dyno.waitForLog(
      (line) => line.msg === "a worker keeps crashing; stopping the others",
      "the primary to give up",
    );
    const restarts = (worker: unknown) =>
      dyno!.logs.filter((line) => line.msg === "worker exited; restarting it" && line.worker === worker);
    // The slot that gave up was restarted 5 times, each after twice the delay, then no more.
    expect(restarts(givingUp.worker).map((line) => line.restartInMs)).toEqual([100, 200, 400, 800, 1600]);
    expect(restarts(givingUp.worker).every((line) => line.code === 3)).toBe(true);
    expect(dyno.logs.filter((line) => line.msg === givingUp.msg)).toHaveLength(1);
  });
});
