/**
 * REDIS_PREFIX lets two deployments share one Redis: two pairs of nodes (in process) on one
 * redis-server, with the same node ids, room names and user names, see nothing of each other.
 */
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type ChatMessage, type DirectMessage, type RoomPresence } from "../protocol/index.js";
import {
  client,
  closeAllClients,
  connected,
  DEADLINE_MS,
  next,
  ok,
  record,
  within,
  type TestSocket,
} from "./support/clients.js";
import { startNode } from "./support/deployment.js";
import { RedisServer, uniquePrefix } from "./support/redis-server.js";

type Node = { url: string; close(): Promise<void> };

/** Name-claim keys (open mode): secrets of 16 or more characters. */
const BLUE_KEY = "blue-key-0123456789abcdef";
const GREEN_KEY = "green-key-0123456789abcdef";

/** Opens a socket with `auth` and resolves with its `connect_error`; connecting fails the test. */
function refused(url: string, auth: Record<string, string>): Promise<Error & { data?: unknown }> {
  const socket = client(url, auth.user, { auth });
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => reject(new Error(`${JSON.stringify(auth.user)} connected but should be refused`)));
      socket.once("connect_error", resolve);
    }),
    `the connect_error of ${JSON.stringify(auth.user)}`,
  );
}

/** `expect.poll` waits 1 s by default: too short on a busy machine. */
const POLL = { timeout: DEADLINE_MS, interval: 20 };

