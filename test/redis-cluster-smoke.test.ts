import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeAllClients, connected, next, ok } from "./support/clients.js";
import type { Deployment } from "./support/deployment.js";
import { onRedisCluster } from "./support/redis-cluster.js";

describe("smoke on Redis Cluster", () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await onRedisCluster(3)();
  });
  afterEach(closeAllClients);
  afterAll(() => deployment.close());
  it("chats across nodes", async () => {
    const [a, b, c] = deployment.urls;
    const alice = await connected(a!, "alice");
    const bob = await connected(b!, "bob");
    const carol = await connected(c!, "carol");
    for (const room of ["one", "two", "three", "four"]) {
      await ok(alice, "room:join", { room });
      await ok(bob, "room:join", { room });
      const got = next(bob, "room:message", (m) => m.room === room);
      const sent = await ok(alice, "room:send", { room, text: `hello ${room}` });
      expect((await got).id).toBe(sent.message.id);
    }
    const dm = next(carol, "dm:message");
    await ok(alice, "dm:send", { to: "carol", text: "hey" });
    expect((await dm).text).toBe("hey");
    expect((await ok(carol, "rooms:list", {})).rooms.length).toBe(4);
  });
});
