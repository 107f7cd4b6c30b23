/**
 * Held DMs in open mode, across two nodes on one Redis. A DM sent while its recipient has no
 * socket is kept only for a claimed name, handed only to a connection that brings the name's key,
 * and removed only once a client acknowledges it (the `received` callback of `dm:message`), so a
 * connection that drops first gets it again, on any node. The SDK acknowledges what it receives.
 *
 * To show that a DM did NOT arrive, the sender then sends one more DM (a barrier): once that one
 * is in, a held DM would have come first (held DMs go out as the connection is served).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChatClient } from "../client/sdk/index.js";
import { ErrorCode, type DirectMessage, type ErrorBody } from "../protocol/index.js";
import { client, closeAllClients, connected, next, ok, within, type TestSocket } from "./support/clients.js";
import { leave, newKey, refusal, unique } from "./support/identity.js";
import { nodesOnOneRedis, type Deployment } from "./support/deployment.js";
import { conversationOf } from "./protocol/helpers.js";

const TAKEN: ErrorBody = { code: ErrorCode.Unauthorized, message: "that name is taken" };

/** A DM as a socket got it, and the `received` callback it came with (held DMs only). */
interface Arrival {
  dm: DirectMessage;
  received: (() => void) | undefined;
}

/** The DMs that arrived, as their conversation has them (a proven recipient's copy adds its feed place). */
const dmsOf = (arrivals: readonly Arrival[]): DirectMessage[] => arrivals.map((arrival) => conversationOf(arrival.dm));

/**
 * Opens a socket as `user` (with `key` when given) that records every DM from the first frame
 * on, with its callback: held DMs may come right after the connect.
 */
async function recipient(
  url: string,
  user: string,
  key?: string,
): Promise<{ socket: TestSocket; arrivals: Arrival[] }> {
  const socket = client(url, user, key === undefined ? {} : { auth: { user, key } });
  const arrivals: Arrival[] = [];
  socket.on("dm:message", (dm, received) => arrivals.push({ dm, received }));
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    }),
    `${user} to connect to ${url}`,
  );
  return { socket, arrivals };
}

/**
 * A DM from `sender` to `to` with a fixed clientId, first sent while `to` is online. Resending it
 * is a duplicate that stores and sends nothing, and whose ack still says whether `to` is online:
 * `offline()` waits, with it, until the server counts `to` as gone.
 */
async function presenceProbe(sender: TestSocket, to: string) {
  const probe = { to, text: "probe", clientId: unique("probe") };
  expect(await ok(sender, "dm:send", probe)).toMatchObject({ online: true });
  return {
    offline: () =>
      expect.poll(async () => (await ok(sender, "dm:send", probe)).online, { timeout: 10_000 }).toBe(false),
  };
}

/** Sends `sender` → `to` a fresh DM and waits until `socket` (a connection of `to`) has it. */
async function barrier(sender: TestSocket, to: string, socket: TestSocket): Promise<DirectMessage> {
  const text = unique("barrier");
  const arrived = next(socket, "dm:message", (dm) => dm.text === text);
  await ok(sender, "dm:send", { to, text });
  return arrived;
}

afterEach(() => closeAllClients());

