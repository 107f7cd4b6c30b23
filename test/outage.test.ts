/**
 * A Redis outage under a node (in process, on a redis-server of this file's own): every event
 * that needs a store acks `unavailable`, what needs none (typing) keeps working between sockets of
 * the node, nothing disconnects, and once Redis is back the same events succeed again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../protocol/index.js";
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
  type TestSocket,
} from "./support/clients.js";
import { startNode } from "./support/deployment.js";
import { RedisServer, uniquePrefix } from "./support/redis-server.js";

/** `expect.poll` waits 1 s by default; Redis reconnects and heartbeats take longer. */
const POLL = { timeout: DEADLINE_MS, interval: 50 };

const UNAVAILABLE = { ok: false, error: { code: ErrorCode.Unavailable, message: expect.any(String) } };

describe("a Redis outage", () => {
  let redis: RedisServer;
  let node: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    redis = await RedisServer.start();
    node = await startNode({ REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix(), NODE_ID: "outage-node" });
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await node?.close();
    await redis?.stop();
  });

  const readiness = async () => (await fetch(`${node.url}/readyz`)).status;

  /** Every store-backed event, each with a payload that would succeed with Redis up. */
  const storeBacked = (alice: TestSocket) => ({
    "room:join (a new room)": () => request(alice, "room:join", { room: "elsewhere" }),
    "room:join (a joined room)": () => request(alice, "room:join", { room: "talk" }),
    "room:send": () => request(alice, "room:send", { room: "talk", text: "during the outage" }),
    "room:history": () => request(alice, "room:history", { room: "talk" }),
    "rooms:list": () => request(alice, "rooms:list", {}),
    "dm:send": () => request(alice, "dm:send", { to: "bob", text: "a direct word" }),
    "room:leave": () => request(alice, "room:leave", { room: "exit" }),
  });

  it("answers unavailable to every store-backed event, typing still works, nothing disconnects; all recover", async () => {
    const alice = await connected(node.url, "alice");
    const bob = await connected(node.url, "bob");
    for (const socket of [alice, bob]) {
      await ok(socket, "room:join", { room: "talk" });
      await ok(socket, "room:join", { room: "exit" });
    }
    const disconnects: string[] = [];
    for (const socket of [alice, bob]) socket.on("disconnect", (reason) => disconnects.push(reason));

    await redis.kill();
    await expect.poll(readiness, POLL).toBe(503);
    expect(await (await fetch(`${node.url}/readyz`)).json()).toMatchObject({
      ready: false,
      reason: "store unreachable",
    });
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);

    const events = storeBacked(alice);
    for (const [event, send] of Object.entries(events)) {
      expect(await send(), event).toEqual(UNAVAILABLE);
    }

    // No store needed: typing goes from alice to bob on this node.
    const typing = next(bob, "room:typing", (payload) => payload.user === "alice");
    expect(await request(alice, "typing", { room: "talk", typing: true })).toEqual({ ok: true });
    expect(await typing).toEqual({ room: "talk", user: "alice", typing: true });

    // A new connection is refused with `unavailable`, so that the client retries.
    const carol = client(node.url, "carol");
    const refusal = await within(
      new Promise<Error & { data?: unknown }>((resolve, reject) => {
        carol.once("connect", () => reject(new Error("carol connected during the outage")));
        carol.once("connect_error", resolve);
      }),
      "carol's handshake to be refused",
    );
    expect(refusal.data).toEqual({ code: ErrorCode.Unavailable, message: expect.any(String) });

    await redis.restart();
    await expect.poll(readiness, POLL).toBe(200);

    expect(alice.connected && bob.connected).toBe(true);
    expect(disconnects).toEqual([]);

    // The same events succeed now (the leave of "exit" first undid alice's membership here).
    const messages = record(bob, "room:message");
    const echoes = record(alice, "dm:message");
    expect(await request(alice, "room:join", { room: "elsewhere" })).toMatchObject({ ok: true, room: "elsewhere" });
    expect(await request(alice, "room:join", { room: "talk" })).toMatchObject({ ok: true, room: "talk" });
    const sent = await ok(alice, "room:send", { room: "talk", text: "after the outage" });
    expect(sent.message).toMatchObject({ room: "talk", from: "alice", text: "after the outage" });
    const history = await ok(alice, "room:history", { room: "talk" });
    expect(history.messages.map((message: { text: string }) => message.text)).toContain("after the outage");
    expect(await request(alice, "rooms:list", {})).toMatchObject({ ok: true, rooms: expect.any(Array) });
    expect(await request(alice, "dm:send", { to: "bob", text: "a direct word" })).toMatchObject({ ok: true });
    // Left during the outage (here, not in Redis): joining and leaving again both work.
    await ok(alice, "room:join", { room: "exit" });
    expect(await request(alice, "room:leave", { room: "exit" })).toEqual({ ok: true });
    await expect.poll(() => messages.map((message) => message.text), POLL).toContain("after the outage");
    await expect.poll(() => echoes.map((message) => message.text), POLL).toContain("a direct word");

    // And new connections are welcome again.
    const dave = await connected(node.url, "dave");
    await ok(dave, "room:join", { room: "talk" });
  });

  it("an acknowledged DM to a user who stayed connected reaches them, even right after Redis lost its data", async () => {
    // The restarted Redis has no persistence: the node's presence is gone until it writes it again.
    const erin = await connected(node.url, "erin");
    const frank = await connected(node.url, "frank");
    const received = record(frank, "dm:message");

    await redis.kill();
    await expect.poll(readiness, POLL).toBe(503);
    await redis.restart();
    await expect.poll(readiness, POLL).toBe(200);

    const sent = await ok(erin, "dm:send", { to: "frank", text: "are you there?" });
    expect(sent.message).toMatchObject({ from: "erin", to: "frank", text: "are you there?" });
    // Frank never disconnected, so no later handshake would hand him a DM held for him.
    expect(frank.connected).toBe(true);
    await expect.poll(() => received.map((message) => message.id), POLL).toEqual([sent.message.id]);
  });
});