describe("two deployments on one Redis, told apart by REDIS_PREFIX", () => {
  let redis: RedisServer;
  const prefixes = { blue: `${uniquePrefix()}-blue`, green: `${uniquePrefix()}-green` };
  const nodes: { blue: Node[]; green: Node[] } = { blue: [], green: [] };

  beforeAll(async () => {
    redis = await RedisServer.start();
    for (const deployment of ["blue", "green"] as const) {
      for (const index of [0, 1]) {
        // The same node ids in both: only the prefix keeps their heartbeats and entries apart.
        const env = { REDIS_URL: redis.url, REDIS_PREFIX: prefixes[deployment], NODE_ID: `node-${index}` };
        nodes[deployment].push(await startNode(env));
      }
    }
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await Promise.all([...nodes.blue, ...nodes.green].map((node) => node.close()));
    await redis?.stop();
  });

  const url = (deployment: "blue" | "green", index: number) => nodes[deployment][index]!.url;

  it("keeps members, presence, messages, DMs, history, room lists and name claims apart", async () => {
    // Blue: alice and bob in the lobby. Green: alice, carol and dave in the lobby, and a room of its own.
    const blueAlice = await connected(url("blue", 0), "alice");
    // Bob claims his name in blue with a key (open mode): the claim is blue's alone.
    const blueBob = await connected(url("blue", 1), "bob", { auth: { user: "bob", key: BLUE_KEY } });
    const greenAlice = await connected(url("green", 0), "alice");
    const greenCarol = await connected(url("green", 1), "carol");
    const greenDave = await connected(url("green", 1), "dave");
    const everyone = [blueAlice, blueBob, greenAlice, greenCarol, greenDave];
    const blue = [blueAlice, blueBob];
    const green = [greenAlice, greenCarol, greenDave];
    const messages = new Map<TestSocket, ChatMessage[]>(
      everyone.map((socket) => [socket, record(socket, "room:message")]),
    );
    const dms = new Map<TestSocket, DirectMessage[]>(everyone.map((socket) => [socket, record(socket, "dm:message")]));
    const presence = new Map<TestSocket, RoomPresence[]>(
      everyone.map((socket) => [socket, record(socket, "room:presence")]),
    );

    expect((await ok(blueAlice, "room:join", { room: "lobby" })).members).toEqual(["alice"]);
    expect((await ok(greenAlice, "room:join", { room: "lobby" })).members).toEqual(["alice"]);
    const bobSeen = next(blueAlice, "room:presence", (event) => event.user === "bob");
    expect((await ok(blueBob, "room:join", { room: "lobby" })).members).toEqual(["alice", "bob"]);
    await bobSeen;
    for (const [user, socket] of [
      ["carol", greenCarol],
      ["dave", greenDave],
    ] as const) {
      const seen = next(greenAlice, "room:presence", (event) => event.user === user);
      await ok(socket, "room:join", { room: "lobby" });
      await seen;
    }
    expect((await ok(greenCarol, "room:join", { room: "lobby" })).members).toEqual(["alice", "carol", "dave"]);
    await ok(greenDave, "room:join", { room: "green-only" });

    await ok(blueAlice, "room:send", { room: "lobby", text: "blue hello" });
    await ok(greenAlice, "room:send", { room: "lobby", text: "green hello" });
    // Bob exists only in blue: green's alice finds him offline.
    expect((await ok(blueAlice, "dm:send", { to: "bob", text: "blue whisper" })).online).toBe(true);
    expect((await ok(greenAlice, "dm:send", { to: "bob", text: "green whisper" })).online).toBe(false);

    // Barriers: one more message in each deployment, sent after everything above, received by all.
    await ok(blueBob, "room:send", { room: "lobby", text: "blue done" });
    await ok(greenCarol, "room:send", { room: "lobby", text: "green done" });
    const texts = (socket: TestSocket) => messages.get(socket)!.map((message) => message.text);
    for (const socket of blue) await expect.poll(() => texts(socket), POLL).toContain("blue done");
    for (const socket of green) await expect.poll(() => texts(socket), POLL).toContain("green done");
    await expect.poll(() => dms.get(blueBob)!.map((message) => message.text), POLL).toEqual(["blue whisper"]);

    for (const socket of blue) expect(texts(socket)).toEqual(["blue hello", "blue done"]);
    for (const socket of green) expect(texts(socket)).toEqual(["green hello", "green done"]);
    expect(dms.get(blueAlice)!.map((message) => message.text)).toEqual(["blue whisper"]);
    expect(dms.get(greenAlice)!.map((message) => message.text)).toEqual(["green whisper"]);
    for (const socket of [greenCarol, greenDave]) expect(dms.get(socket)).toEqual([]);
    for (const socket of blue) {
      expect(presence.get(socket)!.every((event) => ["alice", "bob"].includes(event.user) && event.members <= 2)).toBe(
        true,
      );
    }
    for (const socket of green) expect(presence.get(socket)!.every((event) => event.user !== "bob")).toBe(true);

    const history = async (socket: TestSocket) =>
      ((await ok(socket, "room:history", { room: "lobby" })).messages as ChatMessage[]).map((message) => message.text);
    expect(await history(blueBob)).toEqual(["blue hello", "blue done"]);
    expect(await history(greenDave)).toEqual(["green hello", "green done"]);

    expect((await ok(blueBob, "rooms:list", {})).rooms).toEqual([{ room: "lobby", members: 2 }]);
    expect((await ok(greenCarol, "rooms:list", {})).rooms).toEqual([
      { room: "green-only", members: 1 },
      { room: "lobby", members: 3 },
    ]);

    // Green has its own claims: there, "bob" is free for another key, and blue's claim stands.
    const greenBob = await connected(url("green", 0), "bob", { auth: { user: "bob", key: GREEN_KEY } });
    expect(greenBob.connected).toBe(true);
    const impostor = await refused(url("blue", 0), { user: "bob", key: GREEN_KEY });
    expect(impostor.data).toMatchObject({ code: ErrorCode.Unauthorized });
    await connected(url("blue", 0), "bob", { auth: { user: "bob", key: BLUE_KEY } });

    // Every key and every sharded channel in the shared Redis belongs to one of the two.
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      const keys: string[] = [];
      for await (const batch of admin.scanIterator({ COUNT: 1000 })) keys.push(...batch);
      const owner = (name: string) =>
        (["blue", "green"] as const).filter((key) => name.startsWith(`${prefixes[key]}:`));
      expect(keys.filter((key) => owner(key).length !== 1)).toEqual([]);
      expect(new Set(keys.flatMap(owner))).toEqual(new Set(["blue", "green"]));
      const channels = (await admin.sendCommand(["PUBSUB", "SHARDCHANNELS"])) as string[];
      expect(channels.length).toBeGreaterThan(0);
      expect(channels.filter((channel) => owner(channel).length !== 1)).toEqual([]);
    } finally {
      await admin.close();
    }
  });
});
