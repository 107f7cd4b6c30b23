/**
 * Process errors on a real node process (the build in dist/): an uncaught exception or unhandled
 * rejection is logged and shuts the node down in order, as SIGTERM does, then exits 1; a second
 * signal during a shutdown exits at once. The crash comes from a test-only preload (NODE_OPTIONS=
 * --import of a data: URL), on SIGWINCH, so that the server holds no test hook.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeAllClients, connected, next, ok, within } from "./support/clients.js";
import { NodeProcess } from "./support/processes.js";
import { freePort, RedisServer, uniquePrefix } from "./support/redis-server.js";

const run = promisify(execFile);

/**
 * NODE_OPTIONS that preload `source`, inline as a data: URL. Plain JavaScript: a TypeScript file
 * through tsx's loader fails in Node 20's loader-hooks thread, which NODE_OPTIONS reaches too.
 */
const preload = (source: string) => `--import=data:text/javascript,${encodeURIComponent(source)}`;

/** SIGWINCH, a signal the server leaves alone, makes a promise reject with no handler. */
const REJECT_ON_SIGWINCH = `process.on("SIGWINCH", () => { void Promise.reject(new Error("injected rejection")); });`;
/** SIGWINCH throws an exception nobody catches. */
const THROW_ON_SIGWINCH = `process.on("SIGWINCH", () => { setImmediate(() => { throw new Error("injected exception"); }); });`;

describe("process errors", () => {
  let redis: RedisServer;
  let prefix: string;
  const nodes: NodeProcess[] = [];
  /** The redis-server pid while it is SIGSTOPped, so that clean-up can let it go on. */
  let stalled: number | undefined;

  const startNode = async (nodeId: string, env: Record<string, string> = {}) => {
    const node = new NodeProcess(await freePort(), {
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      NODE_ID: nodeId,
      // Far longer than the test: a user who leaves was removed by the shutdown, not expired.
      HEARTBEAT_TTL_MS: "600000",
      ...env,
    });
    nodes.push(node);
    await node.start();
    return node;
  };

  beforeEach(async () => {
    redis = await RedisServer.start();
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    closeAllClients();
    if (stalled !== undefined) process.kill(stalled, "SIGCONT");
    stalled = undefined;
    await Promise.all(nodes.splice(0).map((node) => node.stop("SIGKILL")));
    await redis.stop();
  });

  for (const [kind, fixture, message] of [
    ["an unhandled rejection", REJECT_ON_SIGWINCH, "injected rejection"],
    ["an uncaught exception", THROW_ON_SIGWINCH, "injected exception"],
  ] as const) {
    it(`${kind} is logged, then the node shuts down in order and exits 1`, async () => {
      const [crashing, other] = await Promise.all([
        startNode("crashing", { NODE_OPTIONS: preload(fixture) }),
        startNode("other"),
      ]);
      const alice = await connected(crashing.url, "alice");
      const bob = await connected(other.url, "bob");
      await ok(alice, "room:join", { room: "lobby" });
      await ok(bob, "room:join", { room: "lobby" });
      const aliceLeft = next(
        bob,
        "room:presence",
        (presence) => presence.user === "alice" && presence.event === "leave",
      );
      const dropped = new Promise<string>((resolve) => alice.once("disconnect", resolve));

      expect(await crashing.stop("SIGWINCH")).toBe(1);

      // The orderly shutdown ran: alice's socket was closed and her leave went out to the cluster.
      expect(await within(dropped, "alice's socket to be closed")).toBe("transport close");
      expect(await aliceLeft).toMatchObject({ room: "lobby", user: "alice", event: "leave" });
      // The exit can be reported before the last of its output is read.
      const line = await crashing.waitForLog((entry) => entry.msg === "uncaught error, shutting down", "the crash log");
      expect(line).toMatchObject({ level: 50, node: "crashing", err: { message } });
    });
  }

  it("a second SIGTERM while the shutdown is under way exits at once, with 1", async () => {
    // Long enough that only the second signal can end the process within the test.
    const stopping = await startNode("stopping", { SHUTDOWN_TIMEOUT_MS: "600000" });
    const alice = await connected(stopping.url, "alice");
    await ok(alice, "room:join", { room: "lobby" });
    // The shutdown's leave and presence clean-up hang on a stopped Redis.
    const { stdout } = await run("redis-cli", ["-p", String(redis.port), "INFO", "server"]);
    stalled = Number(/process_id:(\d+)/.exec(stdout)?.[1]);
    process.kill(stalled, "SIGSTOP");

    const exit = stopping.stop("SIGTERM");
    await stopping.waitForLog((line) => line.msg === "shutting down", "the shutdown to start");
    expect(stopping.running).toBe(true);
    expect(await stopping.stop("SIGTERM")).toBe(1);
    expect(await exit).toBe(1);
    const line = await stopping.waitForLog(
      (entry) => entry.msg === "second signal while shutting down, exiting at once",
      "the second signal's log",
    );
    expect(line).toMatchObject({ level: 50, signal: "SIGTERM" });
  });
});
