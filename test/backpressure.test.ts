/**
 * The backpressure's two drops (server/chat/backpressure.ts), for the writes no request asked for:
 * room broadcasts on the WebSocket fast path, and what waits for a long-polling client that never
 * polls. And what it must not drop: a member that reads slowly, in bursts, but keeps up.
 *
 * Loopback's kernel buffers take about 4 MB of a connection that reads nothing (its send buffer;
 * once the reader has read fast, its receive buffer grows by as much again): each test sends more
 * than that, so that bytes wait in the server.
 */
import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../protocol/index.js";
import { underAttack } from "./support/attack.js";
import { connected, ok, within, type TestSocket } from "./support/clients.js";
import { unique } from "./support/identity.js";
import { RawSocket } from "./support/raw-socket.js";

const DROPPED = "dropped a client that does not keep up";
/** Long messages, so that a few hundred fill the kernel's buffers. */
const MESSAGE_LENGTH = 60_000;
const BIG_TEXT = "b".repeat(MESSAGE_LENGTH);
/** How often a client that reads nothing proves it is alive. */
const PONG_EVERY_MS = 200;

const dropOf = (user: string) => (line: Record<string, unknown>) => line.msg === DROPPED && line.user === user;

/** Sends `count` big messages to `room`, `inFlight` at a time; resolves with their ids. */
async function sendBig(writer: TestSocket, room: string, count: number, inFlight: number): Promise<string[]> {
  const ids: string[] = [];
  for (let sent = 0; sent < count; sent += inFlight) {
    const batch = Array.from({ length: Math.min(inFlight, count - sent) }, () =>
      ok(writer, "room:send", { room, text: BIG_TEXT }),
    );
    for (const answer of await Promise.all(batch)) ids.push(answer.message.id);
  }
  return ids;
}

/** Counts the room messages a raw socket receives, also while it is paused (then none arrive). */
function countMessages(socket: RawSocket): { readonly count: number } {
  const seen = { count: 0 };
  socket.ws.on("message", (data, binary) => {
    if (!binary && data.toString().startsWith('42["room:message",')) seen.count += 1;
  });
  return seen;
}

/**
 * A room with a writer on node 0, and mallory, a member on node `memberNode` that has stopped
 * reading; `received` counts the room messages she reads once she reads again.
 */
async function writerAndStalledMember(target: ReturnType<typeof underAttack>, base: string, memberNode: number) {
  const room = unique(base);
  const writer = await connected(target.urls[0]!, unique("writer"));
  await ok(writer, "room:join", { room });
  const user = unique("mallory");
  const mallory = await RawSocket.connect(target.urls[memberNode]!, user);
  expect(await mallory.request("room:join", { room })).toMatchObject({ ok: true });
  mallory.stopReading();
  return { room, writer, user, mallory, received: countMessages(mallory) };
}

describe("backpressure: a WebSocket member that stops reading while the room's broadcasts pile up", () => {
  const target = underAttack({
    MAX_MESSAGE_LENGTH: String(MESSAGE_LENGTH),
    CLIENT_QUEUE_BYTES: String(512 * 1024 * 1024),
    CLIENT_STALL_MS: "2000",
  });

  it("is dropped after CLIENT_STALL_MS, however it pongs and however the broadcasts keep coming", async () => {
    await target.before();
    // On the other node: all she gets there are the broadcasts, from Redis, on the fast path.
    const { room, writer, user, mallory, received } = await writerAndStalledMember(target, "stall", 1);
    const sent: string[] = [];
    // She pongs, and the room keeps talking (a small message every 200 ms), all along the stall:
    // no new write to her may count as her reading.
    const pongs = setInterval(() => {
      mallory.send("3");
      writer.emit("room:send", { room, text: "still talking" }, () => undefined);
    }, PONG_EVERY_MS);
    try {
      // One at a time, so that each broadcast reaches her alone in its tick: the fast path's
      // uncorked direct write. 9.6 MB: more than the kernel holds.
      sent.push(...(await sendBig(writer, room, 160, 1)));
      const drop = await target.nodes[1]!.waitForLog(dropOf(user), "the drop of the member that reads nothing");
      expect(drop).toMatchObject({ reason: "reads nothing", user });
      expect(drop.stalledMs).toBeGreaterThan(2000);
    } finally {
      clearInterval(pongs);
    }
    // The drop is real: once she reads again she gets what the kernel held, then the close.
    mallory.ws.resume();
    expect((await within(mallory.closed, "the dropped member's close")).code).toBe(1006);
    expect(received.count).toBeLessThan(sent.length);
    await target.survived();
  });
});

