/**
 * The fuzz campaign (issue 11): many concurrent raw connections send malformed frames to the
 * nodes over WebSocket and HTTP long-polling, while a well-behaved pair of clients on two nodes
 * keeps chatting. The report counts what the server answered, how it closed connections, whether
 * a node died, and whether the pair lost a message.
 *
 * The parts: the nodes (cluster.ts), raw connections (wire.ts), Socket.IO over them (session.ts),
 * the lanes that send the frames (lanes.ts), what they count (tally.ts), the pair (pair.ts).
 */
import type { NodeProcess } from "../support/processes.js";
import { everyNodeHealthy, rssKiB, settledSockets, warningsAndErrors } from "./cluster.js";
import { CATEGORIES, frameSource, seededRandom, type FrameSource } from "./frames.js";
import { runLane } from "./lanes.js";
import { WellBehavedPair } from "./pair.js";
import { Tally, type Counts, type Finding } from "./tally.js";
import { TRANSPORTS, dropIdleHttpConnections, type Transport } from "./wire.js";

export interface FuzzOptions {
  /** The node processes to fuzz (from `startFuzzCluster`); the pair uses the first two. */
  nodes: readonly NodeProcess[];
  /** Malformed frames to send in all. */
  frames: number;
  seed: number;
  /** Concurrent fuzz connections. @default 32 */
  lanes?: number;
  /** Called every `progressEvery` frames with the frames sent so far. */
  onProgress?: (frames: number, seconds: number) => void;
  /** @default 10_000 */
  progressEvery?: number;
}

export interface FuzzReport {
  seed: number;
  frames: number;
  byTransport: Counts;
  byCategory: Counts;
  byTransportAndCategory: Record<Transport, Counts>;
  /** Acks of fuzz frames, by error code ("ok" for a success). */
  acksByCode: Counts;
  /**
   * How connections ended, or bodies were refused, after a frame: WebSocket close codes
   * ("websocket:1009"), polling statuses ("polling:http-413") and close packets.
   */
  closesByCode: Counts;
  /** Handshakes refused, by code (or by message for an unknown namespace). */
  connectErrorsByCode: Counts;
  /** Frames that got neither their ack nor a close within 30 s. */
  unanswered: number;
  /** Node processes that exited. */
  crashes: number;
  /** Every node answered /healthz and /readyz with 200 at the end. */
  healthy: boolean;
  lostMessages: number;
  pairMessages: number;
  pairDuplicates: number;
  pairOutOfOrder: number;
  pairSendFailures: number;
  pairDisconnects: number;
  /** Fuzz connections opened, and attempts that failed to open. */
  connections: number;
  connectFailures: number;
  /** Sockets still registered once every fuzz connection closed: the pair's 2 when none leaked. */
  socketsAfter: number;
  /** How long the registry took to come down to `socketsAfter` after the last frame. */
  secondsToSettle: number;
  /** The nodes' warnings and errors, by level, message and cause. */
  nodeLogs: Counts;
  /**
   * Resident set size of each node (not its heap: no endpoint exposes that), before the pair
   * connected, at its highest sample (every 1,000 frames), and after the fuzz connections closed.
   */
  rssBeforeKiB: number[];
  rssPeakKiB: number[];
  rssAfterKiB: number[];
  seconds: number;
  findings: Finding[];
}

const tenths = (value: number) => Math.round(value * 10) / 10;

/** Frames between two RSS samples. */
const RSS_SAMPLE_EVERY = 1_000;

/**
 * Runs a campaign: `frames` malformed frames over `lanes` concurrent connections, spread over
 * both transports and every node, while the well-behaved pair chats; then checks the pair, the
 * processes, their health, the registry and their memory.
 */
