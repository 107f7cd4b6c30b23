/**
 * PaaS Redis add-ons hand out rediss:// URLs, often signed by a CA of their own: nodes talk to a
 * TLS-only redis-server with a self-signed certificate, trusting it with REDIS_TLS_CA (or Node's
 * NODE_EXTRA_CA_CERTS), refusing it without, or skipping verification when told to; and a Redis
 * Cluster over TLS.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { closeAllClients, connected, next, ok, within } from "./support/clients.js";
import { TEST_ENV } from "./support/deployment.js";
import { NodeProcess } from "./support/processes.js";
import { freePort, RedisServer, uniquePrefix } from "./support/redis-server.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../dist/server/main.js", import.meta.url));

/** Runs a node that is expected to stop by itself; resolves with its exit code and output. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; logs: string; stderr: string }> {
  const inherited: Record<string, string | undefined> = { ...process.env };
  // Nothing from this environment may make the certificate trusted.
  delete inherited.NODE_EXTRA_CA_CERTS;
  const child = spawn(process.execPath, [MAIN], {
    env: { ...inherited, ...TEST_ENV, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logs = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (logs += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<{ code: number | null; logs: string; stderr: string }>((resolve) =>
    child.once("close", (code) => resolve({ code, logs, stderr })),
  );
  return within(closed, "the node to stop by itself", 30_000).finally(() => child.kill("SIGKILL"));
}

/** A self-signed certificate for 127.0.0.1, shared by every server here: its files and PEM text. */
let dir: string;
let certFile: string;
let keyFile: string;
let pem: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "roomcast-tls-"));
  certFile = join(dir, "cert.pem");
  keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1"].concat([
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]),
    { stdio: "ignore" },
  );
  pem = readFileSync(certFile, "utf8");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A redis-server that speaks TLS only, on `port`; the last --port wins, so plain TCP is off. */
const tlsOnly = (port: number, extra: string[] = []) =>
  RedisServer.start(
    ["--port", "0", "--tls-port", String(port), "--tls-cert-file", certFile, "--tls-key-file", keyFile].concat([
      "--tls-auth-clients",
      "no",
      ...extra,
    ]),
  );

describe("rediss:// (Redis over TLS) with a self-signed certificate", () => {
  let redis: RedisServer;
  let redisUrl: string;
  const prefix = uniquePrefix();
  const nodes: NodeProcess[] = [];

  const startNode = async (nodeId: string, env: Record<string, string>) => {
    const node = new NodeProcess(await freePort(), {
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      NODE_ID: nodeId,
      ...env,
    });
    nodes.push(node);
    await node.start();
    return node;
  };

  beforeAll(async () => {
    const port = await freePort();
    redis = await tlsOnly(port);
    redisUrl = `rediss://127.0.0.1:${port}`;
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop("SIGKILL")));
    await redis?.stop();
  });

  it("REDIS_TLS_CA (multi-line, or with \\n for line breaks) and NODE_EXTRA_CA_CERTS: the nodes chat", async () => {
    const [multiLine, escaped, extraCa] = await Promise.all([
      startNode("tls-ca", { REDIS_TLS_CA: pem }),
      startNode("tls-ca-escaped", { REDIS_TLS_CA: pem.trim().split("\n").join("\\n") }),
      startNode("tls-extra-ca", { NODE_EXTRA_CA_CERTS: certFile }),
    ]);
    const alice = await connected(multiLine.url, "alice");
    const bob = await connected(escaped.url, "bob");
    const carol = await connected(extraCa.url, "carol");
    for (const socket of [alice, bob, carol]) await ok(socket, "room:join", { room: "secure" });
    const atBob = next(bob, "room:message");
    const atCarol = next(carol, "room:message");
    const sent = await ok(alice, "room:send", { room: "secure", text: "over TLS" });
    expect(await atBob).toEqual(sent.message);
    expect(await atCarol).toEqual(sent.message);
    for (const node of [multiLine, escaped, extraCa]) {
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
      // Verification is on: nothing to warn about.
      expect(node.logs.filter((line) => line.level === 40)).toEqual([]);
    }
  });

  it("without the CA the certificate does not verify: start-up fails, saying what to set", async () => {
    const outcome = await runToExit({ REDIS_URL: redisUrl, REDIS_PREFIX: prefix, PORT: String(await freePort()) });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(
      /^roomcast: failed to start: the Redis server's TLS certificate did not verify: trust its CA with REDIS_TLS_CA, or set REDIS_TLS_REJECT_UNAUTHORIZED=0 to skip verification \(self-signed certificate, DEPTH_ZERO_SELF_SIGNED_CERT\)\n$/,
    );
    // The log says it too, once, as an error; the node never listened.
    const lines = outcome.logs
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const refusals = lines.filter((line) => String(line.msg).startsWith("the Redis server's TLS certificate"));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: 50, err: { code: "DEPTH_ZERO_SELF_SIGNED_CERT" } });
    expect(lines.map((line) => line.msg)).not.toContain("roomcast is listening");
  });

  it("REDIS_TLS_REJECT_UNAUTHORIZED=0 connects without verifying, and warns once at start", async () => {
    const unverified = await startNode("tls-unverified", { REDIS_TLS_REJECT_UNAUTHORIZED: "0" });
    // A node that verifies, from the first test, or a new one when this test runs alone.
    const verified =
      nodes.find((node) => node.running && node !== unverified) ?? (await startNode("tls-ca-2", { REDIS_TLS_CA: pem }));
    const dave = await connected(unverified.url, "dave");
    const erin = await connected(verified.url, "erin");
    await ok(dave, "room:join", { room: "skipped" });
    await ok(erin, "room:join", { room: "skipped" });
    const atErin = next(erin, "room:message");
    const sent = await ok(dave, "room:send", { room: "skipped", text: "unverified" });
    expect(await atErin).toEqual(sent.message);
    expect((await fetch(`${unverified.url}/readyz`)).status).toBe(200);

    const warnings = unverified.logs.filter((line) => line.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({
        node: "tls-unverified",
        variable: "REDIS_TLS_REJECT_UNAUTHORIZED",
        msg: expect.stringMatching(/^the Redis server's certificate is not verified/),
      }),
    ]);
    // Logged before the node listened.
    const messages = unverified.logs.map((line) => line.msg);
    expect(messages.indexOf(warnings[0]!.msg)).toBeLessThan(messages.indexOf("roomcast is listening"));
  });
});