describe("backpressure: a WebSocket member that stops reading while bursts of broadcasts pile up", () => {
  const CAP = 1024 * 1024;
  const target = underAttack({
    MAX_MESSAGE_LENGTH: String(MESSAGE_LENGTH),
    CLIENT_QUEUE_BYTES: String(CAP),
    CLIENT_STALL_MS: "600000",
  });

  it("is dropped when the broadcasts waiting for it pass CLIENT_QUEUE_BYTES", async () => {
    await target.before();
    const { room, writer, user, mallory, received } = await writerAndStalledMember(target, "burst", 0);

    // Bursts of 20 messages (1.2 MB), up to 30 MB, until the node drops her; she sends nothing.
    const isDrop = dropOf(user);
    const sent: string[] = [];
    for (let burst = 0; burst < 25 && !target.nodes[0]!.logs.some(isDrop); burst++) {
      sent.push(...(await sendBig(writer, room, 20, 20)));
    }
    const drop = await target.nodes[0]!.waitForLog(isDrop, "the drop of the member over CLIENT_QUEUE_BYTES");
    expect(drop).toMatchObject({ reason: "queue over CLIENT_QUEUE_BYTES", user });
    expect(drop.bytes).toBeGreaterThan(CAP);
    // Dropped at the write that passed the cap, not at the next scan: a scan every 250 ms let
    // 3 to 10 MB pile up. What the same turn wrote after that write may add a few frames.
    expect(drop.bytes).toBeLessThan(2 * CAP);

    mallory.ws.resume();
    expect((await within(mallory.closed, "the dropped member's close")).code).toBe(1006);
    // What waited in the server was dropped with her.
    expect(received.count).toBeLessThan(sent.length);
    await target.survived();
  });
});

/** A Socket.IO client over engine.io long-polling, spoken by hand with fetch. */
class PollingClient {
  private constructor(private readonly session: string) {}

  /** Opens an engine.io session (the "0{...}" open packet carries its sid). */
  static async open(url: string): Promise<PollingClient> {
    const base = `${url}/socket.io/?EIO=4&transport=polling`;
    const handshake = await fetch(base);
    const body = await handshake.text();
    expect(handshake.status, body).toBe(200);
    const open = body.split("\x1e")[0]!;
    expect(open.startsWith("0{"), body).toBe(true);
    const { sid } = JSON.parse(open.slice(1)) as { sid: string };
    return new PollingClient(`${base}&sid=${encodeURIComponent(sid)}`);
  }

  /** POSTs packets; resolves with the status (200 while the session lives). */
  async post(...packets: string[]): Promise<number> {
    const response = await fetch(this.session, {
      method: "POST",
      headers: { "content-type": "text/plain;charset=UTF-8" },
      body: packets.join("\x1e"),
    });
    await response.arrayBuffer();
    return response.status;
  }

  /** One poll: resolves with the status and the packets it brought. */
  async poll(): Promise<{ status: number; packets: string[] }> {
    const response = await fetch(this.session);
    const body = await response.text();
    return { status: response.status, packets: response.status === 200 ? body.split("\x1e") : [] };
  }

  /** Polls until a packet `match` accepts arrives; resolves with it. */
  async pollFor(match: (packet: string) => boolean, what: string): Promise<string> {
    const found = (async () => {
      for (;;) {
        const { status, packets } = await this.poll();
        if (status !== 200) throw new Error(`a poll answered ${status} while waiting for ${what}`);
        const packet = packets.find(match);
        if (packet !== undefined) return packet;
      }
    })();
    return within(found, what);
  }
}

