/**
 * REDIS_CLUSTER=1 with a single REDIS_URL: the nodes are given one master of a 3-master Redis
 * Cluster as their only seed, and find the rest. The room is chosen so that its keys and its
 * sharded channel live on the OTHER masters, which a plain client of the seed could not reach.
 */
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ChatMessage } from "../protocol/index.js";
import { closeAllClients, connected, next, ok } from "./support/clients.js";
import { startNode } from "./support/deployment.js";
import { startRedisCluster } from "./support/redis-cluster.js";
import { uniquePrefix } from "./support/redis-server.js";

type Client = ReturnType<typeof createClient>;

/** Slot ranges of the cluster, each with the port of the master that owns it. */
async function slotOwners(seed: Client): Promise<{ from: number; to: number; port: number }[]> {
  const ranges = (await seed.sendCommand(["CLUSTER", "SLOTS"])) as [number, number, [string, number, ...unknown[]]][];
  return ranges.map(([from, to, [, port]]) => ({ from, to, port: Number(port) }));
}

describe("REDIS_CLUSTER=1 with one seed URL", () => {
  let cluster: { urls: string[]; stop(): Promise<void> };
  let seed: Client;
  const nodes: { url: string; close(): Promise<void> }[] = [];
  const prefix = uniquePrefix();
  let room = "";
  let logOwner = 0;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    const seedUrl = cluster.urls[0]!;
    seed = createClient({ url: seedUrl });
    await seed.connect();
    const seedPort = Number(new URL(seedUrl).port);
    const owners = await slotOwners(seed);
    const ownerOf = async (key: string) => {
      const slot = Number(await seed.sendCommand(["CLUSTER", "KEYSLOT", key]));
      return owners.find((range) => range.from <= slot && slot <= range.to)!.port;
    };
    // A room whose presence keys, history stream and sharded channel are all away from the seed.
    for (let index = 0; room === ""; index += 1) {
      const candidate = `far-${index}`;
      const places = await Promise.all([
        ownerOf(`${prefix}:{r:${candidate}}:users`),
        ownerOf(`${prefix}:{h:room:${candidate}}:log`),
        ownerOf(`${prefix}:io#/#r:${candidate}#`),
      ]);
      if (places.every((port) => port !== seedPort)) {
        room = candidate;
        logOwner = places[1]!;
      }
    }
    for (const index of [0, 1]) {
      const env = { REDIS_URL: seedUrl, REDIS_CLUSTER: "1", REDIS_PREFIX: prefix, NODE_ID: `node-${index}` };
      nodes.push(await startNode(env));
    }
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    await seed?.close();
    await cluster?.stop();
  });

  it("two nodes given only that seed chat across, with the room's data on another master", async () => {
    const alice = await connected(nodes[0]!.url, "alice");
    const bob = await connected(nodes[1]!.url, "bob");
    await ok(alice, "room:join", { room });
    const bobJoined = next(alice, "room:presence", (event) => event.user === "bob" && event.event === "join");
    expect((await ok(bob, "room:join", { room })).members).toEqual(["alice", "bob"]);
    await bobJoined;

    const atBob = next(bob, "room:message", (message) => message.text === "over the cluster");
    const sent = (await ok(alice, "room:send", { room, text: "over the cluster" })).message as ChatMessage;
    expect(await atBob).toEqual(sent);

    const dmAtAlice = next(alice, "dm:message", (message) => message.text === "and back");
    expect(await ok(bob, "dm:send", { to: "alice", text: "and back" })).toMatchObject({ online: true });
    await dmAtAlice;

    expect((await ok(bob, "room:history", { room })).messages).toEqual([sent]);
    expect((await ok(alice, "rooms:list", {})).rooms).toContainEqual({ room, members: 2 });

    // The stream is where the cluster says it belongs, not on the seed.
    const owner = createClient({ url: `redis://127.0.0.1:${logOwner}` });
    await owner.connect();
    try {
      expect(await owner.xLen(`${prefix}:{h:room:${room}}:log`)).toBe(1);
    } finally {
      await owner.close();
    }
  });
});
