/**
 * What an idle connection keeps is compacted once it is set up (server/plugins/compact-connections.ts),
 * and the connection works as before: it sends and receives, answers acks the server asks for
 * (held DMs), and its close frees everything it held. Heap figures are the bench's (scenario 4).
 */
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SmallMap } from "../server/plugins/small-map.js";
import { client, closeAllClients, connected, next, ok, within } from "./support/clients.js";
import { startApp } from "./support/deployment.js";
import { leave, newKey, unique } from "./support/identity.js";

/** The parts of a served connection the compaction touches. */
interface ServedParts {
  acks: unknown;
  client: { sockets: unknown; nsps: unknown };
  conn: {
    _events: object;
    transport: { name: string; listenerCount(event: string): number; _events: object };
  };
}

describe("compacted connections", () => {
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp({}));
  });
  afterEach(closeAllClients);
  afterAll(() => app?.close());

  /** The server's side of `user`'s one socket, once the compaction ran (it runs on the next turn of the loop). */
  async function servedSocketOf(user: string): Promise<ServedParts> {
    const find = () => [...app.io.of("/").sockets.values()].find((socket) => socket.data.user === user);
    return within(
      (async () => {
        for (;;) {
          const socket = find() as unknown as ServedParts | undefined;
          if (socket?.client.sockets instanceof SmallMap) return socket;
          await new Promise((resolve) => setImmediate(resolve));
        }
      })(),
      `${user}'s socket to be compacted`,
    );
  }

  it("keeps Socket.IO's tables in SmallMaps, its listener tables without a prototype, and no relay of headers", async () => {
    const user = unique("ann");
    const socket = await connected(url, user);
    await ok(socket, "room:join", { room: unique("room") });
    const served = await servedSocketOf(user);
    expect(served.acks).toBeInstanceOf(SmallMap);
    expect(served.client.nsps).toBeInstanceOf(SmallMap);
    expect(Object.getPrototypeOf(served.conn._events)).toBeNull();
    expect(Object.getPrototypeOf(served.conn.transport._events)).toBeNull();
    expect(served.conn.transport.name).toBe("websocket");
    expect(served.conn.transport.listenerCount("headers")).toBe(0);
  });

  it("still sends, receives, and answers the acks of held DMs after compaction; a close frees the socket", async () => {
    const [ann, bob, room] = [unique("ann"), unique("bob"), unique("room")];
    const annSocket = await connected(url, ann);
    await servedSocketOf(ann);
    // bob claimed his name with a key and went away: the DM is held, and handed over with an ack
    // when he comes back with the key; he acks it.
    const key = newKey();
    await leave(await connected(url, bob, { auth: { user: bob, key } }));
    await ok(annSocket, "dm:send", { to: bob, text: "while you were away" });
    const bobSocket = client(url, bob, { autoConnect: false, auth: { user: bob, key } });
    const held = new Promise<string>((resolve) =>
      bobSocket.on("dm:message", (dm, received) => {
        received?.();
        resolve(dm.text);
      }),
    );
    bobSocket.connect();
    expect(await within(held, "the held DM")).toBe("while you were away");
    await servedSocketOf(bob);

    await ok(annSocket, "room:join", { room });
    await ok(bobSocket, "room:join", { room });
    const heard = next(bobSocket, "room:message", (message) => message.text === "after compaction");
    await ok(annSocket, "room:send", { room, text: "after compaction" });
    expect((await heard).from).toBe(ann);

    // The ack released the held DM: bob's next connection gets only what is sent after it.
    await leave(bobSocket);
    const again = await connected(url, bob, { auth: { user: bob, key } });
    const first = next(again, "dm:message");
    await ok(annSocket, "dm:send", { to: bob, text: "live" });
    expect((await first).text).toBe("live");

    const count = () => app.io.of("/").sockets.size;
    const before = count();
    annSocket.disconnect();
    await within(
      (async () => {
        while (count() >= before) await new Promise((resolve) => setImmediate(resolve));
      })(),
      "ann's socket to close on the server",
    );
  });
});
