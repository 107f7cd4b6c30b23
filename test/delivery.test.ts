/**
 * The delivery promise (issue 4), against real node processes and a real Redis: a message whose
 * send was acknowledged reaches every member exactly once, in id order, whether a node crashes,
 * nodes restart one by one, Redis restarts, or a client is away for a while.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChatClient, type ChatClientEvents, type PendingEntry } from "../client/sdk/index.js";
import type { ChatMessage } from "../protocol/index.js";
import { closeAllClients, connected, next, ok, record, within } from "./support/clients.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { whenHolds } from "./support/sdk-events.js";

const STREAM_DEADLINE_MS = 60_000;
let rooms = 0;
const uniqueRoom = () => `delivery-${++rooms}`;

/**
 * A TCP relay to a node that can go deaf: after `deafen()`, what the node sends is dropped while
 * what the client sends still arrives. Requests are served; their acks are lost on the way back.
 */
class DeafeningRelay {
  private deaf = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<DeafeningRelay> {
    const { hostname, port } = new URL(target);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const relay = new DeafeningRelay(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    server.on("connection", (client) => {
      const upstream = connect(Number(port), hostname);
      for (const socket of [client, upstream]) {
        relay.sockets.add(socket);
        socket.on("error", () => socket.destroy());
        socket.on("close", () => {
          relay.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on("data", (chunk) => upstream.write(chunk));
      upstream.on("data", (chunk) => {
        if (!relay.deaf) client.write(chunk);
      });
    });
    return relay;
  }

  /** From now on, nothing the node sends reaches the client. */
  deafen(): void {
    this.deaf = true;
  }

  /** Closes every relayed connection, as a network failure would. */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const clients: ChatClient[] = [];
const relays: DeafeningRelay[] = [];
afterEach(async () => {
  closeAllClients();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
});

/** An SDK client that starts on node `first` and knows every node, in rotation from there. */
async function member(cluster: ProcessCluster, user: string, first: number, room: string) {
  const urls = cluster.urls.map((_, index) => cluster.urls[(first + index) % cluster.urls.length]!);
  const client = new ChatClient({ urls, user, backoff: { initialMs: 20, maxMs: 250 } });
  clients.push(client);
  const messages: ChatMessage[] = [];
  client.on("message", (message) => {
    if (message.room === room) messages.push(message);
  });
  const resets: ChatClientEvents["reset"][] = [];
  client.on("reset", (reset) => resets.push(reset));
  await within(client.connect(), `${user} to connect`);
  await client.join(room);
  return { client, messages, resets };
}

/** Resolves once `done()` holds: checked now and on every message `client` delivers. */
function delivered(client: ChatClient, done: () => boolean, what: string, ms = STREAM_DEADLINE_MS): Promise<void> {
  return whenHolds(client, "message", done, `${client.user} to receive ${what}`, ms);
}

/** Resolves once `messages` holds at least `count` entries (checked on every delivery). */
function received(client: ChatClient, messages: ChatMessage[], count: number, ms = STREAM_DEADLINE_MS): Promise<void> {
  return delivered(client, () => messages.length >= count, `${count} messages (has ${messages.length})`, ms);
}

/** Resolves with the first outbox snapshot of `client` that satisfies `match`. Start it before the cause. */
function nextPending(
  client: ChatClient,
  match: (pending: readonly PendingEntry[]) => boolean,
): Promise<readonly PendingEntry[]> {
  let stop = () => {};
  return within(
    new Promise<readonly PendingEntry[]>((resolve) => {
      stop = client.on("pending", (pending) => {
        if (match(pending)) resolve(pending);
      });
    }),
    `the outbox of ${client.user}`,
  ).finally(() => stop());
}

/** Every reader holds exactly the texts 0..count-1, once each, in id order. */
function expectExactlyOnceInOrder(messages: ChatMessage[], count: number): void {
  expect(messages.map((message) => message.text)).toEqual(Array.from({ length: count }, (_, index) => String(index)));
  const ids = messages.map((message) => message.id);
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(count);
}

describe("delivery promise on 3 node processes", () => {
  let cluster: ProcessCluster;
  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 3, redisArgs: ["--appendonly", "yes"] });
  });
  afterAll(() => cluster.close());

  it("a node is SIGKILLed mid-stream: every reader ends with all 500 messages once, in order", async () => {
    const room = uniqueRoom();
    const writer = await member(cluster, "writer", 0, room);
    const readers = await Promise.all(
      [0, 1, 1, 2].map((node, index) => member(cluster, `reader-${index}`, node, room)),
    );

    const sends = Array.from({ length: 500 }, (_, index) => writer.client.send(room, String(index)));
    await received(readers[1]!.client, readers[1]!.messages, 100);
    expect(await cluster.kill(1, "SIGKILL")).toBeNull();
    await Promise.all(sends);
    for (const reader of [writer, ...readers]) {
      await received(reader.client, reader.messages, 500);
      expectExactlyOnceInOrder(reader.messages, 500);
    }
    await cluster.restart(1);
  });

  it("rolling restart: every node gets SIGTERM in turn while messages flow", async () => {
    const room = uniqueRoom();
    const writer = await member(cluster, "roller", 0, room);
    const readers = await Promise.all([0, 1, 2].map((node, index) => member(cluster, `watcher-${index}`, node, room)));
    let next = 0;
    const sendBatch = (count: number) => {
      const batch = Array.from({ length: count }, () => writer.client.send(room, String(next++)));
      return Promise.all(batch);
    };
    for (const node of [0, 1, 2]) {
      const stopped = cluster.kill(node, "SIGTERM");
      const batch = sendBatch(150);
      expect(await stopped).toBe(0);
      await cluster.restart(node);
      await batch;
    }
    await sendBatch(500 - next);
    for (const reader of [writer, ...readers]) {
      await received(reader.client, reader.messages, 500);
      expectExactlyOnceInOrder(reader.messages, 500);
    }
  });

  it("Redis is SIGKILLed and restarted: sends wait as unavailable, then everything arrives once", async () => {
    const room = uniqueRoom();
    const writer = await member(cluster, "steady", 0, room);
    const reader = await member(cluster, "patient", 2, room);

    const first = Array.from({ length: 100 }, (_, index) => writer.client.send(room, String(index)));
    await Promise.all(first);
    await cluster.redis.kill("SIGKILL");
    // While Redis is down the server refuses sends as unavailable; the outbox keeps them, retrying.
    const refused = nextPending(writer.client, (pending) => pending[0]?.lastError === "unavailable");
    let settled = 0;
    const during = Array.from({ length: 100 }, (_, index) =>
      writer.client.send(room, String(100 + index)).finally(() => (settled += 1)),
    );
    const waiting = await refused;
    expect(waiting.map((entry) => entry.text)).toEqual(Array.from({ length: 100 }, (_, index) => String(100 + index)));
    const retried = nextPending(writer.client, (pending) => (pending[0]?.attempts ?? 0) >= 2);
    expect((await retried)[0]).toMatchObject({ text: "100", lastError: "unavailable" });
    expect(settled).toBe(0);
    await cluster.redis.restart();
    await Promise.all(during);
    const after = Array.from({ length: 100 }, (_, index) => writer.client.send(room, String(200 + index)));
    await Promise.all(after);
    for (const member of [writer, reader]) {
      await received(member.client, member.messages, 300);
      expectExactlyOnceInOrder(member.messages, 300);
    }
  });

  it("a client offline for a while gets the 50 messages it missed on reconnect", async () => {
    const room = uniqueRoom();
    const writer = await member(cluster, "talker", 0, room);
    // Alone on node 2 and knowing no other node: offline while node 2 is down.
    const away = await member(cluster, "away", 2, room);
    const onlyNode2 = new ChatClient({
      urls: [cluster.urls[2]!],
      user: "sleeper",
      backoff: { initialMs: 20, maxMs: 250 },
    });
    clients.push(onlyNode2);
    const missed: ChatMessage[] = [];
    onlyNode2.on("message", (message) => missed.push(message));
    const resets: unknown[] = [];
    onlyNode2.on("reset", (reset) => resets.push(reset));
    await onlyNode2.connect();
    await onlyNode2.join(room);
    await Promise.all(Array.from({ length: 10 }, (_, index) => writer.client.send(room, String(index))));
    await received(onlyNode2, missed, 10);

    await cluster.kill(2, "SIGKILL");
    await Promise.all(Array.from({ length: 50 }, (_, index) => writer.client.send(room, String(10 + index))));
    await cluster.restart(2);
    await received(onlyNode2, missed, 60);
    expectExactlyOnceInOrder(missed, 60);
    expect(resets).toEqual([]);
    await received(away.client, away.messages, 60);
    expectExactlyOnceInOrder(away.messages, 60);
  });

  it("a retry after a lost ack produces a single message, in history and at the receivers", async () => {
    const room = uniqueRoom();
    const receiver = await connected(cluster.urls[2]!, "receiver");
    await ok(receiver, "room:join", { room });
    const seen = record(receiver, "room:message");

    // The sender reaches node 0 through a relay that stops passing node 0's answers.
    const relay = await DeafeningRelay.start(cluster.urls[0]!);
    relays.push(relay);
    const sender = await connected(relay.url, "sender");
    await ok(sender, "room:join", { room });
    relay.deafen();
    let acked = false;
    const broadcast = next(receiver, "room:message", (message) => message.text === "once");
    sender.emit("room:send", { room, text: "once", clientId: "retry-1" }, () => (acked = true));
    // The server stored and broadcast it (the receiver is on another node)...
    const original = await broadcast;
    // ...and the connection drops with the ack still on its way: the sender never saw it.
    const dropped = new Promise((resolve) => sender.once("disconnect", resolve));
    relay.cut();
    await within(dropped, "the sender's connection to drop");
    expect(acked).toBe(false);

    const retrier = await connected(cluster.urls[1]!, "sender");
    await ok(retrier, "room:join", { room });
    const retried = await ok(retrier, "room:send", { room, text: "once", clientId: "retry-1" });
    // The retry is answered with the message stored the first time, not a second one.
    expect(retried.message).toEqual(original);
    const barrier = next(receiver, "room:message", (message) => message.text === "after");
    const after = await ok(retrier, "room:send", { room, text: "after" });
    await barrier;
    // Anything the retry broadcast would have come before the barrier.
    expect(seen.map((message) => message.id)).toEqual([original.id, after.message.id]);
    const history = await ok(receiver, "room:history", { room });
    expect(history.messages.map((message: ChatMessage) => message.id)).toEqual([original.id, after.message.id]);
  });
});

describe("delivery promise beyond the history window", () => {
  let cluster: ProcessCluster;
  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2, env: { HISTORY_SIZE: "50" } });
  });
  afterAll(() => cluster.close());

  it("a client away longer than the window gets recovered:false and a reset event", async () => {
    const room = uniqueRoom();
    const writer = await member(cluster, "chatty", 0, room);
    const sleeper = new ChatClient({ urls: [cluster.urls[1]!], user: "dozer", backoff: { initialMs: 20, maxMs: 250 } });
    clients.push(sleeper);
    const messages: ChatMessage[] = [];
    sleeper.on("message", (message) => messages.push(message));
    let resolveReset: (reset: ChatClientEvents["reset"]) => void = () => {};
    const reset = new Promise<ChatClientEvents["reset"]>((resolve) => (resolveReset = resolve));
    sleeper.on("reset", (event) => resolveReset(event));
    await sleeper.connect();
    await sleeper.join(room);
    await writer.client.send(room, "before");
    await received(sleeper, messages, 1);

    await cluster.kill(1, "SIGKILL");
    // Redis trims whole stream nodes (MAXLEN ~), so send well past the 50-message window.
    await Promise.all(Array.from({ length: 400 }, (_, index) => writer.client.send(room, String(index))));
    await cluster.restart(1);
    expect(await within(reset, "the reset event", STREAM_DEADLINE_MS)).toMatchObject({ room });
    // After the reset it goes on from what the log still holds, up to the newest, still in order.
    await delivered(sleeper, () => messages[messages.length - 1]?.text === "399", "the newest message");
    const ids = messages.map((message) => message.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(messages[0]!.text).toBe("before");
    expect(messages.length).toBeLessThan(401);
  });
});
