/**
 * Prometheus metrics (issue 13): `GET /metrics` of real node processes, two on one private
 * redis-server, after some chat; a node death reaped by the survivor; the embedded mode behind
 * METRICS_TOKEN, whose refusals count as failed admin sign-ins; and METRICS=0.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../protocol/index.js";
import { ConfigError } from "../server/config.js";
import { readMetricsConfig } from "../server/metrics/config.js";
import { client, closeAllClients, connected, DEADLINE_MS, next, ok, request, within } from "./support/clients.js";
import { TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { NodeProcess, startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { freePort } from "./support/redis-server.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One scrape in Prometheus's text format: its samples, and each family's type. */
class Scrape {
  readonly samples: Sample[] = [];
  readonly types = new Map<string, string>();

  constructor(readonly text: string) {
    for (const line of text.split("\n")) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type) this.types.set(type[1]!, type[2]!);
      if (line === "" || line.startsWith("#")) continue;
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!sample) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, name, value] of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[name!] = value!;
      }
      this.samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
    }
  }

  /** The sum of the samples of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const matching = this.samples.filter(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
    return matching.length === 0 ? undefined : matching.reduce((sum, sample) => sum + sample.value, 0);
  }
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(await response.text());
}

/** Scrapes `url` until `check` holds (counters that move after an event the client cannot await). */
async function scrapeUntil(
  url: string,
  check: (scrape: Scrape) => boolean,
  what: string,
  headers: Record<string, string> = {},
): Promise<Scrape> {
  return within(
    (async () => {
      for (;;) {
        const result = await scrape(url, headers);
        if (check(result)) return result;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })(),
    what,
  );
}

/** A socket refused at the handshake: resolves with the `connect_error`. */
function refused(socket: ReturnType<typeof client>): Promise<Error> {
  return within(
    new Promise<Error>((resolve, reject) => {
      socket.once("connect_error", resolve);
      socket.once("connect", () => reject(new Error("the handshake was not refused")));
    }),
    "the handshake to be refused",
  );
}

/** An emit without an ack, and of any event: the typed socket allows neither. */
const emitLoose = (socket: ReturnType<typeof client>, event: string, payload: unknown) =>
  (socket as unknown as { emit(event: string, payload: unknown): void }).emit(event, payload);

describe("two nodes on one Redis", () => {
  let cluster: ProcessCluster;

  beforeAll(async () => {
    // Typing is limited to 1 a second, so that the test can draw a rate_limited answer.
    cluster = await startProcessCluster({ nodes: 2, env: { TYPING_PER_SECOND: "1" } });
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await cluster.close();
  });

  it("counts sockets, users, events by outcome, messages, frames, refusals, Redis and the adapter", async () => {
    const [one, two] = cluster.urls as [string, string];
    const alice = [await connected(one, "alice"), await connected(one, "alice")] as const;
    const bob = await connected(two, "bob");
    for (const socket of [...alice, bob]) await ok(socket, "room:join", { room: "lobby" });

    for (let k = 0; k < 3; k += 1) {
      const seen = next(alice[0], "room:message", (message) => message.text === `bob ${k}`);
      await ok(bob, "room:send", { room: "lobby", text: `bob ${k}` });
      await seen;
    }
    for (let k = 0; k < 2; k += 1) {
      const seen = next(bob, "room:message", (message) => message.text === `alice ${k}`);
      await ok(alice[0], "room:send", { room: "lobby", text: `alice ${k}` });
      await seen;
    }
    await ok(bob, "dm:send", { to: "alice", text: "psst" });

    expect(await request(alice[0], "room:join", { room: "" })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.BadRequest },
    });
    expect(await request(bob, "room:send", { room: "elsewhere", text: "hi" })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.NotJoined },
    });
    // One typing event a second: a few in a row meet the limit (within a bounded number of tries).
    let typingRefused = false;
    for (let k = 0; k < 20 && !typingRefused; k += 1) {
      const answer = await request(alice[1], "typing", { room: "lobby", typing: true });
      typingRefused = !answer.ok && answer.error.code === ErrorCode.RateLimited;
    }
    expect(typingRefused).toBe(true);
    emitLoose(alice[1], "no-such-event", {});

    await refused(client(two, "not a valid name!"));
    await refused(client(two, "mallory", { extraHeaders: { origin: "http://evil.example" } }));

    const first = await scrapeUntil(
      one,
      (s) => (s.value("roomcast_client_events_total", { event: "other", outcome: "no_ack" }) ?? 0) >= 1,
      "node one to count the event sent without an ack",
    );
    const second = await scrape(two);

    // This node's own sockets, users and rooms, computed when scraped.
    expect(first.value("roomcast_sockets_connected")).toBe(2);
    expect(first.value("roomcast_users_online")).toBe(1);
    expect(first.value("roomcast_rooms_held")).toBe(1);
    expect(second.value("roomcast_sockets_connected")).toBe(1);
    expect(second.value("roomcast_users_online")).toBe(1);
    expect(first.value("roomcast_node_info", { node: "node-0", mode: "cluster" })).toBe(1);

    // Events by outcome: "ok" and the error codes.
    const events = (s: Scrape, event: string, outcome: string) =>
      s.value("roomcast_client_events_total", { event, outcome });
    expect(events(first, "room:join", "ok")).toBe(2);
    expect(events(first, "room:send", "ok")).toBe(2);
    expect(events(second, "room:send", "ok")).toBe(3);
    expect(events(second, "dm:send", "ok")).toBe(1);
    expect(events(first, "room:join", ErrorCode.BadRequest)).toBe(1);
    expect(events(second, "room:send", ErrorCode.NotJoined)).toBe(1);
    expect(events(first, "typing", ErrorCode.RateLimited)).toBeGreaterThanOrEqual(1);
    expect(first.value("roomcast_rate_limited_total", { limit: "typing" })).toBe(
      events(first, "typing", ErrorCode.RateLimited),
    );
    expect(first.value("roomcast_rate_limited_total", { limit: "sends" })).toBe(0);

    // Ack latency: one observation per answered event, in seconds.
    expect(second.value("roomcast_ack_latency_seconds_count", { event: "room:send" })).toBe(4);
    expect(second.value("roomcast_ack_latency_seconds_bucket", { event: "room:send", le: "+Inf" })).toBe(4);
    const latency = second.value("roomcast_ack_latency_seconds_sum", { event: "room:send" })!;
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThan(4 * DEADLINE_MS);

    expect(first.value("roomcast_messages_appended_total", { kind: "room" })).toBe(2);
    expect(second.value("roomcast_messages_appended_total", { kind: "room" })).toBe(3);
    expect(second.value("roomcast_messages_appended_total", { kind: "dm" })).toBe(1);
    expect(first.value("roomcast_messages_appended_total", { kind: "dm" })).toBe(0);

    // Alice's two sockets got 5 room messages and a DM each, besides their acks.
    expect(first.value("roomcast_frames_delivered_total")).toBeGreaterThanOrEqual(12);

    expect(second.value("roomcast_handshakes_refused_total", { code: ErrorCode.Unauthorized })).toBe(1);
    expect(second.value("roomcast_handshakes_refused_total", { code: ErrorCode.Forbidden })).toBe(1);
    expect(first.value("roomcast_handshakes_refused_total")).toBe(0);

    for (const node of [first, second]) {
      expect(node.value("roomcast_redis_up")).toBe(1);
      expect(node.value("roomcast_redis_command_duration_seconds_count", { command: "script" })).toBeGreaterThan(0);
      expect(node.value("roomcast_adapter_messages_published_total")).toBeGreaterThan(0);
      expect(node.value("roomcast_adapter_messages_received_total")).toBeGreaterThan(0);
      expect(node.value("roomcast_presence_reaped_total")).toBe(0);
    }
  });

  it("exports Node's default metrics, and names every family by Prometheus's conventions", async () => {
    const result = await scrape(cluster.urls[0]!);
    expect(result.value("nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(result.types.get("nodejs_gc_duration_seconds")).toBe("histogram");
    expect(result.types.get("nodejs_eventloop_lag_seconds")).toBe("gauge");
    const families = [...result.types].filter(([name]) => name.startsWith("roomcast_"));
    expect(families.length).toBeGreaterThanOrEqual(15);
    for (const [name, type] of families) {
      if (type === "counter") expect(name).toMatch(/_total$/);
      else expect(name).not.toMatch(/_total$/);
      if (type === "histogram") expect(name).toMatch(/_seconds$/);
    }
  });

  it("after a node is SIGKILLed, the survivor reaps its presence and counts what it took back", async () => {
    const [one, two] = cluster.urls as [string, string];
    const alice = await connected(one, "amy");
    await ok(alice, "room:join", { room: "wake" });
    const carl = await connected(two, "carl");
    await ok(carl, "room:join", { room: "wake" });
    // The earlier test's sockets are closed: wait until node two holds carl alone.
    await scrapeUntil(two, (s) => s.value("roomcast_sockets_connected") === 1, "node two to hold carl alone");
    const left = next(alice, "room:presence", (presence) => presence.user === "carl" && presence.event === "leave");

    await cluster.kill(1);
    await left;
    const after = await scrapeUntil(
      one,
      (s) =>
        (s.value("roomcast_presence_reaped_total", { entry: "room_member" }) ?? 0) >= 1 &&
        s.value("roomcast_sockets_connected") === 1,
      "node one to count what it reaped",
    );
    // Node two held carl, in one room.
    expect(after.value("roomcast_presence_reaped_total", { entry: "user" })).toBe(1);
    expect(after.value("roomcast_presence_reaped_total", { entry: "room_member" })).toBe(1);
    expect(after.value("roomcast_sockets_connected")).toBe(1);
  });
});

