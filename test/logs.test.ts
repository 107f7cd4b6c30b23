/**
 * "Message bodies and tokens are never logged": two real node processes at LOG_LEVEL=trace with
 * an ADMIN_TOKEN go through everything a node does (chat, DMs, a name claimed with a key and a DM
 * held for it, a wrong key, admin calls with the right and a wrong token, bad payloads, a Redis
 * outage, shutdown), and none of the distinctive texts, tokens or keys shows up in anything they
 * print, on stdout or stderr.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../protocol/index.js";
import { client, closeAllClients, connected, DEADLINE_MS, next, ok, request, within } from "./support/clients.js";
import { TEST_ENV } from "./support/deployment.js";
import { freePort, RedisServer, uniquePrefix } from "./support/redis-server.js";

const MAIN = fileURLToPath(new URL("../dist/server/main.js", import.meta.url));

/** A distinctive string that appears nowhere unless something copied it. */
const secret = (label: string) => `${label}-${randomBytes(16).toString("hex")}`;

/** A node process whose whole output, stdout and stderr, is kept as printed. */
class LoggedNode {
  output = "";
  private child: ChildProcess | undefined;
  private closed: Promise<number | null> | undefined;

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...TEST_ENV, ...this.env, PORT: String(this.port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.closed = new Promise((resolve) => child.once("close", (code) => resolve(code)));
    const listening = new Promise<void>((resolve, reject) => {
      const keep = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes('"msg":"roomcast is listening"')) resolve();
      };
      child.stdout!.on("data", keep);
      child.stderr!.on("data", keep);
      child.once("exit", (code) => reject(new Error(`node exited with ${code} before listening: ${this.output}`)));
    });
    // A cold Node.js start on a busy machine can take several seconds.
    await within(listening, `node on port ${this.port} to listen`, 30_000);
  }

  /** Sends `signal` and resolves with the exit code once all of the output has been read. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (!this.child || !this.closed) return null;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return within(this.closed, `node on port ${this.port} to exit`, 30_000);
  }
}

describe("logs at LOG_LEVEL=trace", () => {
  let redis: RedisServer | undefined;
  const nodes: LoggedNode[] = [];

  afterEach(closeAllClients);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop("SIGKILL")));
    await redis?.stop();
  });

  it("never contain a message text, a notice, the admin token, a claim key, or a wrong token or key", async () => {
    const adminToken = secret("admin-token");
    const wrongToken = secret("wrong-token");
    const carolKey = secret("carol-claim-key");
    const wrongKey = secret("wrong-claim-key");
    const texts = {
      room: secret("room-text"),
      dm: secret("dm-text"),
      held: secret("held-dm-text"),
      notice: secret("notice-text"),
      tooLong: secret("too-long-text"),
      badPayload: secret("bad-payload"),
      badJson: secret("bad-json"),
      outage: secret("outage-text"),
    };

    redis = await RedisServer.start();
    const prefix = uniquePrefix();
    for (const index of [0, 1]) {
      const env = {
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix,
        NODE_ID: `logged-${index}`,
        LOG_LEVEL: "trace",
        ADMIN_TOKEN: adminToken,
        HEARTBEAT_TTL_MS: "2000",
        MAX_MESSAGE_LENGTH: "100",
      };
      nodes.push(new LoggedNode(await freePort(), env));
    }
    await Promise.all(nodes.map((node) => node.start()));
    const [first, second] = nodes as [LoggedNode, LoggedNode];

    // Chat across the two nodes: a room message, a DM to someone online, one held for later.
    const alice = await connected(first.url, "alice");
    const bob = await connected(second.url, "bob");
    await ok(alice, "room:join", { room: "lobby" });
    await ok(bob, "room:join", { room: "lobby" });
    const atBob = next(bob, "room:message", (message) => message.text === texts.room);
    await ok(alice, "room:send", { room: "lobby", text: texts.room, clientId: "c-1" });
    await atBob;
    await ok(alice, "room:send", { room: "lobby", text: texts.room, clientId: "c-1" });
    await ok(bob, "typing", { room: "lobby", typing: true });
    const dmAtBob = next(bob, "dm:message", (message) => message.text === texts.dm);
    await ok(alice, "dm:send", { to: "bob", text: texts.dm });
    await dmAtBob;
    // Carol claims her name with a key and leaves; a DM then waits for her, and another key is refused.
    const carolAuth = { auth: { user: "carol", key: carolKey } };
    (await connected(second.url, "carol", carolAuth)).disconnect();
    // No event says when her node has counted her out: ask Redis (closed before the outage below).
    const redisAdmin = createClient({ url: redis.url });
    await redisAdmin.connect();
    try {
      await expect.poll(() => redisAdmin.hLen(`${prefix}:{u:carol}:nodes`), { timeout: DEADLINE_MS }).toBe(0);
    } finally {
      await redisAdmin.close();
    }
    expect((await ok(alice, "dm:send", { to: "carol", text: texts.held })).online).toBe(false);
    const impostor = client(first.url, "carol", { auth: { user: "carol", key: wrongKey } });
    const refusal = await within(
      new Promise<Error & { data?: unknown }>((resolve, reject) => {
        impostor.once("connect", () => reject(new Error("carol connected with the wrong key")));
        impostor.once("connect_error", resolve);
      }),
      "the wrong key to be refused",
    );
    expect(refusal.data).toMatchObject({ code: ErrorCode.Unauthorized });
    const carol = client(second.url, "carol", carolAuth);
    await next(carol, "dm:message", (message) => message.text === texts.held);
    await ok(bob, "room:history", { room: "lobby" });
    await ok(bob, "rooms:list", {});

    // Bad input, carrying distinctive text where a careless log line would copy it.
    const tooLong = await request(alice, "room:send", { room: "lobby", text: `${texts.tooLong} ${"x".repeat(200)}` });
    expect(tooLong).toMatchObject({ ok: false, error: { code: ErrorCode.TooLong } });
    const badPayload = await request(alice, "room:send", { room: ["lobby"], text: texts.badPayload });
    expect(badPayload).toMatchObject({ ok: false, error: { code: ErrorCode.BadRequest } });
    const notJoined = await request(alice, "room:send", { room: "elsewhere", text: texts.badPayload });
    expect(notJoined).toMatchObject({ ok: false, error: { code: ErrorCode.NotJoined } });

    // Admin calls: the right token, a wrong one, a body that is not JSON.
    const adminCall = (path: string, token: string, body?: string) =>
      fetch(`${first.url}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body }),
      });
    const noticeAtBob = next(bob, "notice", (notice) => notice.text === texts.notice);
    expect((await adminCall("/admin/notices", adminToken, JSON.stringify({ text: texts.notice }))).status).toBe(200);
    await noticeAtBob;
    expect((await adminCall("/admin/nodes", adminToken)).status).toBe(200);
    expect((await adminCall("/admin/nodes", wrongToken)).status).toBe(401);
    expect((await adminCall("/admin/notices", wrongToken, JSON.stringify({ text: texts.notice }))).status).toBe(401);
    expect((await adminCall("/admin/notices", adminToken, `{"text": "${texts.badJson}`)).status).toBe(400);
    const kicked = new Promise((resolve) => carol.once("disconnect", resolve));
    expect((await adminCall("/admin/users/carol/kick", adminToken, "{}")).status).toBe(200);
    await within(kicked, "carol to be kicked");

    // A Redis outage: the events that need it fail, with their text in hand.
    await redis.kill();
    const readiness = async () => Promise.all(nodes.map(async (node) => (await fetch(`${node.url}/readyz`)).status));
    await expect.poll(readiness, { timeout: DEADLINE_MS }).toEqual([503, 503]);
    for (const [event, payload] of [
      ["room:send", { room: "lobby", text: texts.outage }],
      ["dm:send", { to: "bob", text: texts.outage }],
    ] as const) {
      const answer = await request(alice, event, payload);
      expect(answer, event).toMatchObject({ ok: false, error: { code: ErrorCode.Unavailable } });
    }
    await redis.restart();
    await expect.poll(readiness, { timeout: DEADLINE_MS }).toEqual([200, 200]);
    await ok(alice, "room:send", { room: "lobby", text: texts.room });

    closeAllClients();
    expect(await Promise.all(nodes.map((node) => node.stop("SIGTERM")))).toEqual([0, 0]);

    // The output is really there, and covers what happened, including at the lowest levels.
    for (const node of nodes) {
      expect(node.output).toContain('"msg":"roomcast is listening"');
      expect(node.output).toContain('"msg":"lost the Redis connection; retrying"');
      expect(node.output).toContain('"msg":"shutting down"');
    }
    const output = nodes.map((node) => node.output).join("\n");
    for (const value of [adminToken, wrongToken, carolKey, wrongKey, ...Object.values(texts)]) {
      expect(output.includes(value), `the logs contain ${value}`).toBe(false);
    }
  });
});
