import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  client,
  closeAllClients,
  connected,
  DEADLINE_MS,
  next,
  ok,
  record,
  request,
  within,
} from "./support/clients.js";
import { roomChannel } from "../server/chat/rooms.js";
import { startNode, TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { RedisServer, uniquePrefix } from "./support/redis-server.js";

let rooms = 0;
const uniqueRoom = (label: string) => `${label}-${++rooms}`;

async function readyz(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

describe("cluster on one Redis (in-process nodes)", () => {
  let redis: RedisServer;
  let prefix: string;
  let nodes: { url: string; close(): Promise<void> }[];
  let admin: ReturnType<typeof createClient>;

  beforeAll(async () => {
    redis = await RedisServer.start();
    prefix = uniquePrefix();
    nodes = [];
    for (let index = 0; index < 3; index += 1) {
      nodes.push(
        await startNode({ REDIS_URL: redis.url, REDIS_PREFIX: prefix, NODE_ID: `n${index}`, HEARTBEAT_TTL_MS: "1500" }),
      );
    }
    admin = createClient({ url: redis.url, socket: { reconnectStrategy: 100 } });
    admin.on("error", () => {});
    await admin.connect();
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await admin.close();
    await Promise.all(nodes.map((node) => node.close()));
    await redis.stop();
  });

  const channel = (room: string) => `${prefix}:io#/#${roomChannel(room)}#`;
  /** How many connections (one per node) are subscribed to `room`'s sharded channel. */
  const subscribers = async (room: string) => {
    const [, count] = (await admin.sendCommand(["PUBSUB", "SHARDNUMSUB", channel(room)])) as [string, number];
    return count;
  };

  it("subscribes only the nodes that hold a room (dynamic sharded subscriptions)", async () => {
    const room = uniqueRoom("solo");
    const alice = await connected(nodes[0]!.url, "alice");
    const bob = await connected(nodes[0]!.url, "bob");
    await ok(alice, "room:join", { room });
    await ok(bob, "room:join", { room });
    expect(await subscribers(room)).toBe(1);

    // A node with no socket in the room is not subscribed, so it receives none of its traffic.
    const carol = await connected(nodes[1]!.url, "carol");
    await ok(carol, "room:join", { room: uniqueRoom("elsewhere") });
    const got = next(bob, "room:message", (message) => message.text === "local");
    await ok(alice, "room:send", { room, text: "local" });
    await got;
    expect(await subscribers(room)).toBe(1);

    // A second node joins: two subscribers; it leaves: back to one (the unsubscription is not
    // awaited by the leave, and nothing announces it: ask Redis until it holds).
    const dave = await connected(nodes[2]!.url, "dave");
    await ok(dave, "room:join", { room });
    expect(await subscribers(room)).toBe(2);
    await ok(dave, "room:leave", { room });
    await expect.poll(() => subscribers(room), { timeout: DEADLINE_MS }).toBe(1);
  });

  it("counts the same user on two nodes once, and lists rooms cluster-wide", async () => {
    const room = uniqueRoom("twice");
    const tab1 = await connected(nodes[0]!.url, "erin");
    const tab2 = await connected(nodes[1]!.url, "erin");
    const watcher = await connected(nodes[2]!.url, "frank");
    await ok(watcher, "room:join", { room });
    const presence = record(watcher, "room:presence");
    await ok(tab1, "room:join", { room });
    await ok(tab2, "room:join", { room });
    const joined = await ok(watcher, "room:join", { room });
    expect(joined.members).toEqual(["erin", "frank"]);
    const listed = await ok(tab1, "rooms:list", {});
    expect(listed.rooms).toContainEqual({ room, members: 2 });

    const leave = next(watcher, "room:presence", (event) => event.event === "leave");
    await ok(tab1, "room:leave", { room });
    await ok(tab2, "room:leave", { room });
    expect(await leave).toEqual({ room, user: "erin", event: "leave", members: 1 });
    expect(presence.filter((event) => event.user === "erin").map((event) => event.event)).toEqual(["join", "leave"]);
  });

  it("delivers a DM only where the user is, and holds it while they are offline", async () => {
    const sender = await connected(nodes[0]!.url, "gina");
    const receiver = await connected(nodes[2]!.url, "hank");
    const got = next(receiver, "dm:message", (dm) => dm.text === "hi hank");
    const sent = await ok(sender, "dm:send", { to: "hank", text: "hi hank" });
    expect(sent.online).toBe(true);
    expect((await got).from).toBe("gina");

    // DMs wait only for a name someone proved theirs: ivy claims hers with a key, then leaves.
    const withKey = { auth: { user: "ivy", key: randomBytes(24).toString("hex") } };
    const claimed = await connected(nodes[1]!.url, "ivy", withKey);
    const probe = { to: "ivy", text: "still there?", clientId: "probe-ivy" };
    expect((await ok(sender, "dm:send", probe)).online).toBe(true);
    claimed.disconnect();
    // Resent, the probe is a duplicate: it stores and sends nothing, and its ack says whether
    // ivy still counts as online (the server unregisters a socket after it closed).
    await expect.poll(async () => (await ok(sender, "dm:send", probe)).online, { timeout: DEADLINE_MS }).toBe(false);
    const held = await ok(sender, "dm:send", { to: "ivy", text: "for later" });
    expect(held.online).toBe(false);
    // Back on another node, with her key: the held DM comes with the connection.
    const ivy = client(nodes[2]!.url, "ivy", { ...withKey, autoConnect: false });
    const delivered = next(ivy, "dm:message", (dm) => dm.text === "for later");
    ivy.connect();
    expect((await delivered).id).toBe(held.message.id);
  });

  it("gives no user a Redis channel: one channel per node carries what goes to users", async () => {
    const room = uniqueRoom("no-user-channels");
    const sockets = [
      await connected(nodes[0]!.url, "uma"),
      await connected(nodes[1]!.url, "uma"),
      await connected(nodes[2]!.url, "vic"),
    ];
    for (const socket of sockets) await ok(socket, "room:join", { room });
    const shardChannels = async (pattern: string) =>
      ((await admin.sendCommand(["PUBSUB", "SHARDCHANNELS", pattern])) as string[]).sort();
    expect(await shardChannels(`${prefix}:io#/#u:*`)).toEqual([]);
    expect(await shardChannels(`${prefix}:*:deliveries`)).toHaveLength(nodes.length);
    // A DM reaches both of uma's nodes, and vic's own copy reaches his.
    const copies = sockets.map((socket) => next(socket, "dm:message", (dm) => dm.text === "both tabs"));
    expect((await ok(sockets[2]!, "dm:send", { to: "uma", text: "both tabs" })).online).toBe(true);
    await Promise.all(copies);
  });

  it("kicks a user on every node and posts notices cluster-wide", async () => {
    const tabs = [await connected(nodes[0]!.url, "kim"), await connected(nodes[1]!.url, "kim")];
    const other = await connected(nodes[2]!.url, "lou");
    const reasons = tabs.map((tab) => new Promise((resolve) => tab.once("disconnect", resolve)));
    const notice = next(other, "notice", (n) => n.text === "maintenance soon");
    const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
    const headers = { ...auth, "content-type": "application/json" };
    const kicked = await fetch(`${nodes[2]!.url}/admin/users/kim/kick`, { method: "POST", headers: auth });
    expect(kicked.status).toBe(200);
    expect((await kicked.json()).nodes.sort()).toEqual(["n0", "n1"]);
    expect(await Promise.all(reasons)).toEqual(["io server disconnect", "io server disconnect"]);
    await fetch(`${nodes[0]!.url}/admin/notices`, {
      method: "POST",
      headers,
      body: JSON.stringify({ text: "maintenance soon" }),
    });
    expect((await notice).room).toBeUndefined();
    const listed = await (await fetch(`${nodes[1]!.url}/admin/nodes`, { headers })).json();
    expect(listed.nodes.map((node: { node: string }) => node.node).sort()).toEqual(["n0", "n1", "n2"]);
  });

  it("survives CLIENT KILL TYPE pubsub", async () => {
    const room = uniqueRoom("killed-subs");
    const alice = await connected(nodes[0]!.url, "mia");
    const bob = await connected(nodes[1]!.url, "ned");
    await ok(alice, "room:join", { room });
    await ok(bob, "room:join", { room });
    expect(await subscribers(room)).toBe(2);
    // Every node's subscriber connection goes, and with it every subscription.
    expect(await admin.sendCommand(["CLIENT", "KILL", "TYPE", "pubsub"])).toBeGreaterThanOrEqual(nodes.length);
    // Each node reconnects and subscribes again (Redis is the only one to ask).
    await expect.poll(() => subscribers(room), { timeout: DEADLINE_MS }).toBe(2);
    const got = next(bob, "room:message", (message) => message.text === "still here");
    const sent = await ok(alice, "room:send", { room, text: "still here" });
    expect(await got).toEqual(sent.message);
  });

  it("writes presence again after Redis lost its data", async () => {
    const room = uniqueRoom("flushed");
    const alice = await connected(nodes[0]!.url, "olga");
    const bob = await connected(nodes[1]!.url, "pete");
    await ok(alice, "room:join", { room });
    await ok(bob, "room:join", { room });
    await admin.flushAll();
    // Each node finds its heartbeat gone on its next beat and writes its share again.
    const listed = async () => (await ok(alice, "rooms:list", {})).rooms as { room: string; members: number }[];
    await expect.poll(listed, { timeout: DEADLINE_MS }).toContainEqual({ room, members: 2 });
    const joined = await ok(bob, "room:join", { room });
    expect(joined.members).toEqual(["olga", "pete"]);
  });

  it("keeps running while Redis is down, answers unavailable, and recovers when it returns", async () => {
    const room = uniqueRoom("outage");
    const alice = await connected(nodes[0]!.url, "quin");
    const bob = await connected(nodes[1]!.url, "rita");
    const neighbour = await connected(nodes[0]!.url, "tess");
    for (const socket of [alice, bob, neighbour]) await ok(socket, "room:join", { room });
    await redis.kill();
    await expect.poll(() => readyz(nodes[0]!.url), { timeout: DEADLINE_MS }).toBe(503);
    const refused = await request(alice, "room:send", { room, text: "lost?" });
    expect(refused).toEqual({ ok: false, error: { code: "unavailable", message: expect.any(String) } });
    // A new connection cannot be registered: it is refused as unavailable (the SDK retries).
    const refusedSocket = client(nodes[0]!.url, "sam");
    const refusal = await within(
      new Promise<Error & { data?: unknown }>((resolve) => refusedSocket.once("connect_error", resolve)),
      "the refused handshake",
    );
    expect(refusal.data).toEqual({ code: "unavailable", message: expect.any(String) });
    // Connected sockets live on, and what needs no store still works between them: typing.
    const typing = next(alice, "room:typing", (event) => event.user === "tess");
    expect(await request(neighbour, "typing", { room, typing: true })).toEqual({ ok: true });
    expect(await typing).toEqual({ room, user: "tess", typing: true });
    expect(alice.connected && bob.connected).toBe(true);

    await redis.restart();
    await expect
      .poll(() => Promise.all(nodes.map((node) => readyz(node.url))), { timeout: DEADLINE_MS })
      .toEqual([200, 200, 200]);
    // The subscriptions come back by themselves: both nodes that hold the room are on its channel.
    await expect.poll(() => subscribers(room), { timeout: DEADLINE_MS }).toBe(2);
    const got = next(bob, "room:message", (message) => message.text === "back");
    const sent = await ok(alice, "room:send", { room, text: "back" });
    expect(await got).toEqual(sent.message);
    for (const node of nodes) expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});
