/**
 * How big is one `/metrics` scrape (issue 13)? Starts a Redis and two roomcast nodes from dist/ (as
 * the bench's roomcast target does), connects a few hundred sockets in a few dozen rooms, has each
 * room talk a little, then scrapes each node and reports the bytes (plain and gzipped, as Prometheus
 * asks for it) and how long the scrape took.
 *
 *   npm run build && npx tsx bench/metrics-scrape.ts [--sockets 400] [--rooms 40]
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import type { Socket } from "socket.io-client";
import { within } from "../server/dev/deadline.js";
import { stopAll, stopChildrenOnExit } from "./processes.js";
import { startRedis } from "./redis.js";
import { connectMembers } from "./load/members.js";
import { roomcast } from "./targets/roomcast.js";

const { values } = parseArgs({
  options: { sockets: { type: "string", default: "400" }, rooms: { type: "string", default: "40" } },
});
const sockets = Number(values.sockets);
const rooms = Number(values.rooms);
if (!(sockets > 0 && rooms > 0 && rooms <= sockets))
  throw new Error("--sockets and --rooms must be positive, rooms <= sockets");

/** Emits with an ack and resolves with the answer. */
const ask = (socket: Socket, event: string, payload: unknown) =>
  within(socket.timeout(10_000).emitWithAck(event, payload) as Promise<{ ok: boolean }>, `the ack of ${event}`);

stopChildrenOnExit();
const redis = await startRedis();
const clients: Socket[] = [];
try {
  const target = await roomcast().start({
    nodes: 2,
    redisUrls: [redis.url, redis.url],
    redisPrefix: redis.prefix,
    nodeFlags: [],
    env: {},
  });
  const urls = target.nodes.map((node) => node.url);
  await connectMembers(urls, sockets, rooms, clients);
  // Every room talks, and one socket of each sends a DM and gets a bad_request, so that the
  // labelled families have their usual spread of series.
  for (let room = 0; room < rooms; room += 1) {
    const sender = clients[room]!;
    await ask(sender, "room:send", { room: `room-${room}`, text: "hello" });
    await ask(sender, "dm:send", { to: `user-${(room + 1) % sockets}`, text: "hi" });
    await ask(sender, "room:join", { room: "" });
  }
  process.stdout.write(`${sockets} sockets in ${rooms} rooms on ${urls.length} nodes\n`);
  for (const url of urls) {
    const start = performance.now();
    const text = await (await fetch(`${url}/metrics`)).text();
    const ms = performance.now() - start;
    const lines = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
    const roomcastLines = lines.filter((line) => line.startsWith("roomcast_"));
    process.stdout.write(
      `${url}/metrics: ${text.length} bytes (${gzipSync(text).length} gzipped), ${lines.length} samples ` +
        `(${roomcastLines.length} roomcast_), answered in ${ms.toFixed(1)} ms\n`,
    );
  }
  await target.stop();
} finally {
  for (const socket of clients) socket.disconnect();
  await redis.stop();
  await stopAll();
}
