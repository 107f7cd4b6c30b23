/**
 * The delivery promise for DMs (issue 15), against real node processes and a real Redis: a DM
 * whose send was acknowledged reaches every client of both users exactly once, in the order of
 * each user's DM feed, whether a node crashes, nodes restart one by one, Redis restarts, or a
 * client is away for a while. Both users prove their names with a key, so each has a feed.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChatClient, type ChatClientEvents } from "../client/sdk/index.js";
import type { DirectMessage } from "../protocol/index.js";
import { within } from "./support/clients.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { whenHolds } from "./support/sdk-events.js";

/** Well inside the test's own timeout, so that a wait that never ends says which one it was. */
const STREAM_DEADLINE_MS = 20_000;
let users = 0;
const uniqueUser = (base: string) => `${base}-${process.pid}-${++users}`;

const clients: ChatClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

/** A client of `user` (proven by `key`) that starts on node `first`, or knows only `only` nodes. */
async function dmClient(cluster: ProcessCluster, user: string, key: string, first: number, only?: number[]) {
  const urls = only
    ? only.map((index) => cluster.urls[index]!)
    : cluster.urls.map((_, index) => cluster.urls[(first + index) % cluster.urls.length]!);
  const client = new ChatClient({ urls, user, key, backoff: { initialMs: 20, maxMs: 250 } });
  clients.push(client);
  const dms: DirectMessage[] = [];
  client.on("dm", (dm) => dms.push(dm));
  const resets: ChatClientEvents["dmReset"][] = [];
  client.on("dmReset", (reset) => resets.push(reset));
  await within(client.connect(), `${user} to connect`);
  return { client, dms, resets };
}

/** A proven user: a name and the key that claims it. */
const provenUser = (base: string) => ({ user: uniqueUser(base), key: randomBytes(16).toString("hex") });

/** Resolves once `dms` holds at least `count` DMs (checked now and on every DM `client` delivers). */
async function received(client: ChatClient, dms: DirectMessage[], count: number): Promise<void> {
  const what = `${client.user} to receive ${count} DMs`;
  try {
    await whenHolds(client, "dm", () => dms.length >= count, what, STREAM_DEADLINE_MS);
  } catch (error) {
    throw new Error(`${client.user} received ${dms.length} of ${count} DMs in ${STREAM_DEADLINE_MS} ms`, {
      cause: error,
    });
  }
}

/** The DMs hold exactly the texts 0..count-1, once each, in feed order, each with its feed place. */
function expectExactlyOnceInOrder(dms: DirectMessage[], count: number): void {
  expect(dms.map((dm) => dm.text)).toEqual(Array.from({ length: count }, (_, index) => String(index)));
  const feedIds = dms.map((dm) => dm.feedId ?? "");
  expect(feedIds.every((id) => id !== "")).toBe(true);
  expect([...feedIds].sort()).toEqual(feedIds);
  expect(new Set(feedIds).size).toBe(count);
}

