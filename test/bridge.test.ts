/**
 * The seed bridge (issue 16): the original Java demo's plain WebSocket protocol, served on the same
 * port as Socket.IO, as a full member of the chat across two nodes. Every client here is a plain
 * `ws` client speaking the demo's protocol; the Socket.IO side uses the real client.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { ChatMessage } from "../protocol/index.js";
import { seedDateFormatter } from "../server/bridge/seed-frames.js";
import { closeAllClients, connected, next, ok, record, within } from "./support/clients.js";
import { nodesOnOneRedis, TEST_ADMIN_TOKEN, type Deployment } from "./support/deployment.js";
import { newKey, unique } from "./support/identity.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { mintToken, TEST_JWT_SECRET, tokenFor } from "./support/tokens.js";

/** A frame of the demo's protocol: what everyone in the room receives for each message. */
interface SeedFrame {
  sender: string;
  msg: string;
  date: string;
}

/** The path of the demo's endpoint, names percent-encoded as its page did. */
const seedPath = (room: string, user: string, query = "") =>
  `/websocket/${encodeURIComponent(room)}/${encodeURIComponent(user)}${query}`;

const wsUrl = (url: string, path: string) => `${url.replace(/^http/, "ws")}${path}`;

/** A client of the original demo: a plain WebSocket that sends text and reads text frames. */
class SeedClient {
  readonly texts: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on("message", (data) => {
      this.texts.push(data.toString());
      for (const waiter of this.waiters) waiter();
    });
  }

  /** Opens `/websocket/{room}/{user}` and waits for the demo's greeting. */
  static async open(url: string, room: string, user: string, query = "", headers: Record<string, string> = {}) {
    const client = new SeedClient(new WebSocket(wsUrl(url, seedPath(room, user, query)), { headers }));
    opened.add(client);
    await client.waitForText((text) => text === "连接成功", `${user}'s greeting`);
    return client;
  }

  /** The demo's JSON frames received so far. */
  get frames(): SeedFrame[] {
    return this.texts.filter((text) => text.startsWith("{")).map((text) => JSON.parse(text) as SeedFrame);
  }

  waitForText(match: (text: string) => boolean, what: string): Promise<string> {
    let waiter!: () => void;
    const seen = new Promise<string>((resolve, reject) => {
      waiter = () => {
        const found = this.texts.find(match);
        if (found !== undefined) resolve(found);
      };
      this.waiters.add(waiter);
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      this.ws.once("error", reject);
      waiter();
    });
    return within(seen, what).finally(() => this.waiters.delete(waiter));
  }

  /** Resolves with the first JSON frame `match` accepts, received so far or later. */
  async frame(match: (frame: SeedFrame) => boolean, what: string): Promise<SeedFrame> {
    const text = await this.waitForText((text) => text.startsWith("{") && match(JSON.parse(text) as SeedFrame), what);
    return JSON.parse(text) as SeedFrame;
  }

  send(text: string | Buffer): void {
    this.ws.send(text);
  }

  async close(): Promise<void> {
    this.ws.close();
    await within(this.closed, "the bridge socket to close");
  }
}

const opened = new Set<SeedClient>();

/** Tries to open a bridge socket that must be refused before the upgrade: its status and reason. */
function refusedUpgrade(url: string, path: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(wsUrl(url, path), { headers });
  return within(
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.once("open", () => reject(new Error(`${path} opened but should be refused`)));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      });
      ws.once("error", () => undefined);
    }),
    `the refusal of ${path}`,
  );
}

afterEach(() => {
  closeAllClients();
  for (const client of opened) client.ws.terminate();
  opened.clear();
});

const SHANGHAI = "Asia/Shanghai";

