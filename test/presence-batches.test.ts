/**
 * Presence batches at a node's shutdown, on two in-process nodes sharing one Redis: a batch still
 * waiting when a node stops goes out before its adapter closes, and the seed bridge's joins and
 * leaves take the same way as Socket.IO's. (The protocol suite covers batches while nodes run.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { RoomPresenceBatch } from "../protocol/index.js";
import { closeAllClients, connected, next, ok, record, within, type TestSocket } from "./support/clients.js";
import { startNode } from "./support/deployment.js";
import { unique } from "./support/identity.js";
import { RedisServer, uniquePrefix } from "./support/redis-server.js";

/** Rooms of more than 2 members get batches, which only a full batch or a shutdown sends here. */
const ENV = { PRESENCE_BATCH_ABOVE: "2", PRESENCE_BATCH_MS: "60000" };

describe("presence batches when a node stops", () => {
  let redis: RedisServer;
  let env: Record<string, string>;
  let stayer: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    redis = await RedisServer.start();
    env = { ...ENV, REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix() };
    stayer = await startNode({ ...env, NODE_ID: "stayer" });
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await stayer.close();
    await redis.stop();
  });

  /** A room of two members on the node that stays, `olga` (who watches) and one more. */
  async function roomOfTwo(): Promise<{ room: string; olga: TestSocket }> {
    const room = unique("big");
    const olga = await connected(stayer.url, unique("olga"));
    const other = await connected(stayer.url, unique("a"));
    await ok(olga, "room:join", { room });
    const joined = next(olga, "room:presence", (presence) => presence.event === "join");
    await ok(other, "room:join", { room });
    await joined;
    return { room, olga };
  }

  it("sends the batch waiting on a stopping node, with its sockets' leaves after their joins", async () => {
    const { room, olga } = await roomOfTwo();
    const singly = record(olga, "room:presence");
    const leaver = await startNode({ ...env, NODE_ID: unique("leaver") });
    const user = unique("b");
    await ok(await connected(leaver.url, user), "room:join", { room });

    const batch = next(olga, "room:presence:batch", (batch) => batch.room === room);
    await leaver.close();
    expect(await batch).toEqual({
      room,
      events: [
        { user, event: "join", members: 3 },
        { user, event: "leave", members: 2 },
      ],
    } satisfies RoomPresenceBatch);
    expect(singly).toEqual([]);
  });

  it("batches the seed bridge's joins and leaves as Socket.IO's", async () => {
    const { room, olga } = await roomOfTwo();
    const singly = record(olga, "room:presence");
    const leaver = await startNode({ ...env, NODE_ID: unique("leaver") });
    const user = unique("seed");
    const seed = new WebSocket(
      `${leaver.url.replace(/^http/, "ws")}/websocket/${encodeURIComponent(room)}/${encodeURIComponent(user)}`,
    );
    seed.on("error", () => {}); // The stopping node closes it.
    // The demo's greeting comes once the bridge client is in the room.
    await within(new Promise((resolve) => seed.once("message", resolve)), "the seed client's greeting");

    const batch = next(olga, "room:presence:batch", (batch) => batch.room === room);
    await leaver.close();
    expect((await batch).events).toEqual([
      { user, event: "join", members: 3 },
      { user, event: "leave", members: 2 },
    ]);
    expect(singly).toEqual([]);
  });
});