// A Redis Cluster client opens the masters it discovers from its defaults, not from a URL: the
// CA must reach those connections too.
describe("a Redis Cluster over TLS, trusted with REDIS_TLS_CA", () => {
  const masters: RedisServer[] = [];
  const nodes: NodeProcess[] = [];
  const ports: number[] = [];

  beforeAll(async () => {
    for (let index = 0; index < 3; index += 1) {
      const port = await freePort();
      ports.push(port);
      masters.push(
        await tlsOnly(port, [
          // The masters speak TLS to each other too, and trust the same certificate.
          "--tls-cluster",
          "yes",
          "--tls-ca-cert-file",
          certFile,
          "--cluster-enabled",
          "yes",
          // A free port for the cluster bus, not the port + 10,000 that nobody checked.
          "--cluster-port",
          String(await freePort()),
        ]),
      );
    }
    const tlsCli = ["--tls", "--cacert", certFile];
    await run(
      "redis-cli",
      [...tlsCli, "--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`)].concat([
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ]),
    );
    // No event says when every master sees the whole cluster: ask each one until all say ok.
    const states = () =>
      Promise.all(
        ports.map(async (port) => {
          const { stdout } = await run("redis-cli", [...tlsCli, "-p", String(port), "cluster", "info"]);
          return /cluster_state:(\w+)/.exec(stdout)?.[1];
        }),
      );
    await vi.waitFor(async () => expect(await states()).toEqual(["ok", "ok", "ok"]), {
      timeout: 20_000,
      interval: 100,
    });
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop("SIGKILL")));
    await Promise.all(masters.map((master) => master.stop()));
  });

  it("two nodes, each given one seed, chat in rooms spread over the masters", async () => {
    const prefix = uniquePrefix();
    for (const [index, port] of ports.slice(0, 2).entries()) {
      const node = new NodeProcess(await freePort(), {
        REDIS_URL: `rediss://127.0.0.1:${port}`,
        REDIS_CLUSTER: "1",
        REDIS_PREFIX: prefix,
        NODE_ID: `tls-cluster-${index}`,
        REDIS_TLS_CA: pem,
      });
      nodes.push(node);
    }
    await Promise.all(nodes.map((node) => node.start()));
    const alice = await connected(nodes[0]!.url, "alice");
    const bob = await connected(nodes[1]!.url, "bob");
    // Enough rooms that their keys and channels land on every master.
    for (let room = 0; room < 6; room += 1) {
      const name = `tls-room-${room}`;
      await ok(alice, "room:join", { room: name });
      await ok(bob, "room:join", { room: name });
      const atBob = next(bob, "room:message", (message) => message.room === name);
      const sent = await ok(alice, "room:send", { room: name, text: `over TLS to ${name}` });
      expect(await atBob).toEqual(sent.message);
    }
    for (const node of nodes) expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
  });
});