describe("a bridge client and Socket.IO members, across two nodes", () => {
  let deployment: Deployment;
  const shanghaiDate = seedDateFormatter(SHANGHAI);
  beforeAll(async () => {
    deployment = await nodesOnOneRedis(2)({ env: { BRIDGE_TIME_ZONE: SHANGHAI, ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  });
  afterAll(async () => {
    await deployment.close();
  });

  it("chat both ways; the bridge user is a member with presence and history", async () => {
    const [bridgeNode, socketNode] = deployment.urls as [string, string];
    const room = unique("房间");
    const alice = await connected(socketNode, unique("alice"));
    const aliceName = (alice.auth as { user: string }).user;
    await ok(alice, "room:join", { room });

    // 张三 connects with the names percent-encoded, as the demo's page does.
    const zhang = "张三";
    const joined = next(alice, "room:presence", (event) => event.user === zhang);
    const bridge = await SeedClient.open(bridgeNode, room, zhang);
    expect(await joined).toEqual({ room, user: zhang, event: "join", members: 2 });

    // Bridge → everyone, the sender included, with the demo's date in BRIDGE_TIME_ZONE.
    const arrived = next(alice, "room:message", (message) => message.from === zhang);
    bridge.send("你好 <b>世界</b>");
    const message = await arrived;
    expect(message).toMatchObject({ room, from: zhang, text: "你好 <b>世界</b>" });
    expect(message.id).toMatch(/^\d{13}-\d{6}$/);
    const echo = await bridge.frame((frame) => frame.sender === zhang, "the bridge's own message");
    expect(echo).toEqual({ sender: zhang, msg: "你好 &lt;b&gt;世界&lt;/b&gt;", date: shanghaiDate(message.ts) });
    expect(echo.date).toMatch(/^\d{2}月\d{2}日 \d{2}:\d{2}:\d{2}$/);

    // Socket.IO → bridge, escaped for the demo's innerHTML (&, <, >, ", ').
    const sent = await ok(alice, "room:send", { room, text: `<img src=x onerror="alert('x')"> & more` });
    const frame = await bridge.frame((frame) => frame.sender === aliceName, "alice's message on the bridge");
    expect(frame).toEqual({
      sender: aliceName,
      msg: "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt; &amp; more",
      date: shanghaiDate(sent.message.ts),
    });

    // Members and history, read by a Socket.IO client on the bridge's node.
    const carol = await connected(bridgeNode, unique("carol"));
    const answer = await ok(carol, "room:join", { room });
    expect(answer.members).toEqual(expect.arrayContaining([aliceName, zhang]));
    expect(answer.memberCount).toBe(3);
    expect(answer.history.map(({ from, text }) => ({ from, text }))).toEqual([
      { from: zhang, text: "你好 <b>世界</b>" },
      { from: aliceName, text: `<img src=x onerror="alert('x')"> & more` },
    ]);
    expect(answer.history[0]!.id).toBe(message.id);
    const listed = await ok(carol, "rooms:list", {});
    expect(listed.rooms).toContainEqual({ room, members: 3 });

    // Leaving: the bridge user leaves the room for everyone.
    const left = next(alice, "room:presence", (event) => event.user === zhang && event.event === "leave");
    await bridge.close();
    expect(await left).toEqual({ room, user: zhang, event: "leave", members: 2 });
  });

  it("closing removes exactly that connection: another of the same user, here or in another room, stays", async () => {
    const [node0, node1] = deployment.urls as [string, string];
    const [roomA, roomB] = [unique("a"), unique("b")];
    const user = unique("李四");
    const watcher = await connected(node1, unique("watcher"));
    await ok(watcher, "room:join", { room: roomA });
    const presence = record(watcher, "room:presence");

    const first = await SeedClient.open(node0, roomA, user);
    const second = await SeedClient.open(node1, roomA, user);
    const elsewhere = await SeedClient.open(node0, roomB, user);
    await first.close();

    // The user is still in room A (its other connection), and both remaining sockets still get traffic.
    const stillThere = await ok(watcher, "room:send", { room: roomA, text: "still there?" });
    await second.frame((frame) => frame.msg === "still there?", "room A's traffic on the remaining socket");
    elsewhere.send("from room B");
    await elsewhere.frame((frame) => frame.msg === "from room B", "room B's traffic");
    expect(stillThere.message.room).toBe(roomA);
    expect(presence.filter((event) => event.user === user).map((event) => event.event)).toEqual(["join"]);

    const left = next(watcher, "room:presence", (event) => event.user === user && event.event === "leave");
    await second.close();
    expect(await left).toMatchObject({ user, event: "leave", members: 1 });
  });

  it("notices of the room, and to everyone, reach the bridge as the demo's frames", async () => {
    const room = unique("notices");
    const bridge = await SeedClient.open(deployment.urls[0]!, room, unique("reader"));
    for (const body of [{ text: "maintenance at <noon>", room }, { text: "to everyone" }]) {
      const response = await fetch(`${deployment.urls[1]}/admin/notices`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
    }
    expect(await bridge.frame((frame) => frame.msg.startsWith("maintenance"), "the room notice")).toMatchObject({
      sender: "[notice]",
      msg: "maintenance at &lt;noon&gt;",
    });
    await bridge.frame((frame) => frame.msg === "to everyone", "the notice to everyone");
  });

  it("refuses a bad path or name before the upgrade, with a 4xx and the reason", async () => {
    const url = deployment.urls[0]!;
    expect(await refusedUpgrade(url, "/websocket/only-a-room")).toEqual({
      status: 404,
      body: "expected /websocket/{room}/{user}",
    });
    expect(await refusedUpgrade(url, "/websocket/a/b/c")).toMatchObject({ status: 404 });
    expect(await refusedUpgrade(url, "/elsewhere")).toMatchObject({ status: 404 });
    expect(await refusedUpgrade(url, seedPath("lobby", "<script>"))).toEqual({
      status: 400,
      body: "user may hold only letters, digits, spaces and - _ .",
    });
    expect(await refusedUpgrade(url, seedPath("lobby", " bob"))).toEqual({
      status: 400,
      body: "user must not start or end with a space",
    });
    expect(await refusedUpgrade(url, seedPath("x".repeat(65), "bob"))).toEqual({
      status: 400,
      body: "room must be 1 to 64 characters",
    });
    expect(await refusedUpgrade(url, "/websocket/lobby/%E5%BC")).toEqual({
      status: 400,
      body: "the user in the path is not percent-encoded UTF-8",
    });
    // A name someone claimed with a key cannot be proven without one.
    const owner = unique("owner");
    const claimed = await connected(url, owner, { auth: { user: owner, key: newKey() } });
    expect(await refusedUpgrade(url, seedPath("lobby", owner))).toEqual({
      status: 409,
      body: "that name is taken: it was claimed with a key, which this protocol cannot send",
    });
    claimed.disconnect();
    // Socket.IO is untouched by all of this.
    const after = await connected(deployment.urls[1]!, unique("after"));
    await ok(after, "room:join", { room: "lobby" });
  });

  it("full-width names are the same user, NFKC-normalized as everywhere else", async () => {
    const room = unique("nfkc");
    const bridge = await SeedClient.open(deployment.urls[0]!, room, "ｂｏｂ");
    bridge.send("hi");
    expect(await bridge.frame(() => true, "bob's message")).toMatchObject({ sender: "bob", msg: "hi" });
  });
});

describe("the bridge's refusals of frames and origins, across two nodes", () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await nodesOnOneRedis(2)({
      env: {
        MAX_MESSAGE_LENGTH: "100",
        RATE_LIMIT_PER_SECOND: "1",
        RATE_LIMIT_BURST: "1",
        ALLOWED_ORIGINS: "https://chat.example.com",
      },
    });
  });
  afterAll(async () => {
    await deployment.close();
  });

  it("closes a frame over MAX_MESSAGE_LENGTH with 1009, in characters or in bytes", async () => {
    const room = unique("big");
    const characters = await SeedClient.open(deployment.urls[0]!, room, unique("big"));
    characters.send("x".repeat(101));
    expect(await within(characters.closed, "the close")).toEqual({
      code: 1009,
      reason: "a message may be 100 characters at most",
    });
    const bytes = await SeedClient.open(deployment.urls[1]!, room, unique("big"));
    // Over 3 bytes a character: ws refuses it before reading it whole.
    bytes.send("字".repeat(101));
    expect((await within(bytes.closed, "the close")).code).toBe(1009);
    // 100 characters of 3 bytes each are fine.
    const fits = await SeedClient.open(deployment.urls[0]!, room, unique("fits"));
    fits.send("字".repeat(100));
    await fits.frame((frame) => frame.msg.length === 100, "the 100-character message");
  });

  it("closes a binary frame with 1003", async () => {
    const bridge = await SeedClient.open(deployment.urls[1]!, unique("bin"), unique("bin"));
    bridge.send(Buffer.from("hello"));
    expect(await within(bridge.closed, "the close")).toEqual({
      code: 1003,
      reason: "binary frames are not accepted: send text",
    });
  });

  it("closes a refused send with 1008 and the reason: over the rate limit, or empty", async () => {
    const room = unique("flood");
    const user = unique("flooder");
    const watcher = await connected(deployment.urls[1]!, unique("watcher"));
    await ok(watcher, "room:join", { room });
    const seen = record(watcher, "room:message");
    const bridge = await SeedClient.open(deployment.urls[0]!, room, user);
    bridge.send("one");
    bridge.send("two");
    const closed = await within(bridge.closed, "the close");
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^rate_limited: too many messages; retry in \d+ ms$/);
    // The first went through to everyone; the refused one went nowhere.
    await expect.poll(() => seen.map((message: ChatMessage) => message.text)).toEqual(["one"]);

    const empty = await SeedClient.open(deployment.urls[1]!, room, unique("empty"));
    empty.send("");
    expect(await within(empty.closed, "the close")).toEqual({
      code: 1008,
      reason: "bad_request: text must not be empty",
    });
  });

  it("refuses a forbidden Origin with 403, and allows a listed one or none", async () => {
    const url = deployment.urls[0]!;
    expect(await refusedUpgrade(url, seedPath("lobby", "eve"), { origin: "https://evil.example" })).toEqual({
      status: 403,
      body: "this page's origin may not open a socket here",
    });
    await SeedClient.open(url, "lobby", unique("listed"), "", { origin: "https://chat.example.com" });
    await SeedClient.open(url, "lobby", unique("bot"));
  });
});

