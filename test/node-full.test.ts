/**
 * MAX_CONNECTIONS: a full node is a state, not a failure. It refuses new handshakes with
 * `unavailable` "node full" (the SDK moves to its next URL) and bridge upgrades with 503, logs once
 * when it becomes full and once when it has room again, and keeps answering `/healthz` (200) and
 * `/readyz` (503, reason "full"). Real node processes on one private redis-server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ChatClient } from "../client/sdk/index.js";
import { ErrorCode, type ErrorBody } from "../protocol/index.js";
import { FULL_MESSAGE, ROOM_MESSAGE } from "../server/limits/node-capacity.js";
import { client, closeAllClients, connected, next, ok, within, type TestSocket } from "./support/clients.js";
import { NodeProcess } from "./support/processes.js";
import { freePort, RedisServer, uniquePrefix } from "./support/redis-server.js";
import { unique } from "./support/identity.js";

const CAP = 3;

let redis: RedisServer;
/** The node with MAX_CONNECTIONS=3, and one with the default cap beside it. */
let full: NodeProcess;
let other: NodeProcess;
const sdkClients: ChatClient[] = [];
const bridgeSockets: WebSocket[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
  const env = { REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix() };
  full = new NodeProcess(await freePort(), { ...env, NODE_ID: "full", MAX_CONNECTIONS: String(CAP) });
  other = new NodeProcess(await freePort(), { ...env, NODE_ID: "other" });
  await Promise.all([full.start(), other.start()]);
});

afterAll(async () => {
  await Promise.all([full?.stop("SIGKILL"), other?.stop("SIGKILL")]);
  await redis?.stop();
});

afterEach(async () => {
  closeAllClients();
  for (const ws of bridgeSockets.splice(0)) ws.terminate();
  await Promise.all(sdkClients.splice(0).map((sdk) => sdk.close()));
});

/** A handshake that must be refused: the body of its `connect_error`. */
function refusal(socket: TestSocket): Promise<Partial<ErrorBody>> {
  return within(
    new Promise<Partial<ErrorBody>>((resolve, reject) => {
      socket.once("connect_error", (error) => resolve((error as Error & { data?: ErrorBody }).data ?? {}));
      socket.once("connect", () => reject(new Error("the handshake was not refused")));
    }),
    "the handshake to be refused",
  );
}

/** Expects a new handshake to `full` to be refused as a full node refuses it. */
async function expectNodeFull(): Promise<void> {
  const body = await refusal(client(full.url, unique("late")));
  expect(body.code).toBe(ErrorCode.Unavailable);
  expect(body.message).toMatch(/^node full/);
}

const bridgeUrl = (room: string, user: string) => `${full.url.replace(/^http/, "ws")}/websocket/${room}/${user}`;

/** Opens a seed-bridge socket on `full`: resolves once open, or with the status it was refused with. */
function bridge(room: string, user: string): Promise<{ ws: WebSocket } | { status: number; body: string }> {
  const ws = new WebSocket(bridgeUrl(room, user));
  bridgeSockets.push(ws);
  return within(
    new Promise((resolve, reject) => {
      ws.once("open", () => resolve({ ws }));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      });
      ws.once("error", reject);
    }),
    `the bridge upgrade of ${user}`,
  );
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A gauge of `full`'s metrics (HTTP is not a client connection, so it answers at the cap). */
async function gaugeOfFullNode(name: string): Promise<number> {
  const text = await (await fetch(`${full.url}/metrics`)).text();
  const line = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line[1]);
}

/** Waits until `full` counts no connection: every one closed gave its place back. */
async function emptied(): Promise<void> {
  await within(
    (async () => {
      while ((await gaugeOfFullNode("roomcast_connections_open")) !== 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    })(),
    "the full node to count no connection",
  );
}

const count = (node: NodeProcess, msg: string) => node.logs.filter((line) => line.msg === msg).length;

describe("a node at MAX_CONNECTIONS", () => {
  it("refuses past the cap with `unavailable` node full, logs it once, keeps answering health and readiness", async () => {
    // Handshakes refused for other reasons take no place.
    for (const bad of ["", " "]) expect((await refusal(client(full.url, bad))).code).toBe(ErrorCode.Unauthorized);
    expect((await get(`${full.url}/readyz`)).status).toBe(200);

    const sockets = [];
    for (let index = 0; index < CAP; index += 1) sockets.push(await connected(full.url, unique("early")));
    const becameFull = await full.waitForLog((line) => line.msg === FULL_MESSAGE, "the node to log that it is full");
    expect(becameFull).toMatchObject({ level: 40, connections: CAP, maxConnections: CAP });

    for (let attempt = 0; attempt < 3; attempt += 1) await expectNodeFull();
    const refusedUpgrade = await bridge("lobby", unique("seed"));
    expect(refusedUpgrade).toMatchObject({ status: 503, body: expect.stringMatching(/^node full/) });

    expect(await get(`${full.url}/readyz`)).toEqual({
      status: 503,
      body: { ready: false, node: "full", reason: "full" },
    });
    expect(await get(`${full.url}/healthz`)).toEqual({ status: 200, body: { ok: true, node: "full" } });

    // One leaves: the node has room (logged once), admits one more, and is full again.
    sockets.pop()!.disconnect();
    const room = await full.waitForLog((line) => line.msg === ROOM_MESSAGE, "the node to log that it has room");
    expect(room).toMatchObject({ level: 30, connections: CAP - 1, maxConnections: CAP });
    // Everything before the room line was logged before it: the refusals logged nothing more.
    expect(count(full, FULL_MESSAGE)).toBe(1);
    expect((await get(`${full.url}/readyz`)).status).toBe(200);
    await connected(full.url, unique("again"));
    await expectNodeFull();
    expect(count(full, ROOM_MESSAGE)).toBe(1);
  });

  it("counts bridge sockets with Socket.IO's, and its count returns to 0 when they all leave", async () => {
    await emptied();
    const room = unique("room");
    const opened = await bridge(room, unique("seed"));
    expect(opened).toHaveProperty("ws");
    await connected(full.url, unique("a"));
    await connected(full.url, unique("b"));
    await expectNodeFull();
    expect(await bridge(room, unique("seed"))).toMatchObject({ status: 503 });

    closeAllClients();
    for (const ws of bridgeSockets.splice(0)) ws.close();
    await emptied();
    // Exactly CAP places again: the count came back to 0, not above it (fewer) nor below (more).
    for (let index = 0; index < CAP; index += 1) await connected(full.url, unique("refill"));
    await expectNodeFull();
  });

  it("an SDK client given the full node first lands on the other one and chats", async () => {
    await emptied();
    for (let index = 0; index < CAP; index += 1) await connected(full.url, unique("holder"));
    await expectNodeFull();

    const room = unique("room");
    const listener = await connected(other.url, unique("listener"));
    await ok(listener, "room:join", { room });
    const sdk = new ChatClient({
      urls: [full.url, other.url],
      user: unique("sdk"),
      backoff: { initialMs: 10, maxMs: 100 },
    });
    sdkClients.push(sdk);
    await within(sdk.connect(), "the SDK client to connect");
    await sdk.join(room);
    const heard = next(listener, "room:message", (message) => message.room === room);
    await sdk.send(room, "hello from the other node");
    expect((await heard).text).toBe("hello from the other node");
    // The full node still holds its CAP sockets, not the SDK's.
    expect(await gaugeOfFullNode("roomcast_connections_open")).toBe(CAP);
    expect(await gaugeOfFullNode("roomcast_connections_max")).toBe(CAP);
  });
});
