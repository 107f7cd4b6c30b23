/**
 * Name claims in open mode, across two nodes on one Redis: the first key claims a name on every
 * node; a keyless or other-key connection is refused while the right key works on both; the claim
 * outlives the connection that made it, and a node's restart (real processes from dist/: run
 * `npx tsc -p tsconfig.json` first), and the key never shows up in a reply or a log line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type ErrorBody } from "../protocol/index.js";
import { closeAllClients, connected, ok, within, type TestSocket } from "./support/clients.js";
import { leave, newKey, refusal, unique } from "./support/identity.js";
import { nodesOnOneRedis, type Deployment } from "./support/deployment.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";

const TAKEN: ErrorBody = { code: ErrorCode.Unauthorized, message: "that name is taken" };

/** Connects as `user`, with `key` when given. */
const as = (url: string, user: string, key?: string): Promise<TestSocket> =>
  connected(url, user, key === undefined ? {} : { auth: { user, key } });

afterEach(() => closeAllClients());

describe("name claims, two in-process nodes", () => {
  let deployment: Deployment;
  const url = (k: number) => deployment.urls[k % deployment.urls.length]!;

  beforeAll(async () => {
    deployment = await nodesOnOneRedis(2)();
  });
  afterAll(() => deployment?.close());

  it("a claim disconnects the keyless sockets that were using the name, on every node", async () => {
    const name = unique("squat");
    const squatters = [await as(url(0), name), await as(url(1), name)];
    const kicked = squatters.map((socket) =>
      within(new Promise<string>((resolve) => socket.once("disconnect", resolve)), "the squatter's disconnect"),
    );
    const owner = await as(url(0), name, newKey());
    expect(await Promise.all(kicked)).toEqual(["io server disconnect", "io server disconnect"]);
    // The owner stays, and hears its own DMs.
    const sender = await as(url(1), unique("sender"));
    const heard = within(new Promise((resolve) => owner.once("dm:message", resolve)), "the owner's DM");
    await ok(sender, "dm:send", { to: name, text: "for the owner" });
    await heard;
    expect(owner.connected).toBe(true);
  });

  it("claimed on node A: refused without the key or with another key on node B; the key works on both", async () => {
    const [alice, room] = [unique("alice"), unique("room")];
    const key = newKey();
    const onA = await as(url(0), alice, key);

    for (const k of [1, 0]) {
      expect(await refusal(url(k), { user: alice })).toEqual(TAKEN);
      expect(await refusal(url(k), { user: alice, key: newKey() })).toEqual(TAKEN);
    }
    const onB = await as(url(1), alice, key);
    await ok(onA, "room:join", { room });
    // Both sockets are the one user alice.
    expect((await ok(onB, "room:join", { room })).members).toEqual([alice]);
  });

  it("keeps the claim after the claiming connection disconnects", async () => {
    const alice = unique("alice");
    const key = newKey();
    await leave(await as(url(0), alice, key));

    expect(await refusal(url(1), { user: alice })).toEqual(TAKEN);
    expect(await refusal(url(0), { user: alice, key: newKey() })).toEqual(TAKEN);
    await leave(await as(url(1), alice, key));
    // Used again and left again: still claimed.
    expect(await refusal(url(0), { user: alice })).toEqual(TAKEN);
    await as(url(0), alice, key);
  });

  it("lets a keyless user in while a name is unclaimed, and the first key then claims it", async () => {
    const alice = unique("alice");
    await as(url(0), alice);
    await as(url(1), alice);
    const key = newKey();
    await as(url(1), alice, key);
    expect(await refusal(url(0), { user: alice })).toEqual(TAKEN);
    expect(await refusal(url(1), { user: alice, key: newKey() })).toEqual(TAKEN);
  });

  it("refuses a key of the wrong length or type, and never echoes a key", async () => {
    const alice = unique("alice");
    const message = "auth.key must be a string of 16 to 256 characters";
    for (const [k, key] of ["x".repeat(15), "x".repeat(257), 1234567890123456, ""].entries()) {
      expect(await refusal(url(k), { user: alice, key }), JSON.stringify(key)).toEqual({
        code: ErrorCode.Unauthorized,
        message,
      });
    }
    // A failed attempt claimed nothing.
    const key = newKey();
    await as(url(0), alice, key);
    const refused = await refusal(url(1), { user: alice, key: newKey() });
    expect(JSON.stringify(refused)).not.toContain(key);
  });
});

describe("name claims across a node restart (node processes)", () => {
  let cluster: ProcessCluster;

  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2 });
  });
  afterAll(() => cluster?.close());

  it("holds a claim made on node 1 after node 1 is SIGTERMed and started again", async () => {
    const alice = unique("alice");
    const key = newKey();
    const [first, second] = cluster.urls as [string, string];
    await as(first, alice, key);

    expect(await cluster.kill(0, "SIGTERM")).toBe(0);
    await cluster.restart(0);

    expect(await refusal(first, { user: alice })).toEqual(TAKEN);
    expect(await refusal(first, { user: alice, key: newKey() })).toEqual(TAKEN);
    expect(await refusal(second, { user: alice })).toEqual(TAKEN);
    const room = unique("room");
    const again = await as(first, alice, key);
    const elsewhere = await as(second, alice, key);
    await ok(again, "room:join", { room });
    expect((await ok(elsewhere, "room:join", { room })).members).toEqual([alice]);

    // No log line of either node holds the key.
    for (const node of cluster.nodes) {
      expect(node.logs.length).toBeGreaterThan(0);
      expect(JSON.stringify(node.logs)).not.toContain(key);
    }
  });
});
