/**
 * SIGTERM on a real node process (the build in dist/), made slow for real: its redis-server is
 * SIGSTOPped, so the leave handlers and the presence clean-up of the orderly shutdown hang until
 * it gets SIGCONT. Meanwhile the node must say it is stopping, and refuse new sockets.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { client, closeAllClients, connected, DEADLINE_MS, ok, within } from "./support/clients.js";
import { NodeProcess } from "./support/processes.js";
import { freePort, RedisServer, uniquePrefix } from "./support/redis-server.js";

const run = promisify(execFile);

/** The pid of the redis-server listening on `port`, as it reports it. */
async function redisPid(port: number): Promise<number> {
  const { stdout } = await run("redis-cli", ["-p", String(port), "INFO", "server"]);
  const pid = /process_id:(\d+)/.exec(stdout)?.[1];
  if (pid === undefined) throw new Error(`redis-server on port ${port} did not report its pid`);
  return Number(pid);
}

/** A raw Engine.IO polling handshake: what a new client gets before any Socket.IO logic. */
async function pollingHandshake(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  return { status: response.status, body: await response.text() };
}

async function answer(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

describe("SIGTERM while the orderly shutdown is slow (its Redis is stopped)", () => {
  let redis: RedisServer;
  let node: NodeProcess | undefined;
  /** The redis-server pid while it is SIGSTOPped, so that clean-up can let it go on. */
  let stalled: number | undefined;

  const stallRedis = async () => {
    stalled = await redisPid(redis.port);
    process.kill(stalled, "SIGSTOP");
  };
  const resumeRedis = () => {
    if (stalled !== undefined) process.kill(stalled, "SIGCONT");
    stalled = undefined;
  };

  const startNode = async (env: Record<string, string> = {}) => {
    node = new NodeProcess(await freePort(), {
      REDIS_URL: redis.url,
      REDIS_PREFIX: uniquePrefix(),
      NODE_ID: "stopping-node",
      ...env,
    });
    await node.start();
    return node;
  };

  beforeEach(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    closeAllClients();
    resumeRedis();
    await node?.stop("SIGKILL");
    node = undefined;
    await redis.stop();
  });

  it("turns /readyz to 503 'shutting down' and refuses new sockets, /healthz still answers; then exits 0", async () => {
    const stopping = await startNode();
    const alice = await connected(stopping.url, "alice");
    await ok(alice, "room:join", { room: "lobby" });
    const closed = new Promise<string>((resolve) => alice.once("disconnect", resolve));

    await stallRedis();
    let exited = false;
    const exit = stopping.stop("SIGTERM").finally(() => (exited = true));

    // The drain closes the socket at the transport first; its leave then hangs on the stopped Redis.
    expect(await within(closed, "alice's socket to be closed by the shutdown")).toBe("transport close");

    // Soft: a failure here still lets the rest of the shutdown be checked.
    expect.soft(await answer(`${stopping.url}/readyz`)).toEqual({
      status: 503,
      body: { ready: false, node: "stopping-node", reason: "shutting down" },
    });
    expect
      .soft(await answer(`${stopping.url}/healthz`))
      .toEqual({ status: 200, body: { ok: true, node: "stopping-node" } });

    // A new session is refused at the handshake, for the shutdown (not for its Origin).
    const handshake = await pollingHandshake(stopping.url);
    expect(handshake.status).toBe(403);
    expect(JSON.parse(handshake.body)).toMatchObject({ message: "unavailable" });
    const bob = client(stopping.url, "bob");
    const outcome = await within(
      new Promise<string>((resolve) => {
        bob.once("connect", () => resolve("connected"));
        bob.once("connect_error", () => resolve("refused"));
      }),
      "bob's handshake to be answered",
    );
    expect(outcome).toBe("refused");

    // Everything above happened while the shutdown was still under way.
    expect(exited).toBe(false);
    resumeRedis();
    expect(await exit).toBe(0);
  });

  it("exits 1 with 'shutdown took too long' once SHUTDOWN_TIMEOUT_MS has passed", async () => {
    const stopping = await startNode({ SHUTDOWN_TIMEOUT_MS: "1000" });
    const alice = await connected(stopping.url, "alice");
    await ok(alice, "room:join", { room: "lobby" });

    await stallRedis();
    // A deadline far below the 25 s default: the configured timeout is the one that counts.
    expect(await within(stopping.stop("SIGTERM"), "the node to give up on its shutdown", 15_000)).toBe(1);

    // The exit can be reported before the last of its output is read.
    const messages = () => stopping.logs.map((line) => line.msg);
    await expect.poll(messages, { timeout: DEADLINE_MS }).toContain("shutdown took too long, exiting anyway");
    const log = messages();
    expect(log.indexOf("shutting down")).toBeGreaterThanOrEqual(0);
    expect(log.indexOf("shutting down")).toBeLessThan(log.indexOf("shutdown took too long, exiting anyway"));
    const line = stopping.logs.find((entry) => entry.msg === "shutdown took too long, exiting anyway");
    expect(line).toMatchObject({ level: 50, node: "stopping-node" });
  });
});
