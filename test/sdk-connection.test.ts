/**
 * The ChatClient's connection logic over a fake transport (no server): URL rotation, reconnect
 * backoff, final disconnects, resume with `since`, gap filling and outbox resends, on fake timers.
 * What the real server does is covered by sdk-client.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  formatMessageId,
  type Ack,
  type AckOf,
  type ChatMessage,
  type DirectMessage,
  type DirectSyncRequest,
  type ErrorBody,
  type JoinRequest,
  type SendRequest,
} from "../protocol/index.js";
import {
  ChatClient,
  type ChatClientEvents,
  type ChatClientOptions,
  type ConnectionState,
} from "../client/sdk/chat-client.js";
import { ChatError } from "../client/sdk/errors.js";
import type { ChatSocket, SocketIoOptions } from "../client/sdk/transport.js";

type Listener = (...args: unknown[]) => void;
interface Emitted {
  event: string;
  payload: unknown;
  ack: (answer: Ack) => void;
}

/** Stands in for a socket.io-client socket: the test plays the server. */
class FakeSocket {
  connected = false;
  readonly emitted: Emitted[] = [];
  readonly #listeners = new Map<string, Set<Listener>>();
  /** Answers a client event; return undefined to leave it unanswered. */
  answer: (event: string, payload: unknown) => Ack | undefined = () => undefined;

  constructor(
    readonly url: string,
    readonly options: SocketIoOptions,
  ) {}

  on(event: string, listener: Listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event)!.add(listener);
    return this;
  }
  off(event: string, listener: Listener) {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }
  emit(event: string, payload: unknown, ack: (answer: Ack) => void) {
    this.emitted.push({ event, payload, ack });
    const answer = this.answer(event, payload);
    if (answer) void Promise.resolve().then(() => ack(answer));
    return this;
  }
  disconnect() {
    if (this.connected) this.drop("io client disconnect");
    return this;
  }

  // What the server side does:
  accept() {
    this.connected = true;
    this.#fire("connect");
  }
  refuse(data?: ErrorBody) {
    this.#fire("connect_error", Object.assign(new Error(data?.message ?? "websocket error"), { data }));
  }
  drop(reason = "transport close") {
    this.connected = false;
    this.#fire("disconnect", reason);
  }
  push(event: string, payload: unknown) {
    this.#fire(event, payload);
  }
  sent(event: string) {
    return this.emitted.filter((emitted) => emitted.event === event);
  }
  /** The payloads sent with `event`, in order. */
  payloads(event: string) {
    return this.sent(event).map((sent) => sent.payload);
  }
  /** The events emitted for rooms, in order (the DM feed's `dm:sync` goes its own way). */
  roomEvents() {
    return this.emitted.map((emitted) => emitted.event).filter((event) => event !== "dm:sync");
  }

  #fire(event: string, ...args: unknown[]) {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) listener(...args);
  }
}

const URLS = ["http://a:1", "http://b:2", "http://c:3"];
const BACKOFF = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

function message(n: number): ChatMessage {
  return {
    id: formatMessageId(1_700_000_000_000, n),
    room: "lobby",
    from: "bob",
    text: `#${n}`,
    ts: 1_700_000_000_000,
    prev: n === 0 ? "" : formatMessageId(1_700_000_000_000, n - 1),
  };
}
/** The n-th DM of alice's feed, from bob; feed ids and conversation ids run apart. */
function feedDm(n: number): DirectMessage {
  return {
    id: formatMessageId(1_700_000_000_000, 100 + n),
    from: "bob",
    to: "alice",
    text: `dm ${n}`,
    ts: 1_700_000_000_000,
    prev: formatMessageId(1_700_000_000_000, 99 + n),
    feedId: formatMessageId(1_700_000_000_500, n),
    feedPrev: n === 0 ? "" : formatMessageId(1_700_000_000_500, n - 1),
  };
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => message(from + i));

/** A client on fake sockets, recording its events. */
function setup(options: Partial<ChatClientOptions> = {}) {
  const sockets: FakeSocket[] = [];
  const client = new ChatClient({
    urls: URLS,
    user: "alice",
    backoff: BACKOFF,
    gapWaitMs: 50,
    io: (url, socketOptions) => {
      const socket = new FakeSocket(url, socketOptions);
      sockets.push(socket);
      return socket as unknown as ChatSocket;
    },
    ...options,
  });
  const states: ConnectionState[] = [];
  const messages: string[] = [];
  const resets: string[] = [];
  client.on("state", (state) => states.push(state));
  client.on("message", (m) => messages.push(m.text));
  client.on("reset", ({ room }) => resets.push(room));
  const last = () => sockets[sockets.length - 1]!;
  return { client, sockets, last, states, messages, resets };
}

