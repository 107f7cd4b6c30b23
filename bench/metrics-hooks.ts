/**
 * Which hook counts the frames written to clients more cheaply (issue 13)? engine.io emits
 * "packetCreate" on a connection for every packet, and "flush" on the server for every batch it
 * writes to a connection (one packet, or several when they queued while a write was under way).
 * With no listener either emit costs next to nothing; this measures what a listener adds, per
 * packet, on engine.io's own EventEmitter objects, for batches of 1 (evenly spaced traffic) and 10
 * (bursts).
 *
 *   npx tsx bench/metrics-hooks.ts
 */
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";

const CONNECTIONS = 500;
const PACKETS = 5_000_000;
const ROUNDS = 9;

interface Packet {
  type: string;
  data: string;
}

type Hook = "none" | "packetCreate per connection" | "flush on the server";

/** Nanoseconds per packet for `PACKETS` packets in batches of `batch`, spread over the connections. */
function run(hook: Hook, batch: number): number {
  const server = new EventEmitter();
  const connections = Array.from({ length: CONNECTIONS }, () => new EventEmitter());
  let counted = 0;
  if (hook === "packetCreate per connection") {
    for (const connection of connections) {
      connection.on("packetCreate", (packet: Packet) => {
        if (packet.type === "message") counted += 1;
      });
    }
  } else if (hook === "flush on the server") {
    server.on("flush", (_connection: unknown, packets: readonly Packet[]) => {
      for (let index = 0; index < packets.length; index += 1) if (packets[index]!.type === "message") counted += 1;
    });
  }
  const start = performance.now();
  for (let sent = 0; sent < PACKETS; sent += batch) {
    const connection = connections[(sent / batch) % CONNECTIONS]!;
    const buffer: Packet[] = [];
    for (let k = 0; k < batch; k += 1) {
      // What engine.io's Socket.sendPacket does for each packet, then flush() for the batch.
      const packet = { type: "message", data: '2["room:message",{}]' };
      connection.emit("packetCreate", packet);
      buffer.push(packet);
    }
    connection.emit("flush", buffer);
    server.emit("flush", connection, buffer);
  }
  const elapsed = performance.now() - start;
  if (hook !== "none" && counted !== PACKETS) throw new Error(`${hook} counted ${counted} of ${PACKETS}`);
  return (elapsed * 1e6) / PACKETS;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const hooks: Hook[] = ["none", "packetCreate per connection", "flush on the server"];
// Every path once before measuring, so that none is measured while V8 still optimizes it.
for (const batch of [1, 10]) for (const hook of hooks) run(hook, batch);
for (const batch of [1, 10]) {
  const times = new Map<Hook, number[]>(hooks.map((hook) => [hook, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    // Rotated, so that a drift of the machine weighs on every hook alike.
    for (let k = 0; k < hooks.length; k += 1) {
      const hook = hooks[(round + k) % hooks.length]!;
      times.get(hook)!.push(run(hook, batch));
    }
  }
  const base = median(times.get("none")!);
  for (const hook of hooks) {
    const ns = median(times.get(hook)!);
    const added = hook === "none" ? "" : `, +${(ns - base).toFixed(1)} ns/packet for the hook`;
    process.stdout.write(`batches of ${batch}: ${hook}: ${ns.toFixed(1)} ns/packet${added}\n`);
  }
}