describe("token mode: ?token= as the proof, across two nodes", () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await nodesOnOneRedis(2)({ env: { AUTH_JWT_SECRET: TEST_JWT_SECRET } });
  });
  afterAll(async () => {
    await deployment.close();
  });

  it("admits the token's user, and refuses a missing, bad, foreign or room-less token", async () => {
    const [url0, url1] = deployment.urls as [string, string];
    const user = unique("王五");
    const room = unique("team");
    const token = (claims: Record<string, unknown>) =>
      `?token=${mintToken({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`;

    expect(await refusedUpgrade(url0, seedPath(room, user))).toEqual({
      status: 401,
      body: "this server needs a token (?token=)",
    });
    const forged = mintToken({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600 }, "x".repeat(40));
    expect(await refusedUpgrade(url0, seedPath(room, user, `?token=${forged}`))).toMatchObject({ status: 401 });
    expect(await refusedUpgrade(url0, seedPath(room, user, `?token=${randomBytes(8).toString("hex")}`))).toMatchObject({
      status: 401,
    });
    expect(await refusedUpgrade(url0, seedPath(room, user, `?token=${tokenFor(unique("other"))}`))).toEqual({
      status: 403,
      body: "the token is for another user than the path's",
    });
    expect(await refusedUpgrade(url0, seedPath(room, user, token({ rooms: ["other-*"] })))).toEqual({
      status: 403,
      body: `your token does not allow room "${room}"`,
    });
    expect(await refusedUpgrade(url0, seedPath(room, user, token({ exp: 1 })))).toMatchObject({ status: 401 });

    // The right token: a member like any other, seen by a token-mode Socket.IO client on the other node.
    const peer = unique("peer");
    const socket = await connected(url1, peer, { auth: { token: tokenFor(peer) } });
    await ok(socket, "room:join", { room });
    const arrived = next(socket, "room:message", (message) => message.from === user);
    const bridge = await SeedClient.open(url0, room, user, token({ rooms: ["team-*"] }));
    bridge.send("signed in");
    expect(await arrived).toMatchObject({ from: user, text: "signed in" });
  });

  it("closes the socket with 1008 when its token expires", async () => {
    const user = unique("brief");
    const exp = Math.floor(Date.now() / 1000) + 2;
    const bridge = await SeedClient.open(
      deployment.urls[0]!,
      unique("room"),
      user,
      `?token=${mintToken({ sub: user, exp })}`,
    );
    expect(await within(bridge.closed, "the expiry")).toEqual({ code: 1008, reason: "token expired" });
  });
});