/** Answers joins with `history` (everything after `since`), and sends with a stored message. */
function serve(socket: FakeSocket, log: ChatMessage[], recovered = true) {
  socket.answer = (event, raw) => {
    if (event === "room:join") {
      const payload = raw as JoinRequest;
      const since = payload.since;
      const history = since === undefined ? log.slice(-50) : log.filter((m) => m.id > since);
      return {
        ok: true,
        room: payload.room,
        members: ["alice", "bob"],
        history,
        recovered: payload.since === undefined || recovered,
      };
    }
    if (event === "room:send")
      return { ok: true, message: { ...message(log.length), from: "alice", text: (raw as SendRequest).text } };
    return undefined;
  };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

type Setup = ReturnType<typeof setup>;

/** A client connected on the first URL that has joined "lobby", answered from `log`. */
async function joined(log: ChatMessage[] = []): Promise<Setup> {
  const test = setup();
  void test.client.connect();
  await flush();
  serve(test.last(), log);
  test.last().accept();
  await test.client.join("lobby");
  return test;
}

/** Drops the connection and brings up the next one after the first backoff, serving `log`. */
async function reconnect(test: Setup, log: ChatMessage[], recovered = true): Promise<void> {
  test.last().drop();
  await vi.advanceTimersByTimeAsync(BACKOFF.initialMs);
  serve(test.last(), log, recovered);
  test.last().accept();
  await flush();
}

describe("ChatClient connection (fake transport)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("rotates round the URLs with exponential backoff until one accepts", async () => {
    const { client, sockets, last, states } = setup();
    const connected = client.connect();
    await flush();
    expect(sockets.map((socket) => socket.url)).toEqual(["http://a:1"]);
    expect(last().options).toMatchObject({
      auth: { user: "alice" },
      reconnection: false,
      forceNew: true,
      transports: ["websocket"],
    });

    last().refuse();
    await vi.advanceTimersByTimeAsync(99);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets.map((socket) => socket.url)).toEqual(["http://a:1", "http://b:2"]);
    last().refuse({ code: "unavailable", message: "shutting down" });
    await vi.advanceTimersByTimeAsync(200);
    last().refuse();
    await vi.advanceTimersByTimeAsync(399);
    expect(sockets).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets.map((socket) => socket.url)).toEqual(["http://a:1", "http://b:2", "http://c:3", "http://a:1"]);
    expect(states).toEqual(["connecting"]);

    last().accept();
    await connected;
    expect(client.state).toBe("connected");
    expect(states).toEqual(["connecting", "connected"]);
    await client.close();
  });

  it("after a dropped connection, moves to the next URL with the backoff started over", async () => {
    const { client, sockets, last, states } = setup();
    void client.connect();
    await flush();
    last().accept();
    last().drop("transport close");
    expect(client.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets.map((socket) => socket.url)).toEqual(["http://a:1", "http://b:2"]);
    last().refuse();
    await vi.advanceTimersByTimeAsync(200);
    last().accept();
    expect(sockets.map((socket) => socket.url)).toEqual(["http://a:1", "http://b:2", "http://c:3"]);
    last().drop("ping timeout");
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets.map((socket) => socket.url)).toEqual(["http://a:1", "http://b:2", "http://c:3", "http://a:1"]);
    expect(states).toEqual(["connecting", "connected", "reconnecting", "connected", "reconnecting"]);
    await client.close();
  });

  it("stays offline after a server kick, until connect() is called again", async () => {
    const { client, sockets, last } = setup();
    void client.connect();
    await flush();
    last().accept();
    last().drop("io server disconnect");
    expect(client.state).toBe("offline");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    const again = client.connect();
    await flush();
    expect(sockets).toHaveLength(2);
    last().accept();
    await again;
    await client.close();
  });

  it("reconnects after a kick when a state listener calls connect() at once", async () => {
    const { client, sockets, last } = setup();
    void client.connect();
    await flush();
    last().accept();
    client.once("state", (state) => {
      if (state === "offline") void client.connect();
    });
    last().drop("io server disconnect");
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets).toHaveLength(2);
    last().accept();
    expect(client.state).toBe("connected");
    await client.close();
  });

  it("rejects connect() with the code of a refusal retrying cannot fix, and stops", async () => {
    const { client, sockets, last } = setup();
    const errors: ChatError[] = [];
    client.on("error", (error) => errors.push(error));
    const connecting = client.connect();
    await flush();
    last().refuse({ code: "unauthorized", message: "auth.user is required" });
    const error = await connecting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: "unauthorized", message: "auth.user is required" });
    expect(errors).toEqual([error]);
    expect(client.state).toBe("offline");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    await client.close();
  });

  it("close() stops the reconnect loop and rejects what waits with code closed", async () => {
    const { client, sockets, last } = setup();
    const connecting = client.connect();
    await flush();
    const joining = client.join("lobby");
    last().refuse();
    await client.close();
    await expect(connecting).rejects.toMatchObject({ code: "closed" });
    await expect(joining).rejects.toMatchObject({ code: "closed" });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    expect(client.state).toBe("closed");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("re-joins every room with since = the last id delivered, then resends the pending send with its clientId", async () => {
    const log = range(0, 3);
    const test = await joined(log);
    const { client, last, messages } = test;
    expect(messages).toEqual(["#0", "#1", "#2"]);

    // A send goes out, and the connection drops before its ack.
    last().answer = () => undefined;
    const sending = client.send("lobby", "hello");
    await flush();
    const first = last().sent("room:send")[0]!;
    log.push(message(3), message(4)); // missed while away
    await reconnect(test, log);

    expect(last().roomEvents()).toEqual(["room:join", "room:send"]);
    expect(last().sent("room:join")[0]!.payload).toEqual({ room: "lobby", since: message(2).id });
    expect(last().sent("room:send")[0]!.payload).toEqual(first.payload);
    expect((await sending).text).toBe("hello");
    expect(messages).toEqual(["#0", "#1", "#2", "#3", "#4", "hello"]);
    await client.close();
  });

  it("a room joined while empty resumes from the beginning of its log", async () => {
    const test = await joined([]);
    // 60 messages came while away: more than a join without since would bring.
    await reconnect(test, range(0, 60), false);
    expect(test.last().sent("room:join")[0]!.payload).toEqual({ room: "lobby", since: "0000000000000-000000" });
    expect(test.messages).toEqual(range(0, 60).map((m) => m.text));
    expect(test.resets).toEqual([]);
    await test.client.close();
  });

  it("emits reset before the backlog when the log no longer reaches back", async () => {
    const test = await joined(range(0, 2));
    const seen: string[] = [];
    test.client.on("reset", () => seen.push("reset"));
    test.client.on("message", (m) => seen.push(m.text));
    await reconnect(test, range(5, 8), false);
    expect(test.resets).toEqual(["lobby"]);
    expect(seen).toEqual(["reset", "#5", "#6", "#7"]);
    expect(test.messages).toEqual(["#0", "#1", "#5", "#6", "#7"]);
    await test.client.close();
  });

  it("waits gapWaitMs for a message that arrived early, then fills the gap from the log", async () => {
    const log = range(0, 2);
    const { client, last, messages } = await joined(log);

    // #3 overtakes #2, which then arrives in time: no fetch.
    last().push("room:message", message(3));
    await vi.advanceTimersByTimeAsync(49);
    last().push("room:message", message(2));
    expect(messages).toEqual(["#0", "#1", "#2", "#3"]);
    await vi.advanceTimersByTimeAsync(100);
    expect(last().sent("room:join")).toHaveLength(1);

    // #4 is lost: #5 waits, and after gapWaitMs a join with since = #3 fills the gap.
    log.push(...range(2, 6));
    last().push("room:message", message(5));
    await vi.advanceTimersByTimeAsync(49);
    expect(last().sent("room:join")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(last().sent("room:join")[1]!.payload).toEqual({ room: "lobby", since: message(3).id });
    await flush();
    last().push("room:message", message(5));
    expect(messages).toEqual(["#0", "#1", "#2", "#3", "#4", "#5"]);
    await client.close();
  });

  it("holds a send to a room being re-joined until the join is answered", async () => {
    const { client, last } = await joined([]);
    last().drop();
    await vi.advanceTimersByTimeAsync(BACKOFF.initialMs);
    // The re-join is left unanswered until the test answers it.
    last().answer = (event) =>
      event === "room:send" ? { ok: true, message: { ...message(0), text: "x" } } : undefined;
    last().accept();
    const sending = client.send("lobby", "x");
    await flush();
    expect(last().roomEvents()).toEqual(["room:join"]);
    const joinAnswer: AckOf<"room:join"> = {
      ok: true,
      room: "lobby",
      members: ["alice"],
      memberCount: 1,
      history: [],
      recovered: true,
    };
    last().sent("room:join")[0]!.ack(joinAnswer);
    await flush();
    expect(last().roomEvents()).toEqual(["room:join", "room:send"]);
    await sending;
    await client.close();
  });

  it("delivers a DM once, whether it comes as the ack, the echo, or both", async () => {
    const { client, last } = setup();
    const dms: string[] = [];
    client.on("dm", (dm) => dms.push(dm.id));
    void client.connect();
    await flush();
    const dm = { id: formatMessageId(1, 0), from: "alice", to: "bob", text: "hi", ts: 1, prev: "" };
    last().answer = (event) => (event === "dm:send" ? { ok: true, message: dm, online: true } : undefined);
    last().accept();
    const sent = client.dm("bob", "hi");
    last().push("dm:message", dm);
    expect(await sent).toEqual({ message: dm, online: true });
    last().push("dm:message", dm);
    // The same id in another conversation is another message.
    last().push("dm:message", { ...dm, from: "carol", to: "alice" });
    expect(dms).toEqual([dm.id, dm.id]);
    await client.close();
  });

  it("keeps the DM feed: syncs on every connection after the last feedId, fills a gap, in feed order", async () => {
    const { client, last } = setup({ key: "k".repeat(16) });
    const texts: string[] = [];
    const resets: ChatClientEvents["dmReset"][] = [];
    client.on("dm", (dm) => texts.push(dm.text));
    client.on("dmReset", (reset) => resets.push(reset));
    const feed = Array.from({ length: 6 }, (_, n) => feedDm(n));
    const serveFeed = (socket: FakeSocket, recovered = true) => {
      socket.answer = (event, raw) => {
        if (event !== "dm:sync") return undefined;
        const since = (raw as DirectSyncRequest).since;
        const known = feed.slice(0, held);
        const messages = since === undefined ? known.slice(-2) : known.filter((dm) => dm.feedId! > since);
        return { ok: true, messages, recovered: since === undefined || recovered };
      };
    };
    let held = 2;
    void client.connect();
    await flush();
    serveFeed(last());
    last().accept();
    await flush();
    expect(last().payloads("dm:sync")).toEqual([{}]);
    expect(texts).toEqual(["dm 0", "dm 1"]);

    // dm 3 comes live ahead of dm 2: it waits, and after gapWaitMs the feed fills the gap.
    held = 4;
    last().push("dm:message", feed[3]);
    expect(texts).toEqual(["dm 0", "dm 1"]);
    await vi.advanceTimersByTimeAsync(50);
    expect(last().sent("dm:sync").at(-1)!.payload).toEqual({ since: feed[1]!.feedId });
    expect(texts).toEqual(["dm 0", "dm 1", "dm 2", "dm 3"]);

    // A reconnect asks for what came after the last one delivered, once.
    held = 6;
    last().drop();
    await vi.advanceTimersByTimeAsync(BACKOFF.initialMs);
    serveFeed(last(), false);
    last().accept();
    await flush();
    expect(last().payloads("dm:sync")).toEqual([{ since: feed[3]!.feedId }]);
    last().push("dm:message", feed[5]);
    expect(texts).toEqual(["dm 0", "dm 1", "dm 2", "dm 3", "dm 4", "dm 5"]);
    // The answer went on right after the last DM delivered: no reset, even with recovered false.
    expect(resets).toEqual([]);
    await client.close();
  });

  it("without a proven name, takes DMs live only once dm:sync is refused", async () => {
    const { client, last } = setup();
    const texts: string[] = [];
    const errors: unknown[] = [];
    client.on("dm", (dm) => texts.push(dm.text));
    client.on("error", (error) => errors.push(error));
    void client.connect();
    await flush();
    last().answer = (event) =>
      event === "dm:sync" ? { ok: false, error: { code: "forbidden", message: "no feed" } } : undefined;
    last().accept();
    await flush();
    last().push("dm:message", { ...feedDm(0), feedId: undefined, feedPrev: undefined });
    expect(texts).toEqual(["dm 0"]);
    expect(errors).toEqual([]);
    await client.close();
  });

  it("keeps the member list from the join answer and presence events", async () => {
    const { client, last } = await joined();
    expect(client.members("lobby")).toEqual(["alice", "bob"]);
    last().push("room:presence", { room: "lobby", user: "carol", event: "join", members: 3 });
    last().push("room:presence", { room: "lobby", user: "bob", event: "leave", members: 2 });
    expect(client.members("lobby")).toEqual(["alice", "carol"]);
    expect(client.members("elsewhere")).toEqual([]);
    await client.close();
  });
});
