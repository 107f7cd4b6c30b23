/**
 * The SDK against the real embedded server: no fakes. Waits are for events, with deadlines.
 * Dropped connections are made by closing the client's engine socket; reconnects are held back by
 * the `io` option (the next socket is created with `autoConnect: false` and connected when the
 * test says so), so that what the test sends meanwhile must come through the resume.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { io } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChatClient, ChatError, type ChatClientOptions } from "../client/sdk/index.js";
import type { ChatSocket, SocketFactory } from "../client/sdk/transport.js";
import type { ChatMessage } from "../protocol/index.js";
import { within } from "./support/clients.js";
import { nextEvent } from "./support/sdk-events.js";
import { embedded, type Deployment } from "./support/deployment.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
let counter = 0;
const unique = (base: string) => `${base}-${process.pid}-${++counter}`;

const clients: ChatClient[] = [];

/** An SDK client of `deployment`, closed after the test. */
function sdk(deployment: Deployment, user: string, options: Partial<ChatClientOptions> = {}): ChatClient {
  const client = new ChatClient({ urls: deployment.urls, user, backoff: { initialMs: 10, maxMs: 100 }, ...options });
  clients.push(client);
  return client;
}

async function connectedClient(deployment: Deployment, user: string, options?: Partial<ChatClientOptions>) {
  const client = sdk(deployment, user, options);
  await within(client.connect(), `${user} to connect`);
  return client;
}

/** Every room message `client` delivers, in delivery order. */
function messagesOf(client: ChatClient): ChatMessage[] {
  const seen: ChatMessage[] = [];
  client.on("message", (message) => seen.push(message));
  return seen;
}

/**
 * An `io` factory that records the sockets it opens and holds every one after the first until
 * `release()`: the client stays disconnected as long as the test needs.
 */
function heldReconnects() {
  const sockets: ChatSocket[] = [];
  let opened: () => void = () => {};
  let next = new Promise<void>((resolve) => (opened = resolve));
  const factory: SocketFactory = (url, options) => {
    const socket: ChatSocket = io(url, { ...options, autoConnect: sockets.length === 0 });
    sockets.push(socket);
    opened();
    next = new Promise<void>((resolve) => (opened = resolve));
    return socket;
  };
  return {
    factory,
    /** Drops the current connection at the transport (as a crashed node or network would). */
    drop: () => sockets[sockets.length - 1]!.io.engine.close(),
    /** Connects the next socket once the client has asked for it. */
    async release() {
      if (sockets.length < 2 || sockets[sockets.length - 1]!.connected) await within(next, "the client to reconnect");
      sockets[sockets.length - 1]!.connect();
    },
    sockets,
  };
}

/**
 * alice (with held reconnects) and bob, both in a fresh room. `drop()` cuts alice's connection
 * and resolves once she knows.
 */
async function aliceAndBob(deployment: Deployment) {
  const room = unique("room");
  const held = heldReconnects();
  const alice = await connectedClient(deployment, unique("alice"), { io: held.factory });
  const bob = await connectedClient(deployment, unique("bob"));
  await alice.join(room);
  await bob.join(room);
  const drop = async () => {
    const reconnecting = nextEvent(alice, "state", (state) => state === "reconnecting");
    held.drop();
    await reconnecting;
  };
  return { room, held, alice, bob, drop };
}

