/**
 * The HTTP API (/api/v1) against two node processes on one Redis: posting to rooms and users
 * from either node reaches sockets on the other, idempotency, history, rooms, members, users,
 * nodes, kicks and notices (and the old /admin routes beside them). Every answer is checked
 * against the published OpenAPI document.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type ChatMessage, type DirectMessage, type Notice } from "../protocol/index.js";
import { API_TOKENS, API_TOKENS_ENV, ApiContract, apiOf, pathOf, type ApiCall } from "./support/api.js";
import { client, closeAllClients, connected, DEADLINE_MS, next, within, type TestSocket } from "./support/clients.js";
import { TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { leave, newKey } from "./support/identity.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { disconnected, failure, inbox, join, joinAll, names } from "./protocol/helpers.js";

const publish = { token: API_TOKENS.publish };
const read = { token: API_TOKENS.read };

describe("the HTTP API on two nodes", () => {
  let cluster: ProcessCluster;
  /** The API of node 0 and of node 1. */
  let api: [ApiCall, ApiCall];

  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2, env: { API_TOKENS: API_TOKENS_ENV } });
    const contract = await ApiContract.load(cluster.urls[0]!);
    api = [apiOf(cluster.urls[0]!, contract), apiOf(cluster.urls[1]!, contract)];
  });
  afterAll(() => cluster?.close());
  afterEach(() => closeAllClients());

  const socketOn = (node: number, user: string, key?: string): Promise<TestSocket> =>
    connected(cluster.urls[node]!, user, key === undefined ? {} : { auth: { user, key } });

  /** Posts `text` to `room` as `from` through node `node`'s API. */
  const post = (node: number, room: string, body: object, headers?: Record<string, string>) =>
    api[node]!("POST", `${pathOf("rooms", room)}/messages`, { ...publish, body, ...(headers ? { headers } : {}) });

  it("a message posted to node 0 reaches members on node 1 and node 0, as a socket's would", async () => {
    const [room, bob, carol, billing] = names("invoices", "bob", "carol", "billing");
    const [bobSocket, carolSocket] = [await socketOn(1, bob), await socketOn(0, carol)];
    await joinAll(room, [bobSocket, carolSocket]);
    const arrived = Promise.all([bobSocket, carolSocket].map((socket) => next(socket, "room:message")));

    const answer = await post(0, room, { from: billing, text: "your invoice is ready" });
    expect(answer.status).toBe(201);
    const message = answer.body.message as ChatMessage;
    expect(message).toEqual({
      id: expect.stringMatching(/^\d{13}-\d{6}$/),
      room,
      from: billing,
      text: "your invoice is ready",
      ts: expect.any(Number),
      prev: "",
    });
    expect(await arrived).toEqual([message, message]);

    // Read back from either node, with a read token.
    for (const node of [0, 1]) {
      const history = await api[node]!("GET", `${pathOf("rooms", room)}/messages`, read);
      expect(history).toMatchObject({ status: 200, body: { ok: true, messages: [message] } });
    }
  });

  it("clientId makes a post idempotent, on any node: a repeat answers 200 with the first message and sends nothing", async () => {
    const [room, bob, bot] = names("retries", "bob", "bot");
    const bobSocket = await socketOn(1, bob);
    await join(bobSocket, room);
    const seen = inbox(bobSocket);

    const first = await post(0, room, { from: bot, text: "once", clientId: "order-17" });
    expect(first.status).toBe(201);
    const again = await post(1, room, { from: bot, text: "once", clientId: "order-17" });
    expect(again).toMatchObject({ status: 200, body: { ok: true, message: first.body.message } });

    const last = await post(0, room, { from: bot, text: "after" });
    await expect.poll(() => seen.messages.length, { timeout: DEADLINE_MS }).toBe(2);
    expect(seen.messages).toEqual([first.body.message, last.body.message]);
  });

  it("the Idempotency-Key header works like clientId, and must agree with it when both are given", async () => {
    const [room, bot] = names("keys", "bot");
    const first = await post(0, room, { from: bot, text: "paid" }, { "idempotency-key": "payment-9" });
    expect(first.status).toBe(201);
    const byHeader = await post(1, room, { from: bot, text: "paid" }, { "idempotency-key": "payment-9" });
    expect(byHeader).toMatchObject({ status: 200, body: { message: first.body.message } });
    const byBody = await post(0, room, { from: bot, text: "paid", clientId: "payment-9" });
    expect(byBody).toMatchObject({ status: 200, body: { message: first.body.message } });
    const both = await post(
      1,
      room,
      { from: bot, text: "paid", clientId: "payment-9" },
      { "idempotency-key": "payment-9" },
    );
    expect(both).toMatchObject({ status: 200, body: { message: first.body.message } });

    const differ = await post(0, room, { from: bot, text: "paid", clientId: "a" }, { "idempotency-key": "b" });
    expect(differ).toEqual({ status: 400, headers: expect.anything(), body: failure(ErrorCode.BadRequest) });
    const history = await api[1]("GET", `${pathOf("rooms", room)}/messages`, read);
    expect(history.body.messages).toEqual([first.body.message]);
  });

  it("pages the history back with before and limit", async () => {
    const [room, bot] = names("pages", "bot");
    const sent: ChatMessage[] = [];
    for (let k = 0; k < 5; k++)
      sent.push((await post(k % 2, room, { from: bot, text: `m${k}` })).body.message as ChatMessage);
    expect(sent.map((message) => message.prev)).toEqual(["", ...sent.slice(0, -1).map((message) => message.id)]);

    const path = `${pathOf("rooms", room)}/messages`;
    const newest = await api[0]("GET", `${path}?limit=2`, read);
    expect(newest.body.messages).toEqual(sent.slice(3));
    const older = await api[1]("GET", `${path}?limit=2&before=${sent[3]!.id}`, read);
    expect(older.body.messages).toEqual(sent.slice(1, 3));
    const all = await api[0]("GET", path, read);
    expect(all.body.messages).toEqual(sent);
    const none = await api[1]("GET", `${pathOf("rooms", names("empty")[0])}/messages`, read);
    expect(none.body).toEqual({ ok: true, messages: [] });
  });

  it("a DM reaches an online user on the other node, and waits for a proven user who is offline", async () => {
    const [alice, billing] = names("alice", "billing");
    const key = newKey();
    const dm = (node: number, text: string) =>
      api[node]!("POST", `${pathOf("users", alice)}/messages`, { ...publish, body: { from: billing, text } });

    const aliceSocket = await socketOn(1, alice, key);
    const live = next(aliceSocket, "dm:message");
    const online = await dm(0, "live one");
    expect(online).toMatchObject({ status: 201, body: { ok: true, online: true } });
    expect(online.body.held).toBeUndefined();
    const sent = online.body.message as DirectMessage;
    // The answer is the sender's copy: "billing" is nobody's name, so it keeps no DM feed.
    expect(sent).toMatchObject({ from: billing, to: alice, text: "live one" });
    expect(sent.feedId).toBeUndefined();
    expect(await live).toMatchObject({
      id: sent.id,
      from: billing,
      to: alice,
      text: "live one",
      feedId: expect.any(String),
    });

    await leave(aliceSocket);
    await expect
      .poll(async () => (await api[0]("GET", pathOf("users", alice), read)).body.online, { timeout: DEADLINE_MS })
      .toBe(false);
    const offline = await dm(0, "while you were out");
    expect(offline).toMatchObject({ status: 201, body: { ok: true, online: false, held: true } });

    // Back on the other node: the held DM comes first thing, with an ack to release it. The
    // listener is there before the socket connects, so that it cannot miss it.
    const socket = client(cluster.urls[0]!, alice, { auth: { user: alice, key } });
    const held = await within(
      new Promise<DirectMessage>((resolve) => {
        socket.on("dm:message", (message, received) => {
          if (message.text !== "while you were out") return;
          received?.();
          resolve(message);
        });
      }),
      "the held DM",
    );
    expect(held).toMatchObject({ from: billing, to: alice, text: "while you were out" });
  });

  it("a DM sent as a name nobody claimed stays out of that name's feed, for whoever claims it later", async () => {
    const [alice, helpdesk] = names("alice", "helpdesk");
    const sent = await api[0]!("POST", `${pathOf("users", alice)}/messages`, {
      ...publish,
      body: { from: helpdesk, text: "ticket 7 is closed" },
    });
    expect(sent.status).toBe(201);
    // A later claim of the name gets only what comes after it.
    const claimer = await socketOn(1, helpdesk, newKey());
    const feed = await within(claimer.timeout(DEADLINE_MS).emitWithAck("dm:sync", {}), "dm:sync");
    expect(feed).toEqual({ ok: true, messages: [], recovered: true });
  });

  it("lists the rooms with members, page by page, and a room's members, cluster-wide", async () => {
    const [first, second, alice, bob] = names("list-a", "list-b", "alice", "bob");
    const [aliceSocket, bobSocket] = [await socketOn(0, alice), await socketOn(1, bob)];
    await joinAll(first, [aliceSocket, bobSocket]);
    await join(bobSocket, second);

    // Other tests' rooms are listed too: page through all of them, one at a time.
    const listed = new Map<string, number>();
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const query = cursor === undefined ? "?limit=1" : `?limit=1&cursor=${encodeURIComponent(cursor)}`;
      const answer = await api[page % 2]!("GET", `/rooms${query}`, read);
      expect(answer.status).toBe(200);
      for (const { room, members } of answer.body.rooms as { room: string; members: number }[])
        listed.set(room, members);
      cursor = answer.body.nextCursor as string | undefined;
      if (cursor === undefined) break;
    }
    expect(listed.get(first)).toBe(2);
    expect(listed.get(second)).toBe(1);

    const members = await api[1]("GET", `${pathOf("rooms", first)}/members`, read);
    expect(members.body).toEqual({ ok: true, members: [alice, bob].sort(), count: 2 });
    const one = await api[0]("GET", `${pathOf("rooms", first)}/members?limit=1`, read);
    expect(one.body).toEqual({ ok: true, members: [expect.any(String)], count: 2 });
    const empty = await api[0]("GET", `${pathOf("rooms", names("nobody")[0])}/members`, read);
    expect(empty.body).toEqual({ ok: true, members: [], count: 0 });
  });

  it("says where a user is: online, on which nodes, and in which rooms", async () => {
    const [alice, here, there, nowhere] = names("alice", "room-here", "room-there", "nowhere");
    const onZero = await socketOn(0, alice);
    const onOne = await socketOn(1, alice);
    await join(onZero, here);
    await join(onOne, there);

    for (const node of [0, 1]) {
      const answer = await api[node]!("GET", pathOf("users", alice), read);
      expect(answer.body).toEqual({
        ok: true,
        user: alice,
        online: true,
        nodes: ["node-0", "node-1"],
        rooms: [here, there].sort(),
      });
    }
    const absent = await api[1]("GET", pathOf("users", nowhere), read);
    expect(absent.body).toEqual({ ok: true, user: nowhere, online: false, nodes: [], rooms: [] });
  });

  it("lists the live nodes with their counts", async () => {
    const answer = await api[1]("GET", "/nodes", read);
    expect(answer.status).toBe(200);
    const nodes = answer.body.nodes as { node: string }[];
    expect(nodes.map((node) => node.node).sort()).toEqual(["node-0", "node-1"]);
  });

  it("kicks a user off every node, through /api/v1 and still through /admin", async () => {
    for (const through of ["api", "admin"] as const) {
      const [alice, bob] = names("alice", "bob");
      const aliceSockets = [await socketOn(0, alice), await socketOn(1, alice)];
      const bobSocket = await socketOn(1, bob);
      const reasons = Promise.all(aliceSockets.map(disconnected));
      if (through === "api") {
        const answer = await api[0]("POST", `${pathOf("users", alice)}/kick`);
        expect(answer.body).toEqual({ ok: true, user: alice, nodes: expect.arrayContaining(["node-0", "node-1"]) });
      } else {
        const response = await fetch(`${cluster.urls[0]}/admin/users/${encodeURIComponent(alice)}/kick`, {
          method: "POST",
          headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
        });
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ ok: true, user: alice });
      }
      expect(await reasons).toEqual(["io server disconnect", "io server disconnect"]);
      expect(bobSocket.connected).toBe(true);
    }
  });

  it("posts notices to a room and to everyone, through /api/v1 and still through /admin", async () => {
    const [room, alice, bob] = names("notices", "alice", "bob");
    const [aliceSocket, bobSocket] = [await socketOn(0, alice), await socketOn(1, bob)];
    await join(aliceSocket, room);

    const toRoom = next(aliceSocket, "notice");
    const answer = await api[1]("POST", "/notices", { body: { text: "maintenance at noon", room } });
    expect(answer.body).toEqual({ ok: true, notice: { text: "maintenance at noon", room, ts: expect.any(Number) } });
    expect(await toRoom).toEqual(answer.body.notice);

    const everyone = [aliceSocket, bobSocket].map((socket) => next(socket, "notice", (notice: Notice) => !notice.room));
    const response = await fetch(`${cluster.urls[0]}/admin/notices`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "to all" }),
    });
    expect(response.status).toBe(200);
    const notice = ((await response.json()) as { notice: Notice }).notice;
    expect(await Promise.all(everyone)).toEqual([notice, notice]);
  });

  it("answers an unknown path under /api/v1 with not_found, after the token check", async () => {
    const known = await api[0]("GET", "/no-such-thing", { unchecked: true });
    expect(known).toMatchObject({ status: 404, body: failure(ErrorCode.NotFound) });
    const anonymous = await api[1]("GET", "/no-such-thing", { token: null, unchecked: true });
    expect(anonymous).toMatchObject({ status: 401, body: failure(ErrorCode.Unauthorized) });
  });
});
