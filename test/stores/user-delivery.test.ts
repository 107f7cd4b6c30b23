import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectMessage } from "../../protocol/index.js";
import type { UserEvent } from "../../server/delivery/delivery.js";
import { MemoryUserDelivery } from "../../server/delivery/memory.js";
import { RedisUserDelivery } from "../../server/delivery/redis.js";
import { RedisPresence } from "../../server/presence/redis.js";
import type { RedisHandles } from "../../server/redis/connection.js";
import { redisKeys } from "../../server/redis/keys.js";
import { RedisServer, uniquePrefix } from "../support/redis-server.js";
import { DEADLINE_MS, openTestRedis, RecordingLog, silentLog } from "./fixtures.js";

const dm = (text: string, to: string): UserEvent => ({
  event: "dm:message",
  payload: { id: "1-0", from: "someone", to, text, ts: 1, prev: "" } satisfies DirectMessage,
});

/** What a node's delivery handed to its own sockets, as "user: text". */
class Handed {
  readonly lines: string[] = [];
  private waiters: { line: string; resolve: () => void }[] = [];

  readonly local = (user: string, { payload }: UserEvent): void => {
    const line = `${user}: ${payload.text}`;
    this.lines.push(line);
    for (const waiter of this.waiters.filter((waiter) => waiter.line === line)) waiter.resolve();
  };

  /** Resolves once `line` was handed over (checked now and at every delivery), within the deadline. */
  async got(line: string): Promise<void> {
    if (this.lines.includes(line)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`"${line}" never arrived`)), DEADLINE_MS);
      this.waiters.push({ line, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

describe("MemoryUserDelivery", () => {
  it("hands every event to this node's sockets, once started", async () => {
    const delivery = new MemoryUserDelivery();
    const handed = new Handed();
    await delivery.deliver("ann", dm("before start", "ann"));
    await delivery.start(handed.local);
    await delivery.deliver("ann", dm("hi", "ann"));
    expect(handed.lines).toEqual(["ann: hi"]);
  });
});

describe("RedisUserDelivery", () => {
  let server: RedisServer;
  const prefix = uniquePrefix();
  const opened: { handles: RedisHandles; presence: RedisPresence; delivery: RedisUserDelivery }[] = [];

  /** A node: its presence (started), and its delivery listening on its own channel. */
  async function node(nodeId: string) {
    const handles = await openTestRedis(server, prefix, nodeId);
    const keys = redisKeys(prefix);
    const presence = new RedisPresence({
      redis: handles.connection,
      keys,
      nodeId,
      heartbeatTtlMs: 60_000,
      maxHeldPerRecipient: 10,
      maxHeldPerSender: 10,
      log: new RecordingLog(),
    });
    await presence.start();
    const delivery = new RedisUserDelivery({
      redis: handles.connection,
      subscriber: handles.subscriber,
      nodeId,
      channelOf: keys.nodeDeliveries,
      nodesOf: (user) => presence.nodesOf(user),
      log: silentLog,
    });
    const handed = new Handed();
    await delivery.start(handed.local);
    opened.push({ handles, presence, delivery });
    return { presence, delivery, handed, handles };
  }

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const { delivery, presence, handles } of opened) {
      await delivery.close();
      await presence.close();
      await handles.close();
    }
    await server?.stop();
  });

  it("reaches the nodes that hold the user, through one channel per node, and no other node", async () => {
    const [n1, n2, n3] = [await node("n1"), await node("n2"), await node("n3")];
    await n2.presence.userConnected("bea");
    await n3.presence.userConnected("cal");

    await n1.delivery.deliver("bea", dm("for bea", "bea"));
    await n2.handed.got("bea: for bea");
    // The sender's own node hands it to its sockets too (it holds none of bea's here).
    expect(n1.handed.lines).toEqual(["bea: for bea"]);
    // A node's channel delivers in order: cal's DM comes after anything sent to n3 before it.
    await n1.delivery.deliver("cal", dm("for cal", "cal"));
    await n3.handed.got("cal: for cal");
    expect(n3.handed.lines).toEqual(["cal: for cal"]);

    // One channel per node, whatever the number of users.
    const pattern = `${prefix}:*`;
    const channels = await n1.handles.connection.command<string[]>(pattern, ["PUBSUB", "SHARDCHANNELS", pattern]);
    expect(channels.sort()).toEqual(["n1", "n2", "n3"].map(redisKeys(prefix).nodeDeliveries));
  });

  it("publishes to a dead node's channel without error: it reaches no one", async () => {
    const alive = await node("alive");
    const dead = await node("dead");
    await dead.presence.userConnected("dot");
    await dead.delivery.close();
    await expect(alive.delivery.deliver("dot", dm("anyone?", "dot"))).resolves.toBeUndefined();
    expect(dead.handed.lines).toEqual([]);
  });
});