describe("one embedded node behind METRICS_TOKEN", () => {
  const token = "metrics-token-0123456789abcdef0123";
  let node: NodeProcess;
  const from = (address: string, bearer?: string): Record<string, string> => ({
    "x-forwarded-for": address,
    ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
  });

  beforeAll(async () => {
    node = new NodeProcess(await freePort(), {
      METRICS_TOKEN: token,
      TRUST_PROXY: "1",
      ADMIN_FAILURES_PER_MINUTE: "3",
    });
    await node.start();
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await node.stop("SIGKILL");
  });

  it("refuses a scrape without the token, or with a wrong one, as the admin endpoints do", async () => {
    for (const headers of [from("203.0.113.1"), from("203.0.113.1", "wrong"), { authorization: token }]) {
      const response = await fetch(`${node.url}/metrics`, { headers });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        ok: false,
        error: { code: ErrorCode.Unauthorized, message: expect.any(String) },
      });
    }
  });

  it("shares the failed sign-in limit with /admin: past it even the right token is refused", async () => {
    for (let k = 0; k < 3; k += 1) {
      expect((await fetch(`${node.url}/metrics`, { headers: from("203.0.113.2", `guess-${k}`) })).status).toBe(401);
    }
    const blocked = await fetch(`${node.url}/metrics`, { headers: from("203.0.113.2", token) });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await blocked.json()).toMatchObject({ ok: false, error: { code: ErrorCode.RateLimited } });
    const admin = await fetch(`${node.url}/admin/nodes`, { headers: from("203.0.113.2", TEST_ADMIN_TOKEN) });
    expect(admin.status).toBe(429);

    const result = await scrape(node.url, from("203.0.113.3", token));
    expect(result.value("roomcast_rate_limited_total", { limit: "admin-failures" })).toBeGreaterThanOrEqual(2);
  });

  it("counts an embedded node's chat, without the Redis families", async () => {
    const dana = await connected(node.url, "dana");
    await ok(dana, "room:join", { room: "solo" });
    await ok(dana, "room:send", { room: "solo", text: "anyone?" });
    const result = await scrape(node.url, from("203.0.113.4", token));
    expect(result.value("roomcast_node_info", { mode: "embedded" })).toBe(1);
    expect(result.value("roomcast_sockets_connected")).toBe(1);
    expect(result.value("roomcast_users_online")).toBe(1);
    expect(result.value("roomcast_rooms_held")).toBe(1);
    expect(result.value("roomcast_client_events_total", { event: "room:send", outcome: "ok" })).toBe(1);
    expect(result.value("roomcast_messages_appended_total", { kind: "room" })).toBe(1);
    expect(result.value("roomcast_frames_delivered_total")).toBeGreaterThanOrEqual(3);
    for (const family of ["redis_up", "redis_command_duration_seconds", "adapter_messages_published_total"]) {
      expect(result.types.has(`roomcast_${family}`)).toBe(false);
    }
  });
});

