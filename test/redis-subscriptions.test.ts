import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../server/app.js";
import { roomChannel } from "../server/chat/rooms.js";
import { loadConfig } from "../server/config.js";
import { closeAllClients, connected, ok, type TestSocket } from "./support/clients.js";
import { TEST_ENV } from "./support/deployment.js";
import { RedisServer, uniquePrefix } from "./support/redis-server.js";

/** Socket.IO room of a chatroom; "lobby" is far from the 20-character case. */
const LOBBY_CHANNEL = roomChannel("lobby");

describe("room subscriptions on a node", () => {
  let redis: RedisServer;
  let app: FastifyInstance;
  let url: string;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    redis = await RedisServer.start();
    app = await buildApp(loadConfig({ ...TEST_ENV, REDIS_URL: redis.url, REDIS_PREFIX: prefix, NODE_ID: "n1" }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterEach(() => closeAllClients());
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it("keeps a flat number of listeners for a held room while other sockets join and leave it 10,000 times", async () => {
    const holder = await connected(url, "holder");
    await ok(holder, "room:join", { room: "lobby" });
    // The adapter's listener, and the one shared listener that waits for a subscription.
    const held = app.stores.subscriptionListeners(LOBBY_CHANNEL);
    expect(held).toBe(2);

    const churners: TestSocket[] = [];
    for (let index = 0; index < 10; index += 1) churners.push(await connected(url, `churner-${index}`));
    const rounds = 1000;
    await Promise.all(
      churners.map(async (socket) => {
        for (let round = 0; round < rounds; round += 1) {
          await ok(socket, "room:join", { room: "lobby" });
          await ok(socket, "room:leave", { room: "lobby" });
        }
      }),
    );

    expect(app.stores.subscriptionListeners(LOBBY_CHANNEL)).toBe(held);
    // The holder still gets the room's traffic, through that one listener.
    const heard = new Promise<string>((resolve) => holder.once("room:message", (message) => resolve(message.text)));
    await ok(churners[0]!, "room:join", { room: "lobby" });
    await ok(churners[0]!, "room:send", { room: "lobby", text: "still one listener" });
    expect(await heard).toBe("still one listener");
  });

  it("a socket that joins while the room's unsubscription is in flight still gets the room's traffic", async () => {
    const other = await buildApp(
      loadConfig({ ...TEST_ENV, REDIS_URL: redis.url, REDIS_PREFIX: prefix, NODE_ID: "n2" }),
    );
    try {
      await other.listen({ port: 0, host: "127.0.0.1" });
      const otherUrl = `http://127.0.0.1:${(other.server.address() as AddressInfo).port}`;
      const [first, second] = [await connected(url, "first"), await connected(url, "second")];
      const speaker = await connected(otherUrl, "speaker");
      await ok(first, "room:join", { room: "relay" });
      await ok(speaker, "room:join", { room: "relay" });
      const onServer = (socket: TestSocket) => app.io.of("/").sockets.get(socket.id!)!;
      // In one tick: the room's last socket on this node leaves (SUNSUBSCRIBE goes out), and another
      // joins before Redis answers. Without waiting for the answer, the join's listener went with it.
      void onServer(first).leave(roomChannel("relay"));
      void onServer(second).join(roomChannel("relay"));
      await app.stores.subscribed(roomChannel("relay"));
      // A subscription to another room, queued behind both: once it is answered, so are they.
      await app.stores.subscribed(roomChannel("barrier"));
      expect(app.stores.subscriptionListeners(roomChannel("relay"))).toBeGreaterThan(0);
      const heard = new Promise<string>((resolve) => second.once("room:message", (message) => resolve(message.text)));
      await ok(speaker, "room:send", { room: "relay", text: "through Redis" });
      expect(await heard).toBe("through Redis");
    } finally {
      closeAllClients();
      await other.close();
    }
  });

  it("drops the room's listeners when the last socket on the node leaves it", async () => {
    const alone = await connected(url, "alone");
    await ok(alone, "room:join", { room: "quiet" });
    expect(app.stores.subscriptionListeners(roomChannel("quiet"))).toBeGreaterThan(0);
    await ok(alone, "room:leave", { room: "quiet" });
    await expect.poll(() => app.stores.subscriptionListeners(roomChannel("quiet"))).toBe(0);
  });
});
