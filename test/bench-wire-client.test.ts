/**
 * The bench's lean Socket.IO client (bench/load/socket-io-wire.ts) against a real roomcast node and
 * a stock Socket.IO server: it is heard and hears like socket.io-client, gets the same acks and
 * the same handshake refusals, answers pings, and reports a close the server made.
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { Server, type Socket as ServedSocket } from "socket.io";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectWire, type WireSocket } from "../bench/load/socket-io-wire.js";
import { client, closeAllClients, connected, next, ok, within } from "./support/clients.js";
import { startApp } from "./support/deployment.js";
import { unique } from "./support/identity.js";

/** A wire client whose events and close are waited on like a test socket's. */
interface Wired {
  socket: WireSocket;
  closed: Promise<string>;
  /** Resolves with the first event named `name`. */
  nextEvent(name: string): Promise<unknown[]>;
}

const wired: WireSocket[] = [];

async function wire(url: string, auth: Record<string, unknown>): Promise<Wired> {
  const waiters: Array<{ name: string; resolve(args: unknown[]): void }> = [];
  let closedWith!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => (closedWith = resolve));
  const socket = await connectWire({
    url,
    auth,
    timeoutMs: 5_000,
    onEvent(event, args) {
      for (const waiter of waiters.splice(0)) {
        if (waiter.name === event) waiter.resolve(args);
        else waiters.push(waiter);
      }
    },
    onClose: (reason) => closedWith(reason),
  });
  wired.push(socket);
  return {
    socket,
    closed,
    nextEvent: (name) =>
      within(new Promise<unknown[]>((resolve) => waiters.push({ name, resolve })), `${name} on the wire client`),
  };
}

/** Emits with an ack and resolves with the ack's arguments. */
const acked = (socket: WireSocket, event: string, payload: unknown) =>
  within(
    new Promise<unknown[]>((resolve) => socket.emit(event, [payload], (...reply) => resolve(reply))),
    `the ack of ${event}`,
  );

afterEach(() => {
  closeAllClients();
  for (const socket of wired.splice(0)) socket.close();
});

describe("the bench's wire client, against roomcast", () => {
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp({}));
  });
  afterAll(() => app?.close());

  it("joins and sends with acks, and hears and is heard by socket.io-client", async () => {
    const room = unique("room");
    const annName = unique("ann");
    const ann = await wire(url, { user: annName });
    const bob = await connected(url, unique("bob"));
    await ok(bob, "room:join", { room });

    const [joined] = await acked(ann.socket, "room:join", { room });
    expect(joined).toMatchObject({ ok: true });

    const heardByBob = next(bob, "room:message", (message) => message.text === "from the wire");
    const [sent] = await acked(ann.socket, "room:send", { room, text: "from the wire" });
    expect(sent).toMatchObject({ ok: true });
    expect((await heardByBob).from).toBe(annName);

    const heardByAnn = ann.nextEvent("room:message");
    await ok(bob, "room:send", { room, text: "from socket.io-client" });
    const [message] = await heardByAnn;
    expect(message).toMatchObject({ room, text: "from socket.io-client" });
  });

  it("matches acks to their emits past one digit of ack id", async () => {
    const room = unique("room");
    const ann = await wire(url, { user: unique("ann") });
    await acked(ann.socket, "room:join", { room });
    const texts = Array.from({ length: 25 }, (_, index) => `message ${index}`);
    const answers = await Promise.all(texts.map((text) => acked(ann.socket, "room:send", { room, text })));
    expect(answers.every(([answer]) => (answer as { ok?: unknown }).ok === true)).toBe(true);
    const history = await acked(ann.socket, "room:history", { room, limit: 50 });
    const stored = ((history[0] as { messages?: Array<{ text: string }> }).messages ?? []).map((entry) => entry.text);
    expect(stored).toEqual(expect.arrayContaining(texts));
  });

  it("is refused a handshake with the message and data socket.io-client gets", async () => {
    const auth = { user: "" };
    const expected = await within(
      new Promise<{ message: string; data: unknown }>((resolve) =>
        client(url, undefined, { auth }).once("connect_error", (error) =>
          resolve({ message: error.message, data: (error as Error & { data?: unknown }).data }),
        ),
      ),
      "socket.io-client's connect_error",
    );
    expect(expected.data).toMatchObject({ code: expect.any(String) });
    const refusal = await connectWire({ url, auth, timeoutMs: 5_000, onEvent() {}, onClose() {} }).then(
      () => undefined,
      (error: unknown) => error as { name: string; message: string; data: unknown },
    );
    expect(refusal).toMatchObject({ name: "WireConnectError", message: expected.message, data: expected.data });
  });
});

describe("the bench's wire client, against stock Socket.IO", () => {
  let http: HttpServer;
  let io: Server;
  let url: string;

  beforeAll(async () => {
    http = createServer();
    // Pings every 50 ms, so that a few go by within one test.
    io = new Server(http, { pingInterval: 50, pingTimeout: 1_000, transports: ["websocket"] });
    io.on("connection", (socket) => {
      socket.on("echo", (payload: unknown, answer?: (reply: unknown) => void) => answer?.({ echoed: payload }));
      socket.on("bye", () => socket.disconnect(true));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await io?.close();
  });

  /** The server's side of the newest connection. */
  const newestServed = (): ServedSocket => [...io.of("/").sockets.values()].at(-1)!;

  it("hands over its auth, answers pings, and gets acks", async () => {
    const ann = await wire(url, { user: "ann", extra: [1, 2] });
    const served = newestServed();
    expect(served.handshake.auth).toEqual({ user: "ann", extra: [1, 2] });

    let pongs = 0;
    await within(
      new Promise<void>((resolve) =>
        served.conn.on("packet", (packet: { type: string }) => {
          if (packet.type === "pong" && ++pongs === 3) resolve();
        }),
      ),
      "three pongs",
    );
    expect(ann.socket.connected).toBe(true);

    const [reply] = await acked(ann.socket, "echo", { text: 'quotes " and \\ and ü' });
    expect(reply).toEqual({ echoed: { text: 'quotes " and \\ and ü' } });
  });

  it("hears events with several arguments, and reports the server's close", async () => {
    const ann = await wire(url, { user: "ann" });
    const heard = ann.nextEvent("news");
    newestServed().emit("news", { a: 1 }, "two", 3);
    expect(await heard).toEqual([{ a: 1 }, "two", 3]);

    ann.socket.emit("bye", []);
    expect(await within(ann.closed, "the close")).toMatch(/^closed /);
    expect(ann.socket.connected).toBe(false);
  });
});
