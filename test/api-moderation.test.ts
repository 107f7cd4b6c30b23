/**
 * Moderation through the HTTP API on two node processes: a ban made on one node disconnects the
 * user everywhere, refuses their handshakes on the other node (with the reason and the end) and
 * ends by itself, or when lifted; a mute refuses sends to one room on either node while the user
 * still reads it; a deleted message is a tombstone in history and resume, and members are told.
 * Every answer is checked against the OpenAPI document.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type ChatMessage, type ErrorBody } from "../protocol/index.js";
import { API_TOKENS, API_TOKENS_ENV, ApiContract, apiOf, pathOf, type ApiCall } from "./support/api.js";
import { client, closeAllClients, connected, next, ok, request, within } from "./support/clients.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { disconnected, failure, join, joinAll, names } from "./protocol/helpers.js";

/** How long a test waits for a short ban or mute to end by itself. */
const LAPSE_DEADLINE_MS = 20_000;

describe("moderation through the HTTP API on two nodes", () => {
  let cluster: ProcessCluster;
  let api: ApiCall[];

  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2, env: { API_TOKENS: API_TOKENS_ENV } });
    const contract = await ApiContract.load(cluster.urls[0]!);
    api = cluster.urls.map((url) => apiOf(url, contract));
  });
  afterAll(() => cluster?.close());
  afterEach(() => closeAllClients());

  /** Tries to connect `user` to node `node`: the refusal's data, or "connected". */
  function attempt(node: number, user: string): Promise<ErrorBody | "connected"> {
    const socket = client(cluster.urls[node]!, user);
    return within(
      new Promise((resolve) => {
        socket.once("connect", () => {
          socket.disconnect();
          resolve("connected");
        });
        socket.once("connect_error", (error: Error & { data?: ErrorBody }) => resolve(error.data!));
      }),
      `${user} to connect or be refused`,
    );
  }

  const post = (node: number, room: string, from: string, text: string) =>
    api[node]!("POST", `${pathOf("rooms", room)}/messages`, { token: API_TOKENS.publish, body: { from, text } });

  it("a ban made on node 0 disconnects the user on both nodes, refuses them on node 1, and ends by itself", async () => {
    const [alice, bob] = names("alice", "bob");
    const aliceSockets = [await connected(cluster.urls[0]!, alice), await connected(cluster.urls[1]!, alice)];
    const bobSocket = await connected(cluster.urls[1]!, bob);
    const gone = Promise.all(aliceSockets.map(disconnected));

    const before = Date.now();
    const banned = await api[0]!("PUT", pathOf("bans", alice), { body: { seconds: 2, reason: "spamming links" } });
    const after = Date.now();
    expect(banned.status).toBe(200);
    const ban = banned.body.ban as { user: string; until: number; reason: string };
    expect(ban).toEqual({ user: alice, until: expect.any(Number), reason: "spamming links" });
    expect(ban.until).toBeGreaterThanOrEqual(before + 2000);
    expect(ban.until).toBeLessThanOrEqual(after + 2000);
    expect(await gone).toEqual(["io server disconnect", "io server disconnect"]);
    expect(bobSocket.connected).toBe(true);

    // Node 1 refuses the handshake with the reason and the end, and knows the ban.
    const refusal = await attempt(1, alice);
    expect(refusal).toEqual({
      code: ErrorCode.Forbidden,
      message: expect.stringContaining("spamming links"),
      until: ban.until,
    });
    expect((refusal as ErrorBody).message).toContain(new Date(ban.until).toISOString());
    expect((await api[1]!("GET", pathOf("bans", alice))).body).toEqual({ ok: true, ban });
    // Nor may a backend speak for a banned user.
    const spoken = await post(1, names("room")[0], alice, "through the API");
    expect(spoken).toMatchObject({ status: 403, body: { error: { code: ErrorCode.Forbidden, until: ban.until } } });

    // It lapses by itself: the handshake is admitted again, and the ban is gone.
    await expect.poll(() => attempt(1, alice), { timeout: LAPSE_DEADLINE_MS, interval: 200 }).toBe("connected");
    expect(await api[0]!("GET", pathOf("bans", alice))).toMatchObject({
      status: 404,
      body: failure(ErrorCode.NotFound),
    });
  });

  it("lifting a ban on one node admits the user on the other at once; lifting it again is not_found", async () => {
    const [carol] = names("carol");
    expect(
      (await api[1]!("PUT", pathOf("bans", carol), { body: { seconds: 3600, reason: "cooling off" } })).status,
    ).toBe(200);
    expect(await attempt(0, carol)).toMatchObject({ code: ErrorCode.Forbidden });

    expect((await api[0]!("DELETE", pathOf("bans", carol))).body).toEqual({ ok: true });
    expect(await attempt(1, carol)).toBe("connected");
    expect(await api[1]!("DELETE", pathOf("bans", carol))).toMatchObject({
      status: 404,
      body: failure(ErrorCode.NotFound),
    });
    expect(await api[1]!("GET", pathOf("bans", carol))).toMatchObject({
      status: 404,
      body: failure(ErrorCode.NotFound),
    });
  });

  it("a mute refuses room:send on either node with forbidden, while the user still reads the room; lifting it lets them speak", async () => {
    const [room, other, dave, erin] = names("muted-room", "other-room", "dave", "erin");
    const daveSockets = [await connected(cluster.urls[0]!, dave), await connected(cluster.urls[1]!, dave)];
    const erinSocket = await connected(cluster.urls[0]!, erin);
    await joinAll(room, [...daveSockets, erinSocket]);
    await join(daveSockets[0]!, other);

    const muted = await api[1]!("PUT", `${pathOf("rooms", room)}/mutes${pathOf(dave)}`, { body: { seconds: 3600 } });
    expect(muted.body).toEqual({ ok: true, mute: { room, user: dave, until: expect.any(Number) } });
    const { until } = muted.body.mute as { until: number };

    for (const socket of daveSockets) {
      const refused = await request(socket, "room:send", { room, text: "let me talk" });
      expect(refused).toEqual({
        ok: false,
        error: { code: ErrorCode.Forbidden, message: expect.stringContaining(room), until },
      });
    }
    // The API's sends as them are refused too; their other rooms are not muted.
    expect(await post(0, room, dave, "via the API")).toMatchObject({
      status: 403,
      body: { error: { code: ErrorCode.Forbidden, until } },
    });
    await ok(daveSockets[0]!, "room:send", { room: other, text: "elsewhere" });

    // They still read: live messages and history.
    const heard = daveSockets.map((socket) => next(socket, "room:message", (message) => message.text === "from erin"));
    await ok(erinSocket, "room:send", { room, text: "from erin" });
    expect((await Promise.all(heard)).map((message) => message.from)).toEqual([erin, erin]);
    const history = await ok(daveSockets[1]!, "room:history", { room });
    expect(history.messages.map((message) => message.text)).toEqual(["from erin"]);
    expect((await api[0]!("GET", `${pathOf("rooms", room)}/mutes${pathOf(dave)}`)).body).toEqual({
      ok: true,
      mute: { room, user: dave, until },
    });

    expect((await api[0]!("DELETE", `${pathOf("rooms", room)}/mutes${pathOf(dave)}`)).body).toEqual({ ok: true });
    await ok(daveSockets[1]!, "room:send", { room, text: "thanks" });
    const again = await api[1]!("DELETE", `${pathOf("rooms", room)}/mutes${pathOf(dave)}`);
    expect(again).toMatchObject({ status: 404, body: failure(ErrorCode.NotFound) });
  });

  it("a short mute ends by itself", async () => {
    const [room, frank] = names("brief", "frank");
    const socket = await connected(cluster.urls[1]!, frank);
    await join(socket, room);
    await api[0]!("PUT", `${pathOf("rooms", room)}/mutes${pathOf(frank)}`, { body: { seconds: 1 } });
    expect(await request(socket, "room:send", { room, text: "now?" })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.Forbidden },
    });
    await expect
      .poll(async () => (await request(socket, "room:send", { room, text: "now?" })).ok, {
        timeout: LAPSE_DEADLINE_MS,
        interval: 200,
      })
      .toBe(true);
  });

  it("deleting a message leaves a tombstone in history and resume, and tells the members on both nodes", async () => {
    const [room, gina, hal, bot] = names("tombs", "gina", "hal", "bot");
    const [ginaSocket, halSocket] = [await connected(cluster.urls[0]!, gina), await connected(cluster.urls[1]!, hal)];
    await joinAll(room, [ginaSocket, halSocket]);
    const sent: ChatMessage[] = [];
    for (const text of ["first", "rude", "last"])
      sent.push((await post(sent.length % 2, room, bot, text)).body.message as ChatMessage);
    const [first, rude, last] = sent as [ChatMessage, ChatMessage, ChatMessage];

    const told = [ginaSocket, halSocket].map((socket) => next(socket, "room:message:deleted"));
    const deleted = await api[1]!("DELETE", `${pathOf("rooms", room)}/messages/${rude.id}`);
    expect(deleted).toMatchObject({ status: 200, body: { ok: true } });
    expect(await Promise.all(told)).toEqual([
      { room, id: rude.id },
      { room, id: rude.id },
    ]);

    const tombstone = { ...rude, text: "", deleted: true };
    for (const node of [0, 1]) {
      const history = await api[node]!("GET", `${pathOf("rooms", room)}/messages`, { token: API_TOKENS.read });
      expect(history.body.messages).toEqual([first, tombstone, last]);
    }
    // The chain stays whole: the next message still points at the deleted one.
    expect(last.prev).toBe(rude.id);
    const resumed = await ok(halSocket, "room:join", { room, since: first.id });
    expect(resumed.history).toEqual([tombstone, last]);

    const missing = await api[0]!("DELETE", `${pathOf("rooms", room)}/messages/1767225600000-000001`);
    expect(missing).toMatchObject({ status: 404, body: failure(ErrorCode.NotFound) });
    const elsewhere = await api[0]!("DELETE", `${pathOf("rooms", names("other")[0])}/messages/${last.id}`);
    expect(elsewhere).toMatchObject({ status: 404, body: failure(ErrorCode.NotFound) });
  });

  it("moderation needs the admin scope", async () => {
    const [user] = names("someone");
    for (const token of [API_TOKENS.publish, API_TOKENS.read]) {
      const answer = await api[0]!("PUT", pathOf("bans", user), { token, body: { seconds: 60, reason: "x" } });
      expect(answer).toMatchObject({ status: 403, body: failure(ErrorCode.Forbidden) });
    }
    expect(await attempt(1, user)).toBe("connected");
  });
});
