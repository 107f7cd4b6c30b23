/**
 * Attacks a hostile client made on two nodes (issue 11's probe), each with bounded counts. For
 * every one: the nodes stay up, a bystander's ack latency stays under a second, and each node's
 * resident memory grows less than 300 MB.
 */
import { describe, expect, it } from "vitest";
import { ErrorCode, type RoomSummary } from "../protocol/index.js";
import { underAttack, MAX_BYSTANDER_MS } from "./support/attack.js";
import { connected, ok, request, within } from "./support/clients.js";
import { TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { unique } from "./support/identity.js";
import { RawSocket } from "./support/raw-socket.js";

describe("abuse: room listings and room counts", () => {
  const target = underAttack({ ROOMS_PER_SOCKET: "100" });

  it("a socket joins 100 rooms at most; 300 rooms:list calls over 1,000 rooms answer pages, and bystanders chat on", async () => {
    const bystanders = await target.before();
    const mallory = await connected(target.urls[0]!, unique("mallory"));
    const prefix = unique("flood");
    for (let index = 0; index < 100; index++) {
      await ok(mallory, "room:join", { room: `${prefix}-${String(index).padStart(4, "0")}` });
    }
    const refused = await request(mallory, "room:join", { room: `${prefix}-one-too-many` });
    expect(refused).toMatchObject({ ok: false, error: { code: ErrorCode.Forbidden } });
    // Nine more users fill 900 more rooms.
    for (let user = 1; user < 10; user++) {
      const socket = await connected(target.urls[user % 2]!, unique("filler"));
      await Promise.all(
        Array.from({ length: 100 }, (_, index) =>
          ok(socket, "room:join", { room: `${prefix}-${user}-${String(index).padStart(3, "0")}` }),
        ),
      );
    }

    let slowest = 0;
    for (let batch = 0; batch < 6; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => request(mallory, "rooms:list", {})));
      for (const answer of answers) {
        expect(answer.ok).toBe(true);
        if (answer.ok) expect(answer.rooms.length).toBeLessThanOrEqual(100);
      }
      slowest = Math.max(slowest, await bystanders.probe());
    }
    expect(slowest).toBeLessThan(MAX_BYSTANDER_MS);

    // Paging reaches every room exactly once.
    const seen: RoomSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = await ok(mallory, "rooms:list", cursor === undefined ? { limit: 500 } : { cursor, limit: 500 });
      seen.push(...page.rooms);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    const flooded = seen.filter((summary) => summary.room.startsWith(prefix));
    expect(flooded).toHaveLength(1000);
    expect(new Set(flooded.map((summary) => summary.room)).size).toBe(1000);
    await target.survived();
  });
});

describe("abuse: clients that do not read", () => {
  // The default history limit: it keeps the attack's CPU cost down, and the queue cap must still
  // drop the client within the pages the limit lets through.
  const target = underAttack({
    HISTORY_PER_MINUTE: "300",
    CLIENT_QUEUE_BYTES: String(1024 * 1024),
  });

  it("one that stops reading and asks for 200-message pages is dropped at CLIENT_QUEUE_BYTES", async () => {
    const bystanders = await target.before();
    const room = unique("big");
    const writer = await connected(target.urls[0]!, unique("writer"));
    await ok(writer, "room:join", { room });
    const text = "w".repeat(1000);
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(Array.from({ length: 50 }, () => ok(writer, "room:send", { room, text })));
    }
    const user = unique("mallory");
    const mallory = await RawSocket.connect(target.urls[0]!, user);
    expect(await mallory.request("room:join", { room })).toMatchObject({ ok: true });
    mallory.stopReading();

    // Each answer is about 200 KB: without the cap, the 300 pages the history limit lets through
    // would queue 60 MB. Asked in batches until the node drops the client, with a bystander's
    // message after each.
    const isDrop = (line: Record<string, unknown>) =>
      line.msg === "dropped a client that does not keep up" && line.user === user;
    let slowest = 0;
    for (let batch = 0; batch < 60 && !target.nodes[0]!.logs.some(isDrop); batch++) {
      for (let k = 0; k < 20; k++) mallory.fire("room:history", { room, limit: 200 });
      slowest = Math.max(slowest, await bystanders.probe());
    }
    const drop = await target.nodes[0]!.waitForLog(isDrop, "the drop of the client that stopped reading");
    expect(drop).toMatchObject({ reason: "queue over CLIENT_QUEUE_BYTES", user });
    expect(slowest).toBeLessThan(MAX_BYSTANDER_MS);
    // The other node did not take this one for dead: its users are still online there.
    const nodes = await (
      await fetch(`${target.urls[1]}/admin/nodes`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })
    ).json();
    expect((nodes as { nodes: unknown[] }).nodes).toHaveLength(2);
    mallory.destroy();
    await target.survived();
  });

  it("a binary packet header is refused at once: nothing waits for its attachments", async () => {
    await target.before();
    const mallory = await RawSocket.connect(target.urls[0]!, unique("binary"));
    mallory.send(`451-${JSON.stringify(["room:send", { room: "x", text: { _placeholder: true, num: 0 } }])}`);
    expect((await within(mallory.closed, "the binary client to be closed")).code).toBeGreaterThan(0);
    await target.survived();
  });
});

describe("abuse: a client that piles up requests", () => {
  const target = underAttack({ PENDING_REQUESTS_PER_SOCKET: "64", ROOMS_PER_SOCKET: "1000" });

  it("is dropped at PENDING_REQUESTS_PER_SOCKET", async () => {
    await target.before();
    const user = unique("piler");
    const mallory = await RawSocket.connect(target.urls[1]!, user);
    // A socket's joins run one after another, each waiting for Redis: 400 of them, sent without
    // waiting, pile up far beyond 64 however the frames arrive.
    for (let k = 0; k < 400; k++) mallory.fire("room:join", { room: `${user}-${k}` });
    await within(mallory.closed, "the piling client to be dropped");
    const drop = await target.nodes[1]!.waitForLog(
      (line) => line.msg === "dropped a client over PENDING_REQUESTS_PER_SOCKET" && line.user === user,
      "the drop of the piling client",
    );
    expect(drop.pending).toBe(64);
    await target.survived();
  });
});

describe("abuse: a reader that stalls while it sends pongs", () => {
  const target = underAttack({
    HISTORY_PER_MINUTE: "0",
    CLIENT_QUEUE_BYTES: String(512 * 1024 * 1024),
    CLIENT_STALL_MS: "2000",
  });

  it("is dropped after CLIENT_STALL_MS with nothing written to it, however it pongs", async () => {
    await target.before();
    const room = unique("stall");
    const writer = await connected(target.urls[0]!, unique("writer"));
    await ok(writer, "room:join", { room });
    const text = "s".repeat(1000);
    await Promise.all(Array.from({ length: 200 }, () => ok(writer, "room:send", { room, text })));
    const user = unique("staller");
    const mallory = await RawSocket.connect(target.urls[0]!, user);
    expect(await mallory.request("room:join", { room })).toMatchObject({ ok: true });
    mallory.stopReading();
    // About 12 MB: more than the kernel's buffers hold, so the rest waits in the server.
    for (let k = 0; k < 60; k++) mallory.fire("room:history", { room, limit: 200 });
    const pongs = setInterval(() => mallory.send("3"), 200);
    try {
      const drop = await target.nodes[0]!.waitForLog(
        (line) => line.reason === "reads nothing" && line.user === user,
        "the drop of the stalled client",
      );
      expect(drop.stalledMs).toBeGreaterThan(2000);
    } finally {
      clearInterval(pongs);
      mallory.destroy();
    }
    await target.survived();
  });
});
