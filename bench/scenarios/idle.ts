import { now, sleep } from "../clock.js";
import { connectClient } from "../load/clients.js";
import type { Layout } from "../layout.js";
import { Session } from "../session.js";
import { median } from "../stats.js";
import { processRssKiB } from "../system.js";
import type { MemoryReport } from "../targets/server-node.js";
import { interleave, resultsOf, serverFlags, type BenchContext, type TrialRecord } from "./context.js";

/** Memory of the one node before and after the idle clients connected, each after forced GCs. */
export interface IdleMeasurement {
  connections: number;
  /** KiB of V8 heap in use per connection. */
  heapKiBPerConnection: number;
  /** KiB of resident memory (/proc VmRSS) per connection. */
  rssKiBPerConnection: number;
  /**
   * Server cores (CPU-seconds per second, the whole process) spent per 10,000 of these connections
   * over one heartbeat interval: the pings and pongs, timers, and whatever else runs for them.
   */
  coresPer10kConnections: number;
  before: { heapUsed: number; rssKiB: number };
  after: { heapUsed: number; rssKiB: number };
  /** Whether the process really ran its GCs (it had --expose-gc). */
  gc: boolean;
  disturbed: boolean;
}

export interface IdleSummary {
  trials: number;
  heapKiBPerConnection?: number;
  rssKiBPerConnection?: number;
  coresPer10kConnections?: number;
}

export interface IdleResult {
  layout: { connections: number; roomSize: number };
  trials: Array<TrialRecord<IdleMeasurement>>;
  summary: Record<string, IdleSummary>;
}

/** How long connected clients sit before the second reading, so join-time garbage can be collected. */
const SETTLE_MS = 2000;

/**
 * How long the idle CPU is read for: Socket.IO's default ping interval, which both servers keep.
 * Every connection is pinged once in any window this long, wherever it starts, and the pings of
 * connections opened together come in one burst, so a shorter window would catch it or miss it.
 */
const HEARTBEAT_MS = 25_000;

/**
 * Clients that connect, join a room and leave before the first reading: the code a connection
 * runs is compiled once per process (about 1 KiB per connection at 2,000, seen in heap
 * snapshots), and is not a cost of each connection.
 */
const WARM_UP_CONNECTIONS = 200;

/**
 * Scenario 4: one node, `connections` clients that connect, join one room each and then do nothing.
 * Heap and RSS are read after forced full GCs, with no client (once `WARM_UP_CONNECTIONS` came
 * and went) and with all of them; the difference over the count is the cost of one idle
 * connection. Then the server's CPU over one heartbeat interval. Runs `config.idle.rounds` rounds.
 */
export async function idleScenario(context: BenchContext, layout: Layout, roomSize: number): Promise<IdleResult> {
  const connections = layout.clients.length;
  const rounds = { ...context, config: { ...context.config, rounds: context.config.idle.rounds } };
  const trials = await interleave(rounds, "idle", async (target) => {
    await context.redis.flush();
    let baseline: { report: MemoryReport; rssKiB: number } | undefined;
    const session = await Session.open({
      target,
      layout,
      generator: context.generator,
      redis: context.redis,
      tapRedis: false,
      nodeFlags: serverFlags(context),
      onStarted: async (running) => {
        const node = running.nodes[0]!;
        await warmUp(target.protocol, node.url, roomSize);
        const report = await node.memory();
        baseline = { report, rssKiB: processRssKiB(node.process.pid) ?? Number.NaN };
      },
    });
    try {
      await sleep(SETTLE_MS);
      const node = session.running.nodes[0]!;
      const report = await node.memory();
      const rssKiB = processRssKiB(node.process.pid) ?? Number.NaN;
      const cpuBefore = await node.cpuSeconds();
      const cpuFrom = now();
      await sleep(HEARTBEAT_MS);
      const cpuSeconds = (await node.cpuSeconds()) - cpuBefore;
      const seconds = (now() - cpuFrom) / 1000;
      const before = { heapUsed: baseline!.report.heapUsed, rssKiB: baseline!.rssKiB };
      const result: IdleMeasurement = {
        connections,
        heapKiBPerConnection: (report.heapUsed - before.heapUsed) / 1024 / connections,
        rssKiBPerConnection: (rssKiB - before.rssKiB) / connections,
        coresPer10kConnections: (cpuSeconds / seconds) * (10_000 / connections),
        before,
        after: { heapUsed: report.heapUsed, rssKiB },
        gc: report.gc && baseline!.report.gc,
        disturbed: false,
      };
      context.log(
        `  idle ${target.name}: ${result.heapKiBPerConnection.toFixed(1)} KiB heap, ` +
          `${result.rssKiBPerConnection.toFixed(1)} KiB RSS per connection, ` +
          `${result.coresPer10kConnections.toFixed(3)} cores per 10,000 connections`,
      );
      return { mode: session.running.mode, result };
    } finally {
      await session.close();
    }
  });
  const summary: Record<string, IdleSummary> = {};
  for (const target of context.targets) {
    const results = resultsOf(trials, target.name);
    summary[target.name] = {
      trials: results.length,
      heapKiBPerConnection: median(results.map((r) => r.heapKiBPerConnection)),
      rssKiBPerConnection: median(results.map((r) => r.rssKiBPerConnection)),
      coresPer10kConnections: median(results.map((r) => r.coresPer10kConnections)),
    };
  }
  return { layout: { connections, roomSize }, trials, summary };
}

/** Connects `WARM_UP_CONNECTIONS` clients to `url` in rooms of `roomSize`, then closes them all. */
async function warmUp(protocol: Parameters<typeof connectClient>[0]["protocol"], url: string, roomSize: number) {
  const hooks = { onMessage: () => undefined, onLost: () => undefined };
  const clients = await Promise.all(
    Array.from({ length: WARM_UP_CONNECTIONS }, (_, index) =>
      connectClient({ protocol, url, user: `warm-up-${index}`, hooks, timeoutMs: 10_000 }),
    ),
  );
  try {
    await Promise.all(clients.map((client, index) => client.join(`warm-up-${Math.floor(index / roomSize)}`)));
  } finally {
    for (const client of clients) client.close();
  }
  // The server has let them go when its reading comes (after forced GCs): it saw the closes first.
  await sleep(SETTLE_MS);
}
