/**
 * Limits that hold across the cluster (issue 11): per client address behind TRUST_PROXY, per
 * user, DMs held per sender and per recipient, admin sign-ins, and the Origin check; and Redis
 * keeping nothing without a bound or a TTL.
 */
import { createClient } from "redis";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, type ErrorBody } from "../protocol/index.js";
import { underAttack } from "./support/attack.js";
import { client, closeAllClients, connected, ok, within, type TestSocket } from "./support/clients.js";
import { startNode, TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { leave, newKey, unique } from "./support/identity.js";

afterEach(() => closeAllClients());

/** Connects through a proxy that says the client is `address`. */
const from = (address: string) => ({ extraHeaders: { "x-forwarded-for": address } });

/** Opens a socket that must be refused; resolves with its connect_error's data. */
function refusalOf(url: string, user: string, options: Parameters<typeof client>[2] = {}): Promise<ErrorBody> {
  const socket = client(url, user, options);
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => reject(new Error(`${user} connected but should be refused`)));
      socket.once("connect_error", (error: Error & { data?: ErrorBody }) => resolve(error.data!));
    }),
    `the refusal of ${user}`,
  );
}

/** A refusal that says how long to wait, never longer than `windowMs`. */
function expectWait(body: ErrorBody, windowMs: number): void {
  expect(body).toMatchObject({ code: ErrorCode.RateLimited, message: expect.stringMatching(/\S/) });
  expect(body.retryAfterMs).toBeGreaterThan(0);
  expect(body.retryAfterMs).toBeLessThanOrEqual(windowMs);
}

/** Connects, retrying while the refusal is a rate limit, until the deadline. */
async function connectOnceFree(url: string, user: string, options: Parameters<typeof client>[2]): Promise<TestSocket> {
  return within(
    (async () => {
      for (;;) {
        try {
          return await connected(url, user, options);
        } catch (error) {
          if ((error as { data?: ErrorBody }).data?.code !== ErrorCode.RateLimited) throw error;
        }
      }
    })(),
    `${user} to connect once a socket was released`,
  );
}

describe("per address, behind TRUST_PROXY=1, on two nodes", () => {
  const target = underAttack({
    TRUST_PROXY: "1",
    SOCKETS_PER_IP: "3",
    HANDSHAKES_PER_IP_PER_MINUTE: "12",
    ADMIN_FAILURES_PER_MINUTE: "5",
  });

  it("SOCKETS_PER_IP counts the forwarded address's sockets on every node", async () => {
    await target.before();
    const [first, second] = target.urls as [string, string];
    const sockets = [
      await connected(first, unique("a"), from("203.0.113.7")),
      await connected(second, unique("a"), from("203.0.113.7")),
      // Only the last hop is believed: what the client wrote before it is not its address.
      await connected(first, unique("a"), from("198.51.100.99, 203.0.113.7")),
    ];
    expectWait(await refusalOf(second, unique("a"), from("203.0.113.7")), 60_000);
    // Another address behind the same proxy is not affected.
    await connected(second, unique("b"), from("203.0.113.8"));

    // A socket closed on one node frees a place on the other.
    await leave(sockets[0]!);
    await connectOnceFree(second, unique("a"), from("203.0.113.7"));
    await target.survived();
  });

  it("HANDSHAKES_PER_IP_PER_MINUTE counts handshakes on every node, and says how long to wait", async () => {
    await target.before();
    for (let k = 0; k < 12; k++) {
      await leave(await connected(target.urls[k % 2]!, unique("c"), from("203.0.113.20")));
    }
    expectWait(await refusalOf(target.urls[0]!, unique("c"), from("203.0.113.20")), 60_000);
    expectWait(await refusalOf(target.urls[1]!, unique("c"), from("203.0.113.20")), 60_000);
    await connected(target.urls[1]!, unique("c"), from("203.0.113.21"));
    await target.survived();
  });

  it("failed admin sign-ins: over ADMIN_FAILURES_PER_MINUTE even the right token is refused, on every node", async () => {
    await target.before();
    const admin = (url: string, token: string, address: string) =>
      fetch(`${url}/admin/nodes`, { headers: { authorization: `Bearer ${token}`, "x-forwarded-for": address } });
    for (let k = 0; k < 5; k++) {
      expect((await admin(target.urls[k % 2]!, `guess-${k}`, "203.0.113.30")).status).toBe(401);
    }
    for (const url of target.urls) {
      const blocked = await admin(url, "guess", "203.0.113.30");
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
      const body = (await blocked.json()) as { ok: false; error: ErrorBody };
      expectWait(body.error, 60_000);
      expect((await admin(url, TEST_ADMIN_TOKEN, "203.0.113.30")).status).toBe(429);
      expect((await admin(url, TEST_ADMIN_TOKEN, "203.0.113.31")).status).toBe(200);
    }
    await target.survived();
  });
});

