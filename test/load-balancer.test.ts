/**
 * roomcast behind a real load balancer (Debian's nginx) in front of two node processes: WebSocket
 * clients need no affinity, long-polling clients need it (ip_hash), per-address limits see the
 * address nginx forwards, and a node's SIGTERM moves its clients to the other node through nginx
 * without losing an acknowledged message.
 */
import { Agent, request as httpRequest } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChatClient } from "../client/sdk/index.js";
import type { ChatMessage } from "../protocol/index.js";
import { PUBLIC_DIR, pageTestbed } from "./support/browser.js";
import { client, closeAllClients, connected, DEADLINE_MS, next, ok, within } from "./support/clients.js";
import { TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { Nginx } from "./support/nginx.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { whenHolds } from "./support/sdk-events.js";

/** Failed admin sign-ins an address may make per minute: the per-address limit checked below. */
const ADMIN_FAILURES = 2;
/** Bounds the messages sent across a node's stop and restart (about 1,500 on a quiet machine). */
const MAX_SENDS = 5000;
/** Sending and re-delivering across a node's restart, on a busy machine. */
const STREAM_DEADLINE_MS = 60_000;

interface Balanced {
  cluster: ProcessCluster;
  /** Each request to the next node, no affinity. */
  roundRobin: Nginx;
  /** Every request of a client address to the same node. */
  ipHash: Nginx;
  close(): Promise<void>;
}

/** Two node processes (serving the page) on a Redis of their own, behind two nginx. */
async function deploy(): Promise<Balanced> {
  const cluster = await startProcessCluster({
    nodes: 2,
    env: {
      PUBLIC_DIR,
      // nginx is the only proxy: its X-Forwarded-For names the client.
      TRUST_PROXY: "127.0.0.1",
      ADMIN_FAILURES_PER_MINUTE: String(ADMIN_FAILURES),
    },
  });
  const started: Nginx[] = [];
  const close = async () => {
    await Promise.all(started.map((nginx) => nginx.stop()));
    await cluster.close();
  };
  try {
    started.push(await Nginx.start({ upstreams: cluster.urls }));
    started.push(await Nginx.start({ upstreams: cluster.urls, balancing: "ip_hash" }));
  } catch (error) {
    await close();
    throw error;
  }
  return { cluster, roundRobin: started[0]!, ipHash: started[1]!, close };
}

/** The sockets each live node holds, by NODE_ID, as `/admin/nodes` reports them. */
async function socketsByNode(cluster: ProcessCluster): Promise<Record<string, number>> {
  const url = cluster.nodes.find((node) => node.running)!.url;
  const response = await fetch(`${url}/admin/nodes`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  const body = (await response.json()) as { nodes: { node: string; sockets: number }[] };
  return Object.fromEntries(body.nodes.map(({ node, sockets }) => [node, sockets]));
}

/** Waits until the nodes hold exactly these socket counts (each node's count is a heartbeat old). */
async function expectSockets(cluster: ProcessCluster, expected: Record<string, number>): Promise<void> {
  await expect.poll(() => socketsByNode(cluster), { timeout: DEADLINE_MS }).toEqual(expected);
}

/** Makes HTTP connections from `address` (any of 127.0.0.0/8 is this machine). */
const agents: Agent[] = [];
function from(address: string): Agent {
  const agent = new Agent({ localAddress: address });
  agents.push(agent);
  return agent;
}

/** GET /admin/nodes through `url`, from `address`, with a wrong token; resolves with the status. */
function failedAdminSignIn(url: string, address: string, headers: Record<string, string> = {}): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `${url}/admin/nodes`,
        { localAddress: address, agent: false, headers: { authorization: "Bearer not-the-token", ...headers } },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.once("error", reject);
      request.end();
    }),
    `an admin request from ${address}`,
  );
}

const sdkClients: ChatClient[] = [];

