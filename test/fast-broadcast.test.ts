/**
 * The broadcast fast path (server/plugins/fast-broadcast.ts), on one node and on two nodes over
 * Redis: a room's messages are written straight to its WebSocket members' sockets when nothing is
 * waiting before them, and through engine.io's queue otherwise (polling, backed-up writes, binary
 * packets). Either way every member gets every message once and in order, only the members the
 * broadcast names get it, and the frames-delivered count stays exact.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ChatMessage } from "../protocol/index.js";
import { queuedBytes } from "../server/chat/backpressure.js";
import { roomChannel } from "../server/chat/rooms.js";
import { closeAllClients, connected, next, ok, record, within, type TestSocket } from "./support/clients.js";
import { startApp } from "./support/deployment.js";
import { unique } from "./support/identity.js";
import { RedisServer, uniquePrefix } from "./support/redis-server.js";

/** Messages each test sends to its room. */
const MESSAGES = 20;

interface Node {
  app: FastifyInstance;
  url: string;
}

/** What engine.io created a packet for: the fast path creates none. */
interface EnginePacket {
  type: string;
  data?: unknown;
}

/** The server's side of a client's connection, engine.io's, as the fast path sees it. */
interface ServerConnection {
  readyState: string;
  writeBuffer: { data?: unknown }[];
  transport: {
    name: string;
    socket?: {
      bufferedAmount?: number;
      _socket?: { cork(): void; uncork(): void; readonly bytesWritten: number; readonly writableLength: number };
    };
  };
  close(discard?: boolean): void;
  on(event: "packetCreate", listener: (packet: EnginePacket) => void): void;
}

/** A socket seen without the protocol's types, for events the protocol does not have. */
interface LooseSocket {
  on(event: string, listener: (...args: unknown[]) => void): void;
}

/** The modes the fast path must work in: one node in memory, and two nodes over Redis. */
const MODES: { name: string; start(): Promise<{ nodes: Node[]; stop(): Promise<void> }> }[] = [
  {
    name: "one node in memory",
    async start() {
      const node = await startApp({ NODE_ID: "memory" });
      return { nodes: [node], stop: () => node.app.close() };
    },
  },
  {
    name: "two nodes over Redis",
    async start() {
      const redis = await RedisServer.start();
      const nodes: Node[] = [];
      const stop = async () => {
        await Promise.all(nodes.map((node) => node.app.close()));
        await redis.stop();
      };
      try {
        const env = { REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix() };
        for (const id of ["node-0", "node-1"]) nodes.push(await startApp({ ...env, NODE_ID: id }));
      } catch (error) {
        await stop();
        throw error;
      }
      return { nodes, stop };
    },
  },
];

