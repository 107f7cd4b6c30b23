/**
 * The fuzz harness's short form (issue 11): a few thousand malformed Engine.IO and Socket.IO
 * frames, over WebSocket and long-polling, against two node processes on one Redis, while a
 * well-behaved pair of clients chats across the two nodes. The long form is `npm run fuzz`.
 *
 * FUZZ_SEED=<n> replays another campaign; a failure prints the seed with the report.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATEGORIES, EVENT_PAYLOAD_CASE_COUNT } from "./fuzz/frames.js";
import { startFuzzCluster } from "./fuzz/cluster.js";
import { runFuzzCampaign, type FuzzReport } from "./fuzz/harness.js";
import { TRANSPORTS } from "./fuzz/wire.js";

/** Enough for every event-payload case once (about a third of the frames are that category). */
const FRAMES = 2_400;
const SEED = Number(process.env.FUZZ_SEED ?? 11);
/** Growth of a node's resident set that would mean the frames leak. */
const MAX_RSS_GROWTH_KIB = 300 * 1024;

describe("two nodes under malformed frames", () => {
  let cluster: Awaited<ReturnType<typeof startFuzzCluster>> | undefined;
  let report: FuzzReport;
  /** The report without its bulk, for failure messages. */
  const summary = () => JSON.stringify({ ...report, byTransportAndCategory: undefined }, null, 1);

  beforeAll(async () => {
    cluster = await startFuzzCluster();
    report = await runFuzzCampaign({ nodes: cluster.nodes, frames: FRAMES, seed: SEED });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("sends every category over both transports, and every event with every wrong payload type", () => {
    expect(report.frames).toBe(FRAMES);
    for (const transport of TRANSPORTS) {
      for (const category of CATEGORIES) {
        expect(report.byTransportAndCategory[transport][category], `${category} over ${transport}`).toBeGreaterThan(0);
      }
    }
    expect(report.byCategory["event-payload"]).toBeGreaterThanOrEqual(EVENT_PAYLOAD_CASE_COUNT);
  });

  it("keeps both nodes alive and healthy", () => {
    expect(report.crashes, summary()).toBe(0);
    expect(report.healthy, summary()).toBe(true);
  });

  it("answers every ack it owes, and never with `internal`", () => {
    expect(report.acksByCode.internal ?? 0, summary()).toBe(0);
    expect(report.connectErrorsByCode.internal ?? 0, summary()).toBe(0);
    expect(report.unanswered, summary()).toBe(0);
    expect(report.acksByCode.bad_request).toBeGreaterThan(0);
    // Oversized frames end the connection (WebSocket) or the request (polling), as the limit says.
    expect(report.closesByCode["websocket:1009"]).toBeGreaterThan(0);
    expect(report.closesByCode["polling:http-413"]).toBeGreaterThan(0);
    // Invalid UTF-8 in a WebSocket text frame closes it.
    expect(report.closesByCode["websocket:1007"]).toBeGreaterThan(0);
  });

  it("delivers every acknowledged message of the well-behaved pair exactly once, in order", () => {
    expect(report.pairMessages).toBeGreaterThan(0);
    expect(report.lostMessages, summary()).toBe(0);
    expect(report.pairDuplicates, summary()).toBe(0);
    expect(report.pairOutOfOrder, summary()).toBe(0);
    expect(report.pairSendFailures, summary()).toBe(0);
    expect(report.pairDisconnects, summary()).toBe(0);
  });

  it("lets go of every fuzz connection, and grows by less than 300 MB", () => {
    expect(report.socketsAfter, summary()).toBe(2);
    report.rssAfterKiB.forEach((after, node) => {
      expect(after - report.rssBeforeKiB[node]!, summary()).toBeLessThan(MAX_RSS_GROWTH_KIB);
    });
  });
});