describe("METRICS=0", () => {
  let node: NodeProcess;

  beforeAll(async () => {
    node = new NodeProcess(await freePort(), { METRICS: "0" });
    await node.start();
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await node.stop("SIGKILL");
  });

  it("serves no /metrics, and chat works as before", async () => {
    expect((await fetch(`${node.url}/metrics`)).status).toBe(404);
    const erin = await connected(node.url, "erin");
    await ok(erin, "room:join", { room: "quiet" });
    await ok(erin, "room:send", { room: "quiet", text: "hello" });
  });
});

describe("METRICS and METRICS_TOKEN", () => {
  it("are read and checked, and a bad value stops the process naming the variable", async () => {
    expect(readMetricsConfig({})).toEqual({ enabled: true });
    expect(readMetricsConfig({ METRICS: "0" })).toEqual({ enabled: false });
    expect(readMetricsConfig({ METRICS: "true", METRICS_TOKEN: ` ${"t".repeat(32)} ` })).toEqual({
      enabled: true,
      token: "t".repeat(32),
    });
    expect(() => readMetricsConfig({ METRICS: "maybe" })).toThrow(ConfigError);
    expect(() => readMetricsConfig({ METRICS_TOKEN: "short" })).toThrow(/METRICS_TOKEN/);

    const node = new NodeProcess(await freePort(), { METRICS_TOKEN: "too-short" });
    await expect(node.start()).rejects.toThrow(/roomcast: invalid METRICS_TOKEN: expected at least 32 characters/);
    await node.stop("SIGKILL");
  });
});