describe("escaping off (BRIDGE_ESCAPE_HTML=0), and the bridge off (SEED_BRIDGE=0)", () => {
  let raw: Deployment;
  let off: Deployment;
  beforeAll(async () => {
    raw = await nodesOnOneRedis(2)({ env: { BRIDGE_ESCAPE_HTML: "0" } });
    off = await nodesOnOneRedis(2)({ env: { SEED_BRIDGE: "0" } });
  });
  afterAll(async () => {
    await Promise.all([raw.close(), off.close()]);
  });

  it("sends sender and msg as they are when escaping is off", async () => {
    const room = unique("raw");
    const bridge = await SeedClient.open(raw.urls[0]!, room, unique("raw"));
    const alice = await connected(raw.urls[1]!, unique("alice"));
    await ok(alice, "room:join", { room });
    await ok(alice, "room:send", { room, text: `<b>bold</b> & "quoted" 'single'` });
    expect((await bridge.frame(() => true, "alice's message")).msg).toBe(`<b>bold</b> & "quoted" 'single'`);
  });

  it("answers /websocket/ with 404 when the bridge is off, and Socket.IO still works", async () => {
    expect(await refusedUpgrade(off.urls[0]!, seedPath("lobby", "bob"))).toMatchObject({ status: 404 });
    const alice = await connected(off.urls[1]!, unique("alice"));
    await ok(alice, "room:join", { room: "lobby" });
  });
});

describe("SIGTERM on a node process closes its bridge sockets cleanly", () => {
  let cluster: ProcessCluster;
  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("closes with 1001 'going away', the leave seen on the other node, and exits 0", async () => {
    const room = unique("stop");
    const user = unique("赵六");
    const watcher = await connected(cluster.urls[1]!, unique("watcher"));
    await ok(watcher, "room:join", { room });
    const bridge = await SeedClient.open(cluster.urls[0]!, room, user);
    const left = next(watcher, "room:presence", (event) => event.user === user && event.event === "leave");

    expect(await cluster.kill(0, "SIGTERM")).toBe(0);
    expect(await within(bridge.closed, "the bridge socket to close")).toEqual({ code: 1001, reason: "going away" });
    expect(await left).toEqual({ room, user, event: "leave", members: 1 });
    const answer = await ok(watcher, "room:join", { room });
    expect(answer.members).toEqual([(watcher.auth as { user: string }).user]);
  });
});