describe("per address, without TRUST_PROXY", () => {
  it("X-Forwarded-For is not believed: every socket counts for the peer's own address", async () => {
    const node = await startNode({ SOCKETS_PER_IP: "2" });
    try {
      await connected(node.url, unique("d"), from("203.0.113.40"));
      await connected(node.url, unique("d"), from("203.0.113.41"));
      expectWait(await refusalOf(node.url, unique("d"), from("203.0.113.42")), 60_000);
    } finally {
      closeAllClients();
      await node.close();
    }
  });
});

describe("per user, and DMs held, on two nodes", () => {
  const target = underAttack({
    SOCKETS_PER_USER: "3",
    DMS_HELD_PER_SENDER: "50",
    DMS_HELD_PER_RECIPIENT: "100",
  });

  it("SOCKETS_PER_USER counts the user's sockets on every node", async () => {
    await target.before();
    const [first, second] = target.urls as [string, string];
    const user = unique("many");
    const sockets = [await connected(first, user), await connected(second, user), await connected(first, user)];
    expectWait(await refusalOf(second, user), 60_000);
    await leave(sockets[1]!);
    await connectOnceFree(second, user, {});
    await target.survived();
  });

  it("a DM flood fills neither the victim's inbox nor pushes out the DMs held for them", async () => {
    const bystanders = await target.before();
    const [first, second] = target.urls as [string, string];
    const victim = unique("victim");
    const key = newKey();
    await leave(await connected(first, victim, { auth: { user: victim, key } }));

    const friend = await connected(second, unique("friend"));
    expect(await ok(friend, "dm:send", { to: victim, text: "the real one" })).toMatchObject({
      online: false,
      held: true,
    });
    const heldOf = async (sender: TestSocket) => {
      const answers = await Promise.all(
        Array.from({ length: 80 }, (_, k) => ok(sender, "dm:send", { to: victim, text: `spam ${k}` })),
      );
      return answers.filter((answer) => answer.held).length;
    };
    // Each flooder holds DMS_HELD_PER_SENDER at most; the inbox stops at DMS_HELD_PER_RECIPIENT.
    expect(await heldOf(await connected(first, unique("spammer")))).toBe(50);
    expect(await heldOf(await connected(second, unique("spammer")))).toBe(49);
    expect(await bystanders.probe()).toBeLessThan(1000);

    const back = client(first, victim, { auth: { user: victim, key } });
    const real = within(
      new Promise<void>((resolve) => {
        back.on("dm:message", (dm, received) => {
          received?.();
          if (dm.text === "the real one") resolve();
        });
      }),
      "the real DM",
    );
    await real;
    await target.survived();
  });
});

describe("Redis holds nothing unbounded", () => {
  const target = underAttack({ HISTORY_TTL_DAYS: "1" });

  it("after rooms, DMs to never-seen names, clientIds and claims, every key left has a TTL", async () => {
    await target.before();
    const [first, second] = target.urls as [string, string];
    const ann = await connected(first, unique("ann"), { auth: { user: unique("ann"), key: newKey() } });
    const bob = await connected(second, unique("bob"));
    const room = unique("room");
    await ok(ann, "room:join", { room });
    await ok(bob, "room:join", { room });
    for (let k = 0; k < 20; k++) await ok(ann, "room:send", { room, text: `m${k}`, clientId: `c${k}` });
    for (let k = 0; k < 50; k++) await ok(bob, "dm:send", { to: unique("nobody"), text: "hello?", clientId: `d${k}` });
    const redis = createClient({ url: target.redisUrl });
    await redis.connect();
    try {
      // Everyone leaves, the bystanders too; then only what has a TTL may stay.
      closeAllClients();
      const online = async () => (await redis.keys("*:{n:*}:users")).length;
      await expect.poll(online, { timeout: 10_000 }).toBe(0);
      const withoutTtl: string[] = [];
      for await (const keys of redis.scanIterator({ COUNT: 1000 })) {
        for (const key of keys) if ((await redis.pTTL(key)) === -1) withoutTtl.push(key);
      }
      // What remains without a TTL is the nodes' own bookkeeping, bounded by the number of nodes,
      // and the one marker saying that the mutes of earlier versions were moved.
      const structural = /:(nodes|address-instances|migrated:legacy-mutes)$/;
      expect(withoutTtl.filter((key) => !structural.test(key))).toEqual([]);
      const index = withoutTtl.find((key) => key.endsWith(":room-index"));
      expect(index).toBeUndefined();
    } finally {
      await redis.close();
    }
    await target.survived();
  });
});