export async function runFuzzCampaign(options: FuzzOptions): Promise<FuzzReport> {
  const { nodes, seed } = options;
  const urls = nodes.map((node) => node.url);
  const startedAt = Date.now();
  const rssBefore = await Promise.all(nodes.map(rssKiB));
  const rssPeak = rssBefore.map((kib) => kib ?? 0);
  const sampleRss = async () =>
    (await Promise.all(nodes.map(rssKiB))).forEach((kib, k) => (rssPeak[k] = Math.max(rssPeak[k]!, kib ?? 0)));
  const pair = await WellBehavedPair.start(urls, seed);
  const tally = new Tally();
  const source = frameSource(seed);
  const budget = { left: options.frames };
  const progressEvery = options.progressEvery ?? 10_000;
  const counted: FrameSource = {
    next() {
      const frame = source.next();
      const sent = frame.index + 1;
      if (sent % RSS_SAMPLE_EVERY === 0) void sampleRss();
      if (sent % progressEvery === 0) options.onProgress?.(sent, (Date.now() - startedAt) / 1000);
      return frame;
    },
  };
  const lanes = options.lanes ?? 32;
  await Promise.all(
    Array.from({ length: lanes }, (_, k) =>
      runLane({
        // Lanes alternate transports, and take the nodes in turn within each transport.
        transport: TRANSPORTS[k % 2]!,
        url: urls[Math.floor(k / 2) % urls.length]!,
        user: `fz-${k}`,
        source: counted,
        budget,
        tally,
        random: seededRandom(seed + 1 + k),
      }),
    ),
  );
  const pairReport = await pair.stop();
  // Every lane closed its last connection, and the server answered the long polls on closing.
  dropIdleHttpConnections();
  const settleStart = Date.now();
  const socketsAfter = await settledSockets(urls[0]!, 2);
  const secondsToSettle = tenths((Date.now() - settleStart) / 1000);
  const rssAfter = await Promise.all(nodes.map(rssKiB));
  await sampleRss();
  pair.close();
  const healthy = await everyNodeHealthy(urls);
  return {
    seed,
    frames: tally.frames,
    byTransport: tally.byTransport,
    byCategory: Object.fromEntries(CATEGORIES.map((category) => [category, tally.byCategory[category] ?? 0])),
    byTransportAndCategory: tally.byTransportAndCategory,
    acksByCode: tally.acksByCode,
    closesByCode: tally.closesByCode,
    connectErrorsByCode: tally.connectErrorsByCode,
    unanswered: tally.unanswered,
    crashes: nodes.filter((node) => !node.running).length,
    healthy,
    lostMessages: pairReport.lost,
    pairMessages: pairReport.messages,
    pairDuplicates: pairReport.duplicates,
    pairOutOfOrder: pairReport.outOfOrder,
    pairSendFailures: pairReport.sendFailures,
    pairDisconnects: pairReport.disconnects,
    connections: tally.connections,
    connectFailures: tally.connectFailures,
    socketsAfter,
    secondsToSettle,
    nodeLogs: warningsAndErrors(nodes),
    rssBeforeKiB: rssBefore.map((kib) => kib ?? 0),
    rssPeakKiB: rssPeak,
    rssAfterKiB: rssAfter.map((kib) => kib ?? 0),
    seconds: tenths((Date.now() - startedAt) / 1000),
    findings: tally.findings,
  };
}

/** What makes a campaign fail, in words; empty when it passed. */
export function campaignFailures(report: FuzzReport): string[] {
  const problems: string[] = [];
  if (report.crashes > 0) problems.push(`${report.crashes} node(s) crashed`);
  if (!report.healthy) problems.push("a node does not answer /healthz and /readyz with 200");
  if (report.lostMessages > 0) problems.push(`the pair lost ${report.lostMessages} message(s)`);
  if (report.pairDuplicates + report.pairOutOfOrder > 0)
    problems.push("the pair got duplicates or messages out of order");
  if ((report.acksByCode.internal ?? 0) + (report.connectErrorsByCode.internal ?? 0) > 0) {
    problems.push("the server answered `internal`");
  }
  if (report.unanswered > 0) problems.push(`${report.unanswered} frame(s) got neither an ack nor a close`);
  return problems;
}