describe("DM delivery promise on 3 node processes", () => {
  let cluster: ProcessCluster;
  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 3, redisArgs: ["--appendonly", "yes"] });
  });
  afterAll(() => cluster.close());
  // A test that failed half-way must not leave the next one a node short.
  afterEach(async () => {
    const stopped = cluster.nodes.flatMap((node, index) => (node.running ? [] : [index]));
    await Promise.all(stopped.map((index) => cluster.restart(index)));
  });

  /** A writer on node 0, and the reader's clients on the given nodes. */
  async function pair(readerNodes: number[]) {
    const writer = provenUser("writer");
    const reader = provenUser("reader");
    const writerClient = await dmClient(cluster, writer.user, writer.key, 0);
    const readers = await Promise.all(readerNodes.map((node) => dmClient(cluster, reader.user, reader.key, node)));
    return { writer: writerClient, reader: reader.user, readers };
  }

  it("a node is SIGKILLed mid-stream: both users' clients end with all 300 DMs once, in order", async () => {
    const { writer, reader, readers } = await pair([1, 1, 2]);
    const sends = Array.from({ length: 300 }, (_, index) => writer.client.dm(reader, String(index)));
    await received(readers[0]!.client, readers[0]!.dms, 60);
    expect(await cluster.kill(1, "SIGKILL")).toBeNull();
    await within(Promise.all(sends), "the writer's 300 DM sends to be acknowledged", STREAM_DEADLINE_MS);
    for (const side of [writer, ...readers]) {
      await received(side.client, side.dms, 300);
      expectExactlyOnceInOrder(side.dms, 300);
      expect(side.resets).toEqual([]);
    }
    await cluster.restart(1);
  });

  it("rolling restart: every node gets SIGTERM in turn while DMs flow", async () => {
    const { writer, reader, readers } = await pair([0, 1, 2]);
    let next = 0;
    const sendBatch = (count: number) =>
      Promise.all(Array.from({ length: count }, () => writer.client.dm(reader, String(next++))));
    for (const node of [0, 1, 2]) {
      const stopped = cluster.kill(node, "SIGTERM");
      const batch = sendBatch(80);
      expect(await stopped).toBe(0);
      await cluster.restart(node);
      await batch;
    }
    await sendBatch(300 - next);
    for (const side of [writer, ...readers]) {
      await received(side.client, side.dms, 300);
      expectExactlyOnceInOrder(side.dms, 300);
    }
  });

  it("Redis is SIGKILLed and restarted: DMs wait in the outbox, then each arrives once, in order", async () => {
    const { writer, reader, readers } = await pair([2]);
    await Promise.all(Array.from({ length: 50 }, (_, index) => writer.client.dm(reader, String(index))));
    await cluster.redis.kill("SIGKILL");
    const refused = new Promise<void>((resolve) => {
      const stop = writer.client.on("pending", (pending) => {
        if (pending[0]?.lastError === "unavailable") {
          stop();
          resolve();
        }
      });
    });
    const during = Array.from({ length: 50 }, (_, index) => writer.client.dm(reader, String(50 + index)));
    await within(refused, "a DM to be refused as unavailable while Redis is down");
    await cluster.redis.restart();
    await Promise.all(during);
    await Promise.all(Array.from({ length: 50 }, (_, index) => writer.client.dm(reader, String(100 + index))));
    for (const side of [writer, ...readers]) {
      await received(side.client, side.dms, 150);
      expectExactlyOnceInOrder(side.dms, 150);
    }
  });

  it("a client offline for 50 DMs gets them on reconnect, once, in order, without a reset", async () => {
    const writer = provenUser("talker");
    const reader = provenUser("sleeper");
    const writerClient = await dmClient(cluster, writer.user, writer.key, 0);
    // Knowing only node 2, the sleeper is offline while node 2 is down; its other client is not.
    const sleeper = await dmClient(cluster, reader.user, reader.key, 2, [2]);
    const awake = await dmClient(cluster, reader.user, reader.key, 1);
    await Promise.all(Array.from({ length: 10 }, (_, index) => writerClient.client.dm(reader.user, String(index))));
    await received(sleeper.client, sleeper.dms, 10);

    await cluster.kill(2, "SIGKILL");
    await Promise.all(
      Array.from({ length: 50 }, (_, index) => writerClient.client.dm(reader.user, String(10 + index))),
    );
    await received(awake.client, awake.dms, 60);
    expect(sleeper.dms).toHaveLength(10);
    await cluster.restart(2);
    await received(sleeper.client, sleeper.dms, 60);
    for (const side of [sleeper, awake, writerClient]) {
      expectExactlyOnceInOrder(side.dms, 60);
      expect(side.resets).toEqual([]);
    }
  });
});

describe("DM delivery beyond the feed's window", () => {
  let cluster: ProcessCluster;
  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2, env: { HISTORY_SIZE: "50" } });
  });
  afterAll(() => cluster.close());

  it("a client away longer than the window gets a dmReset, then the newest DMs, in order", async () => {
    const writer = provenUser("chatty");
    const reader = provenUser("dozer");
    const writerClient = await dmClient(cluster, writer.user, writer.key, 0);
    const sleeper = await dmClient(cluster, reader.user, reader.key, 1, [1]);
    await writerClient.client.dm(reader.user, "before");
    await received(sleeper.client, sleeper.dms, 1);
    const lastBefore = sleeper.dms[0]!.feedId;

    await cluster.kill(1, "SIGKILL");
    // Redis trims whole stream nodes (MAXLEN ~), so send well past the 50-DM window.
    await Promise.all(Array.from({ length: 400 }, (_, index) => writerClient.client.dm(reader.user, String(index))));
    await cluster.restart(1);
    await within(
      new Promise<void>((resolve) => {
        if (sleeper.dms.at(-1)?.text === "399") resolve();
        sleeper.client.on("dm", (dm) => dm.text === "399" && resolve());
      }),
      "the newest DM",
      STREAM_DEADLINE_MS,
    );
    expect(sleeper.resets).toEqual([{ since: lastBefore }]);
    const feedIds = sleeper.dms.map((dm) => dm.feedId!);
    expect(new Set(feedIds).size).toBe(feedIds.length);
    expect([...feedIds].sort()).toEqual(feedIds);
    expect(sleeper.dms[0]!.text).toBe("before");
    expect(sleeper.dms.length).toBeLessThan(401);
  });
});
