// The per-user rate limits, counted over every socket of the user on every node.
import { expect, it } from "vitest";
import { ErrorCode, type Ack } from "../../protocol/index.js";
import { DEADLINE_MS, ok, request } from "../support/clients.js";
import { joinAll, names, type Nodes } from "./helpers.js";

/** RATE_LIMIT_PER_SECOND of the deployment `rateLimitTests` runs on. */
export const RATE_PER_SECOND = 1;
/** RATE_LIMIT_BURST of that deployment. */
export const BURST = 3;
/** The other limits of that deployment, each small enough to reach in a test. */
export const LIMITED_ENV = {
  RATE_LIMIT_PER_SECOND: String(RATE_PER_SECOND),
  RATE_LIMIT_BURST: String(BURST),
  TYPING_PER_SECOND: "2",
  JOINS_PER_MINUTE: "4",
  HISTORY_PER_MINUTE: "3",
  ROOMS_LIST_PER_MINUTE: "2",
};

/** A refusal that says how long to wait: never more than the limit's window. */
function expectRetryAfter(answer: Ack<object>, windowMs: number): void {
  expect(answer).toEqual({
    ok: false,
    error: { code: ErrorCode.RateLimited, message: expect.stringMatching(/\S/), retryAfterMs: expect.any(Number) },
  });
  if (answer.ok) return;
  expect(answer.error.retryAfterMs).toBeGreaterThan(0);
  expect(answer.error.retryAfterMs).toBeLessThanOrEqual(windowMs);
}

/** Splits answers into the accepted count and the refusals. */
function tally(answers: Ack<object>[]): { accepted: number; refused: Ack<object>[] } {
  return { accepted: answers.filter((answer) => answer.ok).length, refused: answers.filter((answer) => !answer.ok) };
}

/** Whole seconds begun since `started`: each lets one more send of the sustained rate in. */
const secondsSince = (started: number) => Math.ceil((Date.now() - started) / 1000);

/** Registers the tests of a deployment started with LIMITED_ENV. */
export function rateLimitTests(limited: Nodes): void {
  for (const event of ["room:send", "dm:send"] as const) {
    it(`${event}: the limit is the user's, summed over 4 sockets on every node`, async () => {
      const [room, alice, bob] = names("limited", "alice", "bob");
      // Sockets go to the nodes in turn: alice's four span every node of the deployment.
      const sockets = await limited.connectAll([alice, alice, alice, alice, bob]);
      const bobSocket = sockets[4];
      const aliceSockets = sockets.slice(0, 4);
      await joinAll(room, sockets);
      const payload = event === "room:send" ? { room, text: "hi" } : { to: bob, text: "hi" };

      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, k) => request(aliceSockets[k % 4]!, event, payload)),
      );
      const { accepted, refused } = tally(answers);
      expect(accepted).toBeGreaterThanOrEqual(BURST);
      expect(accepted).toBeLessThanOrEqual(BURST + secondsSince(started) * RATE_PER_SECOND);
      for (const answer of refused) expectRetryAfter(answer, 1000);
      if (event === "room:send") {
        // Refused messages were neither kept nor broadcast.
        const { messages } = await ok(bobSocket, "room:history", { room });
        expect(messages).toHaveLength(accepted);
      }

      // Only alice is slowed down; her connections and other requests go on, and bob sends.
      for (const socket of aliceSockets) expect(socket.connected).toBe(true);
      expect(await request(bobSocket, "room:send", { room, text: "not me" })).toMatchObject({ ok: true });
    });
  }

  it("room:send: after the wait the refusal names, sends are accepted again", async () => {
    const [room, alice] = names("refill", "alice");
    const [socket] = await limited.connectAll([alice]);
    await joinAll(room, [socket]);

    let refusal: Ack<object> | undefined;
    for (let i = 0; i < BURST + 5 && refusal === undefined; i++) {
      const answer = await request(socket, "room:send", { room, text: `burst ${i}` });
      if (!answer.ok) refusal = answer;
    }
    expect(refusal).toBeDefined();
    expectRetryAfter(refusal!, 1000);

    // Retried until accepted: without the refill, none ever is.
    const refilled = async () => (await request(socket, "room:send", { room, text: "refilled" })).ok;
    await expect.poll(refilled, { timeout: DEADLINE_MS, interval: 100 }).toBe(true);
  });

  it("typing: TYPING_PER_SECOND per user", async () => {
    const [room, alice] = names("typing-limit", "alice");
    const [one, two] = await limited.connectAll([alice, alice]);
    await joinAll(room, [one, two]);
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, k) => request(k % 2 === 0 ? one : two, "typing", { room, typing: k % 2 === 0 })),
    );
    const { accepted, refused } = tally(answers);
    expect(accepted).toBeGreaterThanOrEqual(2);
    expect(accepted).toBeLessThanOrEqual(2 * (1 + secondsSince(started)));
    for (const answer of refused) expectRetryAfter(answer, 1000);
  });

  it("room:join: JOINS_PER_MINUTE per user; joining a room again does not count", async () => {
    const rooms = names("j1", "j2", "j3", "j4", "j5");
    const [alice] = names("joiner");
    const [one, two] = await limited.connectAll([alice, alice]);
    await ok(one, "room:join", { room: rooms[0] });
    await ok(one, "room:join", { room: rooms[0] });
    await ok(two, "room:join", { room: rooms[1] });
    await ok(one, "room:join", { room: rooms[2] });
    await ok(two, "room:join", { room: rooms[3] });
    expectRetryAfter(await request(one, "room:join", { room: rooms[4] }), 60_000);
    // Already in it: answered without counting.
    expect(await request(one, "room:join", { room: rooms[0] })).toMatchObject({ ok: true });
  });

  it("room:history and rooms:list: HISTORY_PER_MINUTE and ROOMS_LIST_PER_MINUTE per user", async () => {
    const [room, alice] = names("reads", "alice");
    const [one, two] = await limited.connectAll([alice, alice]);
    await joinAll(room, [one, two]);
    const histories = await Promise.all(
      [one, two, one, two].map((socket) => request(socket, "room:history", { room })),
    );
    expect(tally(histories).accepted).toBe(3);
    for (const answer of tally(histories).refused) expectRetryAfter(answer, 60_000);
    const listings = await Promise.all([one, two, one].map((socket) => request(socket, "rooms:list", {})));
    expect(tally(listings).accepted).toBe(2);
    for (const answer of tally(listings).refused) expectRetryAfter(answer, 60_000);
  });
}
