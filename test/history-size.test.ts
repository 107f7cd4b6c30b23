/**
 * HISTORY_SIZE bounds what Redis keeps, through the protocol: a room's stream and a DM pair's
 * stream stay near HISTORY_SIZE however much is sent (XADD MAXLEN ~ trims approximately), and an
 * offline user's inbox keeps exactly DMS_HELD_PER_RECIPIENT DMs. Joins and history pages answer
 * only the newest messages. Two nodes (in process) on a redis-server of this file's own.
 */
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ChatMessage, ResultOf } from "../protocol/index.js";
import { client, closeAllClients, connected, DEADLINE_MS, ok, record, type TestSocket } from "./support/clients.js";
import { startNode } from "./support/deployment.js";
import { RedisServer, uniquePrefix } from "./support/redis-server.js";

/** Not the default page of 50, so that a join's page and the bound cannot be mistaken for each other. */
const HISTORY_SIZE = 40;
/** `MAXLEN ~` trims whole stream nodes (100 entries by default), never below the bound. */
const STREAM_CEILING = 2 * HISTORY_SIZE + 100;

/** What a send's ack carries that these tests read. */
/** Sends `count` requests from `socket`, `batch` in flight at a time; resolves with their acks in order. */
async function sendMany<E extends "room:send" | "dm:send">(
  socket: TestSocket,
  event: E,
  count: number,
  payload: (index: number) => Record<string, unknown>,
  batch = 100,
): Promise<ResultOf<E>[]> {
  const acks: ResultOf<E>[] = [];
  for (let start = 0; start < count; start += batch) {
    const indexes = Array.from({ length: Math.min(batch, count - start) }, (_, offset) => start + offset);
    acks.push(...(await Promise.all(indexes.map((index) => ok(socket, event, payload(index))))));
  }
  return acks;
}

/** Message ids sort as strings in log order. */
const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe(`HISTORY_SIZE=${HISTORY_SIZE} bounds storage`, () => {
  let redis: RedisServer;
  let admin: ReturnType<typeof createClient>;
  const prefix = uniquePrefix();
  const nodes: { url: string; close(): Promise<void> }[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    for (const index of [0, 1]) {
      const env = {
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix,
        NODE_ID: `node-${index}`,
        HISTORY_SIZE: String(HISTORY_SIZE),
        DMS_HELD_PER_RECIPIENT: String(HISTORY_SIZE),
      };
      nodes.push(await startNode(env));
    }
    admin = createClient({ url: redis.url });
    await admin.connect();
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await admin?.close();
    await Promise.all(nodes.map((node) => node.close()));
    await redis?.stop();
  });

  /** The stream of a log, in the key layout of server/redis/keys.ts. */
  const streamLength = (log: string) => admin.xLen(`${prefix}:{h:${log}}:log`);

  it("keeps a room's stream bounded over 1,000 messages from two nodes; joins and pages answer the newest", async () => {
    const room = "busy";
    const alice = await connected(nodes[0]!.url, "alice");
    const bob = await connected(nodes[1]!.url, "bob");
    await ok(alice, "room:join", { room });
    await ok(bob, "room:join", { room });

    const acks = await Promise.all([
      sendMany(alice, "room:send", 500, (index) => ({ room, text: `alice ${index}` })),
      sendMany(bob, "room:send", 500, (index) => ({ room, text: `bob ${index}` })),
    ]);
    const sent = acks
      .flat()
      .map((ack) => ack.message)
      .sort(byId);
    expect(new Set(sent.map((message) => message.id)).size).toBe(1000);
    const newest = (count: number) => sent.slice(-count).map((message) => message.id);

    const length = await streamLength(`room:${room}`);
    expect(length).toBeGreaterThanOrEqual(HISTORY_SIZE);
    expect(length).toBeLessThan(STREAM_CEILING);

    const carol = await connected(nodes[1]!.url, "carol");
    const joined = await ok(carol, "room:join", { room });
    const page = (joined.history as ChatMessage[]).map((message) => message.id);
    expect(page).toEqual(newest(Math.min(50, length)));

    // Back from the very first message: more was trimmed than the bound keeps, so only the newest.
    const resumed = await ok(carol, "room:join", { room, since: sent[0]!.id });
    expect(resumed.recovered).toBe(false);
    expect((resumed.history as ChatMessage[]).map((message) => message.id)).toEqual(newest(HISTORY_SIZE));

    // Paging back reaches the end of what is kept, and nothing older.
    const everything = await ok(carol, "room:history", { room, limit: 200 });
    expect((everything.messages as ChatMessage[]).map((message) => message.id)).toEqual(newest(length));
    const older = await ok(carol, "room:history", { room, before: newest(length)[0]!, limit: 200 });
    expect(older.messages).toEqual([]);
  });

  it("keeps a DM pair's stream bounded, and an offline user's inbox at exactly DMS_HELD_PER_RECIPIENT", async () => {
    const dana = await connected(nodes[0]!.url, "dana");
    const eve = await connected(nodes[1]!.url, "eve");
    const received = record(eve, "dm:message");
    const acks = await sendMany(dana, "dm:send", 300, (index) => ({ to: "eve", text: `psst ${index}` }));
    expect(acks.every((ack) => ack.online === true)).toBe(true);
    await expect.poll(() => received.length, { timeout: DEADLINE_MS }).toBe(300);
    const pairLength = await streamLength("dm:dana\neve");
    expect(pairLength).toBeGreaterThanOrEqual(HISTORY_SIZE);
    expect(pairLength).toBeLessThan(STREAM_CEILING);

    // Zoe claimed her name (DMs wait only for a claimed name), then went offline.
    const zoeAuth = { auth: { user: "zoe", key: "zoe-key-0123456789abcdef" } };
    const before = await connected(nodes[1]!.url, "zoe", zoeAuth);
    before.disconnect();
    await expect.poll(() => admin.hLen(`${prefix}:{u:zoe}:nodes`), { timeout: DEADLINE_MS }).toBe(0);

    // Her DMs wait until the inbox is full; the ack of each says whether it waits. A full inbox
    // holds no more, and pushes out nothing it holds: a flood cannot replace what waits.
    const heldAcks = await sendMany(dana, "dm:send", 120, (index) => ({
      to: "zoe",
      text: `later ${index}`,
    }));
    expect(heldAcks.every((ack) => ack.online === false)).toBe(true);
    const held = heldAcks.filter((ack) => ack.held).map((ack) => ack.message);
    expect(held).toHaveLength(HISTORY_SIZE);
    expect(await admin.lLen(`${prefix}:{u:zoe}:inbox`)).toBe(HISTORY_SIZE);

    const zoe = client(nodes[1]!.url, "zoe", zoeAuth);
    const delivered = record(zoe, "dm:message");
    await expect.poll(() => delivered.length, { timeout: DEADLINE_MS }).toBeGreaterThanOrEqual(HISTORY_SIZE);
    // One more DM, sent now that she is online, closes what the handshake handed over.
    await ok(dana, "dm:send", { to: "zoe", text: "welcome back" });
    await expect.poll(() => delivered.at(-1)?.text, { timeout: DEADLINE_MS }).toBe("welcome back");
    const handedOver = delivered.slice(0, -1);
    expect(handedOver.map((message) => message.id).sort()).toEqual(held.map((message) => message.id).sort());
  });
});