/** Starts an embedded node with `env` for the enclosing describe; returns its getter. */
function deploy(env: Record<string, string>): () => Deployment {
  let deployment: Deployment | undefined;
  beforeAll(async () => {
    deployment = await embedded({ env });
  });
  afterAll(() => deployment?.close());
  return () => deployment!;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

describe("ChatClient against the embedded server", () => {
  const server = deploy({ MAX_MESSAGE_LENGTH: "100" });

  it("connects, joins, sends and receives, each message once and in order", async () => {
    const room = unique("room");
    const alice = await connectedClient(server(), "alice");
    const bob = await connectedClient(server(), "bob");
    expect(alice.state).toBe("connected");
    await alice.join(room);
    const joined = nextEvent(alice, "presence", (p) => p.user === "bob" && p.event === "join");
    const answer = await bob.join(room);
    expect(answer).toMatchObject({ room, recovered: true, history: [] });
    expect(answer.members).toEqual(["alice", "bob"]);
    await joined;
    expect(alice.members(room)).toEqual(["alice", "bob"]);

    const atAlice = messagesOf(alice);
    const atBob = messagesOf(bob);
    const last = nextEvent(bob, "message", (m) => m.text === "three");
    const sent = [await alice.send(room, "one"), await alice.send(room, "two"), await alice.send(room, "three")];
    await last;
    expect(atBob).toEqual(sent);
    expect(atAlice).toEqual(sent);
    expect(sent.map((m) => m.prev)).toEqual(["", sent[0]!.id, sent[1]!.id]);
    expect(alice.pending).toEqual([]);

    // A late joiner gets the history as events too, and through history().
    const carol = await connectedClient(server(), "carol");
    const atCarol = messagesOf(carol);
    const { history } = await carol.join(room);
    expect(history).toEqual(sent);
    expect(atCarol).toEqual(sent);
    expect(await carol.history(room, { before: sent[2]!.id, limit: 1 })).toEqual([sent[1]]);
    expect(await carol.rooms()).toContainEqual({ room, members: 3 });
  });

  it("sends a DM, delivered once to each side", async () => {
    const alice = await connectedClient(server(), unique("alice"));
    const bob = await connectedClient(server(), unique("bob"));
    const dmsOfAlice: string[] = [];
    alice.on("dm", (dm) => dmsOfAlice.push(dm.text));
    const received = nextEvent(bob, "dm", (dm) => dm.text === "psst");
    const { message, online } = await alice.dm(bob.user, "psst");
    expect(online).toBe(true);
    expect(await received).toEqual(message);
    // A second DM orders after the first at alice, once each.
    const second = nextEvent(alice, "dm", (dm) => dm.text === "again");
    await alice.dm(bob.user, "again");
    await second;
    expect(dmsOfAlice).toEqual(["psst", "again"]);
  });

  it("resumes after a dropped connection: the missed messages arrive once, in order", async () => {
    const { room, held, alice, bob, drop } = await aliceAndBob(server());
    const atAlice = messagesOf(alice);
    const before = nextEvent(alice, "message", (m) => m.text === "before");
    await bob.send(room, "before");
    await before;

    await drop();
    const missed: ChatMessage[] = [];
    for (let i = 0; i < 5; i++) missed.push(await bob.send(room, `missed ${i}`));

    const back = nextEvent(alice, "message", (m) => m.id === missed[4]!.id);
    await held.release();
    await back;
    expect(held.sockets).toHaveLength(2);
    // A barrier: anything duplicated by the resume would have come before it.
    const after = nextEvent(alice, "message", (m) => m.text === "after");
    await bob.send(room, "after");
    await after;
    expect(atAlice.map((m) => m.text)).toEqual(["before", ...missed.map((m) => m.text), "after"]);
  });

  it("resumes a room joined while it was empty, past the 50 a plain join returns", async () => {
    const { room, held, alice, bob, drop } = await aliceAndBob(server());
    const atAlice = messagesOf(alice);
    const resets: string[] = [];
    alice.on("reset", ({ room: name }) => resets.push(name));

    await drop();
    const texts = Array.from({ length: 60 }, (_, i) => `m${i}`);
    for (const text of texts) await bob.send(room, text);
    const all = nextEvent(alice, "message", (m) => m.text === "m59");
    await held.release();
    await all;
    expect(atAlice.map((m) => m.text)).toEqual(texts);
    expect(resets).toEqual([]);
  });

  it("retries a send whose ack was lost: one message, in the log and at every receiver", async () => {
    const { room, held, alice, bob } = await aliceAndBob(server());
    const atBob = messagesOf(bob);
    const atAlice = messagesOf(alice);
    // On one node the broadcast reaches alice's socket just before the ack: the server has stored
    // the message; cut the connection right there, so that the ack is lost.
    let stored: ChatMessage | undefined;
    held.sockets[0]!.on("room:message", (m) => {
      if (m.text !== "once") return;
      stored = m;
      held.drop();
    });
    let attempts = 0;
    alice.on("pending", (pending) => (attempts = Math.max(attempts, ...pending.map((entry) => entry.attempts))));
    const sending = alice.send(room, "once");
    await held.release();
    const message = await within(sending, "the send to be acked after the reconnect");
    expect(attempts).toBe(2);
    // The retry was answered with the message stored the first time.
    expect(message).toEqual(stored);
    const barrier = nextEvent(bob, "message", (m) => m.text === "barrier");
    await alice.send(room, "barrier");
    await barrier;
    expect(atBob.map((m) => m.id)).toEqual([message.id, expect.any(String)]);
    expect(atAlice.map((m) => m.text)).toEqual(["once", "barrier"]);
    expect((await bob.history(room)).map((m) => m.text)).toEqual(["once", "barrier"]);
  });

  it("rejects with the code only when retrying cannot help", async () => {
    const room = unique("room");
    const alice = await connectedClient(server(), unique("alice"));
    await alice.join(room);
    const reported = nextEvent(alice, "error");
    const tooLong = await alice.send(room, "x".repeat(101)).catch((error: unknown) => error);
    expect(tooLong).toBeInstanceOf(ChatError);
    expect(tooLong).toMatchObject({ code: "too_long" });
    expect(await reported).toBe(tooLong);
    await expect(alice.send(unique("elsewhere"), "hi")).rejects.toMatchObject({ code: "not_joined" });
    await expect(alice.join("bad:name")).rejects.toMatchObject({ code: "bad_request" });
    // The outbox goes on after an entry it gave up.
    expect((await alice.send(room, "fine")).text).toBe("fine");
  });

  it("rejects connect() with unauthorized for a user the server refuses", async () => {
    const nobody = sdk(server(), "");
    const error = await within(nobody.connect(), "the refusal").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: "unauthorized" });
    expect(nobody.state).toBe("offline");
  });

  it("runs the example bot: it answers /echo and /who, and exits 0 on SIGINT", async () => {
    const room = unique("room");
    const bot = unique("echo-bot");
    const alice = await connectedClient(server(), unique("alice"));
    await alice.join(room);
    const botJoined = nextEvent(alice, "presence", (p) => p.user === bot && p.event === "join");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "client/cli/bot.ts", "--url", server().urls[0]!, "--room", room, "--user", bot],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await botJoined;
      // The bot answers once it has joined: its presence comes before the join's answer.
      await within(
        new Promise<void>((resolve) => {
          const check = () => output.includes(`joined ${room}`) && resolve();
          child.stdout.on("data", check);
          check();
        }),
        "the bot to log its join",
      );
      const echoed = nextEvent(alice, "message", (m) => m.from === bot);
      await alice.send(room, "/echo hello   there");
      expect((await echoed).text).toBe("hello   there");
      const who = nextEvent(alice, "message", (m) => m.from === bot);
      await alice.send(room, "/who");
      expect((await who).text).toBe(`in ${room}: ${[alice.user, bot].sort().join(", ")}`);

      const left = nextEvent(alice, "presence", (p) => p.user === bot && p.event === "leave");
      child.kill("SIGINT");
      expect(await within(exited, "the bot to exit")).toBe(0);
      await left;
      expect(output).toContain("state connected");
      expect(output).toContain("SIGINT");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("ChatClient in a room over PRESENCE_BATCH_ABOVE members", () => {
  const server = deploy({ PRESENCE_BATCH_ABOVE: "1", PRESENCE_BATCH_MS: "50" });

  it("hands out each join and leave of a batch as a presence event, and keeps the member list", async () => {
    const room = unique("room");
    const alice = await connectedClient(server(), unique("alice"));
    const bob = await connectedClient(server(), unique("bob"));
    const carol = await connectedClient(server(), unique("carol"));
    await alice.join(room);
    const seen: string[] = [];
    alice.on("presence", (p) => seen.push(`${p.event} ${p.user} ${p.members}`));
    const bothJoined = nextEvent(alice, "presence", (p) => p.user === carol.user);
    await bob.join(room);
    await carol.join(room);
    await bothJoined;
    expect(seen).toEqual([`join ${bob.user} 2`, `join ${carol.user} 3`]);
    expect(alice.members(room)).toEqual([alice.user, bob.user, carol.user].sort());

    const left = nextEvent(alice, "presence", (p) => p.event === "leave");
    await bob.leave(room);
    expect(await left).toEqual({ room, user: bob.user, event: "leave", members: 2 });
    expect(alice.members(room)).toEqual([alice.user, carol.user].sort());
  });
});

describe("ChatClient when the history window was exceeded", () => {
  const server = deploy({ HISTORY_SIZE: "5" });

  it("emits reset, then delivers what the log still holds, in order", async () => {
    const { room, held, alice, bob, drop } = await aliceAndBob(server());
    const seen: string[] = [];
    alice.on("message", (m) => seen.push(m.text));
    alice.on("reset", () => seen.push("(reset)"));
    const first = nextEvent(alice, "message", (m) => m.text === "m0");
    await bob.send(room, "m0");
    await first;

    await drop();
    for (let i = 1; i <= 10; i++) await bob.send(room, `m${i}`);
    const reset = nextEvent(alice, "reset");
    const last = nextEvent(alice, "message", (m) => m.text === "m10");
    await held.release();
    expect(await reset).toEqual({ room });
    await last;
    expect(seen).toEqual(["m0", "(reset)", "m6", "m7", "m8", "m9", "m10"]);
  });
});