describe.each(MODES)("the broadcast fast path, $name", (mode) => {
  let nodes: Node[] = [];
  let stop = async () => {};
  beforeAll(async () => {
    ({ nodes, stop } = await mode.start());
  });
  afterEach(() => closeAllClients());
  afterAll(() => stop());

  const first = () => nodes[0]!;
  const last = () => nodes[nodes.length - 1]!;

  /** The server's side of `socket`'s connection, on whichever node holds it. */
  function serverSide(socket: TestSocket): ServerConnection {
    for (const { app } of nodes) {
      const held = app.io.of("/").sockets.get(socket.id!);
      if (held) return held.conn as unknown as ServerConnection;
    }
    throw new Error(`no node holds socket ${socket.id}`);
  }

  /** Counts the `event` packets engine.io queues for `socket` from now on (the fast path queues none). */
  function queuedPackets(socket: TestSocket, event: string): () => number {
    let queued = 0;
    serverSide(socket).on("packetCreate", (packet) => {
      if (typeof packet.data === "string" && packet.data.includes(`"${event}"`)) queued += 1;
    });
    return () => queued;
  }

  /** The texts of the messages of `room` that `socket` gets from now on, in the order it gets them. */
  function texts(socket: TestSocket, room: string): () => string[] {
    const seen = record(socket, "room:message");
    return () => seen.filter((message) => message.room === room).map((message) => message.text);
  }

  /** Connects `count` users alternately to the first and the last node, each joined to `room`. */
  async function members(room: string, count: number, options: Parameters<typeof connected>[2] = {}) {
    const sockets: TestSocket[] = [];
    for (let index = 0; index < count; index += 1) {
      const node = index % 2 === 0 ? first() : last();
      const socket = await connected(node.url, unique("member"), options);
      await ok(socket, "room:join", { room });
      sockets.push(socket);
    }
    return sockets;
  }

  /** Sends `count` messages to `room`, each once every one of `receivers` has the one before. */
  async function converse(sender: TestSocket, room: string, receivers: TestSocket[], count = MESSAGES, label = room) {
    const sent: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const text = `${label} #${index}`;
      const arrivals = receivers.map((socket) =>
        next(socket, "room:message", (message: ChatMessage) => message.room === room && message.text === text),
      );
      await ok(sender, "room:send", { room, text });
      await Promise.all(arrivals);
      sent.push(text);
    }
    return sent;
  }

  it("writes every message straight to each WebSocket member, who gets them all in order", async () => {
    const room = unique("ws");
    const sockets = await members(room, 3);
    const [sender] = sockets;
    const received = sockets.map((socket) => texts(socket, room));
    const queued = sockets.map((socket) => queuedPackets(socket, "room:message"));

    const sent = await converse(sender!, room, sockets);

    for (const seen of received) expect(seen()).toEqual(sent);
    // Each found its connection idle: none of the messages went through engine.io's queue.
    expect(queued.map((count) => count())).toEqual([0, 0, 0]);
  });

  it("sends to a polling member through engine.io's queue, in order", async () => {
    const room = unique("polling");
    const [sender] = await members(room, 1);
    const [polling] = await members(room, 1, { transports: ["polling"] });
    const received = texts(polling!, room);
    const queued = queuedPackets(polling!, "room:message");

    const sent = await converse(sender!, room, [polling!]);

    expect(received()).toEqual(sent);
    expect(queued()).toBe(MESSAGES);
  });

  it("writes behind what a backed-up member's socket holds, and queues behind engine.io's queue, in order", async () => {
    const room = unique("backed-up");
    const [sender, quick] = await members(room, 2);
    const slow = await connected(last().url, unique("slow"));
    await ok(slow, "room:join", { room });
    const connection = serverSide(slow);
    const arrived: string[] = [];
    slow.on("room:message", (message) => arrived.push(message.text));
    (slow as unknown as LooseSocket).on("probe:test", (label) => arrived.push(String(label)));
    // The node's writes to the slow member's TCP socket stay in Node until uncorked, as they would
    // for a client that does not read.
    const tcp = connection.transport.socket!._socket!;
    tcp.cork();

    // Nothing waits in engine.io: the message goes straight to the TCP socket, where the
    // backpressure counts it.
    const firstSent = await converse(sender!, room, [quick!], 1, "first");
    expect(connection.writeBuffer).toHaveLength(0);
    expect(queuedBytes(connection)).toBeGreaterThan(0);
    // Two packets of the socket's own: ws's write of the first is not done, so engine.io keeps
    // its transport busy and queues the second; every message after them queues behind it.
    const held = last().app.io.of("/").sockets.get(slow.id!)! as unknown as {
      emit(event: string, label: string): void;
    };
    held.emit("probe:test", "probe 1");
    held.emit("probe:test", "probe 2");
    expect(connection.writeBuffer).toHaveLength(1);
    const restSent = await converse(sender!, room, [quick!], MESSAGES, "rest");
    expect(connection.writeBuffer).toHaveLength(1 + MESSAGES);
    expect(arrived).toEqual([]);

    const expected = [...firstSent, "probe 1", "probe 2", ...restSent];
    const all = within(
      new Promise<void>((resolve) => {
        slow.on("room:message", () => {
          if (arrived.length === expected.length) resolve();
        });
      }),
      "the slow member to get every message",
    );
    tcp.uncork();
    await all;
    expect(arrived).toEqual(expected);
  });

  it("writes a burst of messages to a member in one tick together, in order", async () => {
    const room = unique("burst");
    const [member] = await members(room, 1);
    const connection = serverSide(member!);
    const tcp = connection.transport.socket!._socket! as unknown as { write(chunk: Buffer): boolean };
    const received = texts(member!, room);
    const held = nodes.find(({ app }) => app.io.of("/").sockets.has(member!.id!))!.app.io;
    // Three broadcasts in one tick, as when several arrive from Redis in one read.
    const writes: number[] = [];
    const write = tcp.write.bind(tcp);
    tcp.write = (chunk: Buffer) => {
      writes.push((tcp as unknown as { writableCorked: number }).writableCorked);
      return write(chunk);
    };
    const burst = ["burst #0", "burst #1", "burst #2"];
    const all = within(
      new Promise<void>((resolve) => {
        member!.on("room:message", () => {
          if (received().length === burst.length) resolve();
        });
      }),
      "the burst",
    );
    for (const text of burst) {
      held.to(roomChannel(room)).local.emit("room:message", { id: text, room, from: "burst", text, ts: 0, prev: "" });
    }
    await all;
    tcp.write = write;
    expect(received()).toEqual(burst);
    // The first goes out at once; the second corks the socket, so the rest wait for the tick's end.
    expect(writes).toEqual([0, 1, 1]);
  });

  it("leaves out the sockets a broadcast excepts, and members of other rooms", async () => {
    const room = unique("typing");
    const other = unique("other");
    const user = unique("typist");
    const typist = await connected(first().url, user);
    const typistElsewhere = await connected(last().url, user);
    const [reader] = await members(room, 1);
    const [outsider] = await members(other, 1);
    for (const socket of [typist, typistElsewhere]) await ok(socket, "room:join", { room });
    const typingSeen = [typist, typistElsewhere].map((socket) => record(socket, "room:typing"));
    const outsiderSeen = record(outsider!, "room:message");

    // A typing notice goes to the room except its user's own sockets.
    const noticed = next(reader!, "room:typing", (typing) => typing.room === room && typing.user === user);
    await ok(typist, "typing", { room, typing: true });
    await noticed;
    // The reader's message, sent after the notice, reaches the typist's sockets after it would have.
    await converse(reader!, room, [typist, typistElsewhere], 1);
    expect(typingSeen.map((seen) => seen.length)).toEqual([0, 0]);

    // The outsider's own room's message arrives after the room's, which it must not have had.
    await converse(outsider!, other, [outsider!], 1);
    expect(outsiderSeen.map((message) => message.room)).toEqual([other]);
  });

  it("sends a packet with binary attachments through engine.io's queue, in order with the rest", async () => {
    const room = unique("binary");
    const [sender, member] = await members(room, 2);
    const arrived: string[] = [];
    const loose = member as unknown as LooseSocket;
    loose.on("binary:test", (payload) => arrived.push(`binary ${Buffer.from(payload as ArrayBuffer).toString("hex")}`));
    member!.on("room:message", (message) => arrived.push(message.text));
    const queued = [queuedPackets(member!, "binary:test"), queuedPackets(member!, "room:message")];
    const server = first().app.io as unknown as {
      to(room: string): { emit(event: string, ...args: unknown[]): boolean };
    };

    server.to(roomChannel(room)).emit("binary:test", Buffer.from([1, 2, 3]));
    const sent = await converse(sender!, room, [member!], 2);

    expect(arrived).toEqual(["binary 010203", ...sent]);
    const [binaryQueued, messagesQueued] = queued.map((count) => count());
    expect(binaryQueued).toBe(1);
    // The first message may reach the member's node while the attachment still waits in engine.io's
    // queue (on a busy machine both come in one read from Redis): then it waits behind it, as it
    // must. The next one, sent once the first has arrived, finds the queue empty and goes direct.
    expect(messagesQueued).toBeLessThanOrEqual(1);
  });

  it("counts every packet written to a client once in the frames-delivered count", async () => {
    const room = unique("counted");
    const sockets = [...(await members(room, 3)), ...(await members(room, 1, { transports: ["polling"] }))];
    const [sender] = sockets;
    // Whatever the joins sent is delivered (and counted) once this message has reached everyone.
    await converse(sender!, room, sockets, 1);
    let received = 0;
    for (const socket of sockets) {
      socket.io.engine.on("packet", (packet) => {
        if (packet.type === "message") received += 1;
      });
    }
    const before = await framesDelivered(nodes);

    await converse(sender!, room, sockets);

    // Each message to every member, and the sender's acks.
    expect(received).toBe(MESSAGES * sockets.length + MESSAGES);
    expect((await framesDelivered(nodes)) - before).toBe(received);
  });
});

/** roomcast_frames_delivered_total summed over `nodes`, from their /metrics. */
async function framesDelivered(nodes: Node[]): Promise<number> {
  let total = 0;
  for (const { url } of nodes) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = /^roomcast_frames_delivered_total (\d+)$/m.exec(text);
    if (!line) throw new Error(`no roomcast_frames_delivered_total at ${url}/metrics`);
    total += Number(line[1]);
  }
  return total;
}