describe("held DMs, two nodes", () => {
  let deployment: Deployment;
  const url = (k: number) => deployment.urls[k % deployment.urls.length]!;

  beforeAll(async () => {
    deployment = await nodesOnOneRedis(2)();
  });
  afterAll(() => deployment?.close());

  /** `dave` claims his name with `key` on node 0, and leaves; `alice` is online on node 1. */
  async function claimedAndOffline(dave: string, key: string): Promise<TestSocket> {
    const alice = await connected(url(1), unique("alice"));
    const claimed = await connected(url(0), dave, { auth: { user: dave, key } });
    const probe = await presenceProbe(alice, dave);
    await leave(claimed);
    await probe.offline();
    return alice;
  }

  it("holds a DM for a claimed name: keyless and wrong-key connections are refused, the key gets it", async () => {
    const dave = unique("dave");
    const key = newKey();
    const alice = await claimedAndOffline(dave, key);
    const sent = await ok(alice, "dm:send", { to: dave, text: "while you were out" });
    expect(sent).toMatchObject({ online: false, message: { to: dave, text: "while you were out" } });

    // Whoever comes as dave without his key cannot even connect, on either node.
    for (const k of [0, 1]) {
      expect(await refusal(url(k), { user: dave })).toEqual(TAKEN);
      expect(await refusal(url(k), { user: dave, key: newKey() })).toEqual(TAKEN);
    }

    const { socket, arrivals } = await recipient(url(1), dave, key);
    await expect.poll(() => arrivals.length).toBeGreaterThan(0);
    expect(dmsOf(arrivals)).toEqual([sent.message].map(conversationOf));
    expect(arrivals[0]!.received).toBeTypeOf("function");
    arrivals[0]!.received!();
    const live = await barrier(alice, dave, socket);
    expect(dmsOf(arrivals)).toEqual([sent.message, live].map(conversationOf));
    // A live DM asks for no acknowledgement.
    expect(arrivals[1]!.received).toBeUndefined();
  });

  it("holds nothing for an unclaimed name: online false, and not delivered when the user connects", async () => {
    const erin = unique("erin");
    const alice = await connected(url(0), unique("alice"));
    const sent = await ok(alice, "dm:send", { to: erin, text: "are you there" });
    expect(sent).toMatchObject({ online: false, message: { to: erin } });

    // erin comes without a key, on the other node: nothing waits for her.
    const keyless = await recipient(url(1), erin);
    const probe = await presenceProbe(alice, erin);
    const first = await barrier(alice, erin, keyless.socket);
    expect(keyless.arrivals.map((arrival) => arrival.dm.text)).toEqual(["probe", first.text]);

    // Nor was anything kept for whoever claims the name later: a proven connection gets no backlog.
    await leave(keyless.socket);
    await probe.offline();
    const claimed = await recipient(url(0), erin, newKey());
    const second = await barrier(alice, erin, claimed.socket);
    expect(dmsOf(claimed.arrivals)).toEqual([second].map(conversationOf));
  });

  it("keeps a held DM through a connection that drops before acknowledging it; gone once acknowledged", async () => {
    const dave = unique("dave");
    const key = newKey();
    const alice = await claimedAndOffline(dave, key);
    const { message } = await ok(alice, "dm:send", { to: dave, text: "do not lose me" });

    // Received on node 0, never acknowledged, dropped.
    const unacked = await recipient(url(0), dave, key);
    await expect.poll(() => unacked.arrivals.length).toBeGreaterThan(0);
    expect(dmsOf(unacked.arrivals)).toEqual([message].map(conversationOf));
    await leave(unacked.socket);

    // On the other node it comes again; this time it is acknowledged.
    const acked = await recipient(url(1), dave, key);
    await expect.poll(() => acked.arrivals.length).toBeGreaterThan(0);
    expect(dmsOf(acked.arrivals)).toEqual([message].map(conversationOf));
    acked.arrivals[0]!.received!();
    // One more round trip on the socket: the server has taken the acknowledgement in.
    await ok(acked.socket, "rooms:list", {});
    await leave(acked.socket);

    const after = await recipient(url(1), dave, key);
    const live = await barrier(alice, dave, after.socket);
    expect(dmsOf(after.arrivals)).toEqual([live].map(conversationOf));
  });

  it("the SDK (ChatClient with a key) receives held DMs and acknowledges them", async () => {
    const dave = unique("dave");
    const key = newKey();
    const alice = await claimedAndOffline(dave, key);
    const sent = [
      (await ok(alice, "dm:send", { to: dave, text: "first while away" })).message as DirectMessage,
      (await ok(alice, "dm:send", { to: dave, text: "second while away" })).message as DirectMessage,
    ];

    const sdk = new ChatClient({ urls: [url(1)], user: dave, key, backoff: { initialMs: 10, maxMs: 100 } });
    try {
      const dms: DirectMessage[] = [];
      sdk.on("dm", (dm) => dms.push(dm));
      await within(sdk.connect(), "the SDK to connect");
      // The SDK reads dave's DM feed (its newest DMs, the probes before he left among them), held ones too.
      await expect.poll(() => dms.slice(-2).map(conversationOf)).toEqual(sent.map(conversationOf));
      const feedIds = dms.map((dm) => dm.feedId);
      expect(new Set(feedIds).size).toBe(dms.length);
      // A round trip after the DMs: the server has their acknowledgements.
      await within(sdk.rooms(), "rooms() of the SDK");
    } finally {
      await sdk.close();
    }

    const after = await recipient(url(1), dave, key);
    const live = await barrier(alice, dave, after.socket);
    expect(dmsOf(after.arrivals)).toEqual([live].map(conversationOf));
  });
});
