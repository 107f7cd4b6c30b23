// The per-socket rate limit of room:send, dm:send and typing: a token bucket.
import { expect, it } from "vitest";
import { ErrorCode } from "../../protocol/index.js";
import { DEADLINE_MS, ok, request } from "../support/clients.js";
import { expectError, joinAll, names, type Nodes } from "./helpers.js";

/** RATE_LIMIT_PER_SECOND of the deployment `rateLimitTests` runs on. */
export const RATE_PER_SECOND = 1;
/** RATE_LIMIT_BURST of that deployment. */
export const BURST = 3;

/** Registers the tests of a deployment with RATE_LIMIT_PER_SECOND=RATE_PER_SECOND and RATE_LIMIT_BURST=BURST. */
export function rateLimitTests(limited: Nodes): void {
  for (const event of ["room:send", "dm:send", "typing"] as const) {
    it(`${event}: a burst beyond the limit gets rate_limited, per socket`, async () => {
      const [room, alice, bob] = names("limited", "alice", "bob");
      const [aliceSocket, bobSocket] = await limited.connectAll([alice, bob]);
      await joinAll(room, [aliceSocket, bobSocket]);
      const payload = {
        "room:send": { room, text: "hi" },
        "dm:send": { to: bob, text: "hi" },
        typing: { room, typing: true },
      };

      // Sent at once: far less than the second a new token takes to flow in.
      const burst = Array.from({ length: BURST + 3 }, () => request(aliceSocket, event, payload[event]));
      const answers = await Promise.all(burst);
      expect(answers.slice(0, BURST).map((answer) => answer.ok)).toEqual([true, true, true]);
      for (const answer of answers.slice(BURST)) expectError(answer, ErrorCode.RateLimited);
      if (event === "room:send") {
        // Refused messages were neither kept nor broadcast.
        const { messages } = await ok(bobSocket, "room:history", { room });
        expect(messages).toHaveLength(BURST);
      }

      // Only the limited socket is slowed down; its connection and other requests go on.
      expect(aliceSocket.connected).toBe(true);
      expect(await request(aliceSocket, "rooms:list", {})).toMatchObject({ ok: true });
      expect(await request(bobSocket, "room:send", { room, text: "not me" })).toMatchObject({ ok: true });
    });
  }

  it("room:send: tokens flow back in after a burst, so sends are accepted again", async () => {
    const [room, alice] = names("refill", "alice");
    const [socket] = await limited.connectAll([alice]);
    await joinAll(room, [socket]);

    for (let i = 0; i < BURST; i++) await ok(socket, "room:send", { room, text: `burst ${i}` });
    // Right after the burst the bucket is empty.
    expectError(await request(socket, "room:send", { room, text: "too soon" }), ErrorCode.RateLimited);

    // A token takes 1 / RATE_PER_SECOND s to flow in: retried until one is accepted. Without the
    // refill, none ever is.
    const refilled = async () => (await request(socket, "room:send", { room, text: "refilled" })).ok;
    await expect.poll(refilled, { timeout: DEADLINE_MS, interval: 100 }).toBe(true);
    const { messages } = await ok(socket, "room:history", { room });
    const texts = messages.map((message: { text: string }) => message.text);
    expect(texts).toEqual(["burst 0", "burst 1", "burst 2", "refilled"]);
  });
}