describe("backpressure: a long-polling client that sends pongs but never polls", () => {
  const target = underAttack({
    CLIENT_QUEUE_BYTES: String(512 * 1024 * 1024),
    CLIENT_STALL_MS: "2000",
  });

  it("is dropped after CLIENT_STALL_MS, long before engine.io's heartbeat would notice", async () => {
    await target.before();
    const room = unique("poll");
    const user = unique("poller");
    const poller = await PollingClient.open(target.urls[0]!);
    expect(await poller.post(`40${JSON.stringify({ user })}`)).toBe(200);
    await poller.pollFor((packet) => packet.startsWith("40{"), "the namespace connect of the poller");
    expect(await poller.post(`420${JSON.stringify(["room:join", { room }])}`)).toBe(200);
    const joined = await poller.pollFor((packet) => packet.startsWith("430["), "the ack of the poller's join");
    expect(JSON.parse(joined.slice(3))).toMatchObject([{ ok: true }]);

    // From here on it never polls: what the room says waits in engine.io's queue for it.
    const writer = await connected(target.urls[0]!, unique("writer"));
    await ok(writer, "room:join", { room });
    for (let k = 0; k < 5; k++) await ok(writer, "room:send", { room, text: `to the poller ${k}` });
    // Unasked pongs, one POST at a time (overlapping POSTs would close the session): engine.io
    // takes each as a heartbeat and puts off its next ping, so its 25 s + 20 s heartbeat would
    // never end this session. The room keeps talking meanwhile.
    let pongsTaken = 0;
    let ponging = false;
    const pongs = setInterval(() => {
      writer.emit("room:send", { room, text: "still talking" }, () => undefined);
      if (ponging) return;
      ponging = true;
      poller
        .post("3")
        .then((status) => (pongsTaken += status === 200 ? 1 : 0))
        .catch(() => undefined)
        .finally(() => (ponging = false));
    }, PONG_EVERY_MS);
    try {
      const drop = await target.nodes[0]!.waitForLog(dropOf(user), "the drop of the poller that never polls");
      expect(drop).toMatchObject({ reason: "reads nothing", user });
      expect(drop.stalledMs).toBeGreaterThan(2000);
    } finally {
      clearInterval(pongs);
    }
    // It ponged all along, and the session is gone: engine.io no longer knows its sid.
    expect(pongsTaken).toBeGreaterThan(3);
    expect((await poller.poll()).status).toBe(400);
    await target.survived();
  });
});

describe("backpressure: a member that reads slowly but steadily", () => {
  const STALL_MS = 1000;
  /** Unread messages the reader always has: 14.4 MB, more than the kernel's buffers hold. */
  const BACKLOG = 240;
  /** Messages the reader reads, and the writer then sends, in each round. */
  const ROUND = 20;
  const target = underAttack({
    MAX_MESSAGE_LENGTH: String(MESSAGE_LENGTH),
    CLIENT_QUEUE_BYTES: String(512 * 1024 * 1024),
    CLIENT_STALL_MS: String(STALL_MS),
  });

  it("is not dropped, though bytes wait for it far longer than CLIENT_STALL_MS, and gets every message", async () => {
    await target.before();
    const room = unique("steady");
    const writer = await connected(target.urls[0]!, unique("writer"));
    await ok(writer, "room:join", { room });
    const user = unique("reader");
    const reader = await RawSocket.connect(target.urls[0]!, user);
    expect(await reader.request("room:join", { room })).toMatchObject({ ok: true });

    // The reader pauses itself once it has `allowed` messages (ws's pause, which ws's own flow
    // control does not undo), and wakes whoever waits for that.
    const ids: string[] = [];
    let allowed = 0;
    let reached: (() => void) | undefined;
    reader.ws.on("message", (data, binary) => {
      const frame = data.toString();
      if (binary || !frame.startsWith('42["room:message",')) return;
      ids.push((JSON.parse(frame.slice(2)) as [string, ChatMessage])[1].id);
      if (ids.length >= allowed) {
        reader.ws.pause();
        reached?.();
      }
    });
    const readUpTo = (count: number) => {
      allowed = count;
      const done = new Promise<void>((resolve) => (reached = resolve));
      if (ids.length >= count) reached!();
      else reader.ws.resume();
      return within(done, `the reader to get ${count} messages`);
    };

    reader.ws.pause();
    const sent = await sendBig(writer, room, BACKLOG, 20);
    // Rounds: it reads ROUND messages, then the room says ROUND more, so that BACKLOG messages
    // always wait for it (most in the server). It reads every round; the rounds last twice the
    // stall limit.
    const steadySince = Date.now();
    let leastUnread = BACKLOG;
    while (Date.now() - steadySince < 2 * STALL_MS) {
      await readUpTo(sent.length - BACKLOG + ROUND);
      leastUnread = Math.min(leastUnread, sent.length - ids.length);
      sent.push(...(await sendBig(writer, room, ROUND, ROUND)));
    }
    // It never caught up (it may read a message or two past where it pauses).
    expect(leastUnread).toBeGreaterThan(BACKLOG - 2 * ROUND);
    await readUpTo(sent.length);

    expect(target.nodes[0]!.logs.filter(dropOf(user))).toEqual([]);
    // Every message, in order, once (ids sort in send order).
    expect(ids).toEqual([...sent].sort());
    // And it is still served.
    reader.ws.resume();
    expect(await within(reader.request("room:history", { room, limit: 1 }), "the reader's history")).toMatchObject({
      ok: true,
    });
    reader.destroy();
    await target.survived();
  });
});