/** An SDK client that knows only the load balancer, WebSocket only, with its room messages. */
async function member(url: string, user: string, room: string) {
  const chat = new ChatClient({
    urls: [url],
    user,
    // The SDK's default, spelled out: one upgrade request per connection, so no affinity needed.
    socketOptions: { transports: ["websocket"] },
    backoff: { initialMs: 20, maxMs: 250 },
  });
  sdkClients.push(chat);
  const messages: ChatMessage[] = [];
  chat.on("message", (message) => {
    if (message.room === room) messages.push(message);
  });
  await within(chat.connect(), `${user} to connect through ${url}`);
  await chat.join(room);
  return { chat, messages };
}

/** Resolves once `messages` holds `count` entries or more (checked on every delivery). */
function received(chat: ChatClient, messages: ChatMessage[], count: number, ms = STREAM_DEADLINE_MS): Promise<void> {
  const what = `${chat.user} to receive ${count} messages (has ${messages.length})`;
  return whenHolds(chat, "message", () => messages.length >= count, what, ms);
}

describe("behind nginx", () => {
  const bed = pageTestbed(deploy);
  let rooms = 0;
  const uniqueRoom = () => `balanced-${++rooms}`;

  afterEach(async () => {
    closeAllClients();
    await Promise.all(sdkClients.splice(0).map((chat) => chat.close()));
    for (const agent of agents.splice(0)) agent.destroy();
  });

  it("round-robin: WebSocket SDK clients land on both nodes and chat across them", async () => {
    const { cluster, roundRobin } = bed.deployment;
    const room = uniqueRoom();
    const users = ["ada", "ben", "cy", "dee"];
    const members = [];
    // One after the other: each connection is one request, and round-robin alternates them.
    for (const user of users) members.push(await member(roundRobin.url, user, room));
    await expectSockets(cluster, { "node-0": 2, "node-1": 2 });

    for (const [index, { chat }] of members.entries()) await chat.send(room, `from ${users[index]}`);
    for (const { chat, messages } of members) {
      await received(chat, messages, users.length);
      expect(messages.map((message) => message.text)).toEqual(users.map((user) => `from ${user}`));
    }
  });

  it("round-robin: the page served through nginx chats with clients on either node", async () => {
    const { cluster, roundRobin } = bed.deployment;
    const room = uniqueRoom();
    const north = await member(roundRobin.url, "north", room);
    const south = await member(roundRobin.url, "south", room);
    await expectSockets(cluster, { "node-0": 1, "node-1": 1 });

    // The page, its files and its socket all come through nginx, to whichever node is next:
    // one of the two peers is on the other node.
    const page = await bed.open(roundRobin.url);
    await page.signIn("pia");
    await page.join(room);
    const counts = async () => Object.values(await socketsByNode(cluster)).sort((a, b) => a - b);
    await expect.poll(counts, { timeout: DEADLINE_MS }).toEqual([1, 2]);

    await page.send("hello from the page");
    for (const peer of [north, south]) {
      await received(peer.chat, peer.messages, 1);
      expect(peer.messages.map((message) => message.text)).toEqual(["hello from the page"]);
    }
    await north.chat.send(room, "north here");
    await south.chat.send(room, "south here");
    await page.waitForMessage("north here");
    await page.waitForMessage("south here");
    expect(await page.timeline.locator("li.message .text").allTextContents()).toEqual([
      "hello from the page",
      "north here",
      "south here",
    ]);
  });

  it("round-robin breaks a long-polling session: its next request reaches a node that never saw it", async () => {
    const { roundRobin } = bed.deployment;
    const socket = client(roundRobin.url, "drifter", { transports: ["polling"] });
    const refused = await within(
      new Promise<Error & { description?: unknown }>((resolve, reject) => {
        socket.once("connect_error", resolve);
        socket.once("connect", () => reject(new Error("the polling session survived round-robin")));
      }),
      "the polling session to fail",
    );
    // The handshake went to one node; the next request went to the other, which answers 400
    // ("Session ID unknown").
    expect(refused.message).toMatch(/^xhr (poll|post) error$/);
    expect(refused.description).toBe(400);
  });

  it("ip_hash: long-polling clients keep their session and chat across nodes", async () => {
    const { cluster, ipHash } = bed.deployment;
    const room = uniqueRoom();
    // nginx hashes the first three octets of the client's address: these two /24s go to
    // different nodes of the two.
    // engine.io-client hands `agent` to Node's http.request; its type only knows the browser's.
    const polling = (address: string) => ({ transports: ["polling"], agent: from(address) as unknown as string });
    const left = await connected(ipHash.url, "lefty", polling("127.0.0.1"));
    const right = await connected(ipHash.url, "righty", polling("127.0.1.1"));
    await expectSockets(cluster, { "node-0": 1, "node-1": 1 });
    await ok(left, "room:join", { room });
    await ok(right, "room:join", { room });

    // Each exchange is several requests of each session, every one sent to its own node.
    for (let round = 0; round < 5; round += 1) {
      const toRight = next(right, "room:message", (message) => message.text === `ping ${round}`);
      await ok(left, "room:send", { room, text: `ping ${round}` });
      await toRight;
      const toLeft = next(left, "room:message", (message) => message.text === `pong ${round}`);
      await ok(right, "room:send", { room, text: `pong ${round}` });
      await toLeft;
    }
    for (const socket of [left, right]) {
      expect(socket.connected).toBe(true);
      expect(socket.io.engine.transport.name).toBe("polling");
    }
  });

  it("per-address limits count the address nginx forwards (TRUST_PROXY), not nginx's own", async () => {
    const { roundRobin } = bed.deployment;
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= ADMIN_FAILURES; attempt += 1) {
      statuses.push(await failedAdminSignIn(roundRobin.url, "127.0.0.2"));
    }
    expect(statuses).toEqual([401, 401, 429]);
    // A claim the client makes itself is not believed: nginx appends the real address after it.
    expect(await failedAdminSignIn(roundRobin.url, "127.0.0.2", { "x-forwarded-for": "127.0.0.9" })).toBe(429);
    // Another client behind the same nginx has its own count.
    expect(await failedAdminSignIn(roundRobin.url, "127.0.0.3")).toBe(401);
  });

  it(
    "SIGTERM on a node: its clients reconnect through nginx to the other, and no acknowledged message is lost",
    async () => {
      const { cluster, roundRobin } = bed.deployment;
      const room = uniqueRoom();
      const writer = await member(roundRobin.url, "writer", room);
      // The node to stop is the writer's: its sends are in flight while it moves.
      const victim = await vi.waitFor(
        async () => {
          const held = Object.entries(await socketsByNode(cluster)).filter(([, sockets]) => sockets > 0);
          expect(held, "the writer's node").toEqual([[expect.any(String), 1]]);
          return Number(held[0]![0].replace("node-", ""));
        },
        { timeout: DEADLINE_MS, interval: 100 },
      );
      const survivor = `node-${1 - victim}`;
      const readers = [];
      for (const user of ["reader-a", "reader-b", "reader-c"]) readers.push(await member(roundRobin.url, user, room));
      await expectSockets(cluster, { "node-0": 2, "node-1": 2 });

      // The writer sends in batches until told to stop (or at the cap); `acked` counts the sends
      // that resolved.
      let acked = 0;
      let sending = true;
      const writing = (async () => {
        while (sending && acked < MAX_SENDS) {
          const batch = Array.from({ length: 5 }, (_, index) => writer.chat.send(room, String(acked + index)));
          await Promise.all(batch);
          acked += batch.length;
        }
      })();
      const [firstReader] = readers;
      await received(firstReader!.chat, firstReader!.messages, 20);

      expect(await cluster.kill(victim, "SIGTERM")).toBe(0);
      // Every client is back, through nginx, on the node that is left.
      await expectSockets(cluster, { [survivor]: 4 });
      await cluster.restart(victim);
      // A few more batches once the node is back, through the same nginx.
      await received(firstReader!.chat, firstReader!.messages, Math.min(acked + 20, MAX_SENDS));
      sending = false;
      await within(writing, "the writer's last batch", STREAM_DEADLINE_MS);

      const expected = Array.from({ length: acked }, (_, index) => String(index));
      for (const { chat, messages } of [...readers, writer]) {
        await received(chat, messages, acked);
        expect(messages.map((message) => message.text)).toEqual(expected);
        const ids = messages.map((message) => message.id);
        expect([...ids].sort()).toEqual(ids);
      }
    },
    2 * STREAM_DEADLINE_MS,
  );
});
