import { now } from "../clock.js";
import type { LoadGenerator } from "../load/generator.js";
import { Histogram } from "../load/histogram.js";
import type { ClientPlan } from "../load/messages.js";
import type { StormResult } from "../load/scale-messages.js";
import { livePids } from "../processes.js";
import { percentiles, type Percentiles } from "../session.js";
import { machineCpu, processCpuSeconds } from "../system.js";
import type { RunningTarget, Target } from "../targets/target.js";
import type { BenchContext } from "./context.js";

/** Longest wait for one connection, and for each join, during a storm. */
const CONNECT_TIMEOUT_MS = 20_000;
/** Longest wait for a /metrics answer. */
const METRICS_TIMEOUT_MS = 3000;

/** Where the machine's cores went over an interval: the benchmark's roles, and everyone else. */
export interface Cores {
  servers: number;
  load: number;
  redis: number;
  /** Other processes' work (the busy check's figure). */
  foreign: number;
}

/** A storm over every worker: the workers' counts summed, their histograms merged into percentiles. */
export interface StormSummary extends Pick<
  StormResult,
  "planned" | "connected" | "refused" | "failed" | "joinsFailed"
> {
  /** From each client's due time to its `connect` event. */
  handshake: Percentiles;
  /** From each client's due time to the answer of its room join. */
  ready: Percentiles;
  /** From the first due time until the last client was ready. */
  seconds: number | undefined;
  /** Clients that got in only in the top-up after the storm, and those that did not get in at all. */
  toppedUp: number;
  topUpFailed: number;
  /** How late the load workers began their attempts, p99 ms: the generator's own lag. */
  startLagP99Ms: number | undefined;
  cores: Cores;
}

/** CPU-seconds of every process of the benchmark and of the machine, at one moment. */
export interface CpuMark {
  at: number;
  busy: number;
  cpu: Map<number, number>;
}

export const cpuMark = (): CpuMark => ({
  at: now(),
  busy: machineCpu().busy,
  cpu: new Map([...livePids(), process.pid].map((pid) => [pid, processCpuSeconds(pid) ?? Number.NaN])),
});

/** Cores each role used between two marks; `foreign` is the machine's busy time that was not ours. */
export function coresBetween(
  from: CpuMark,
  to: CpuMark,
  roles: { servers: number[]; load: number[]; redis: number },
): Cores {
  const seconds = (to.at - from.at) / 1000;
  // A process started in between counts from 0; one that exited in between is lost (foreign).
  const used = (pid: number) => {
    const delta = (to.cpu.get(pid) ?? Number.NaN) - (from.cpu.get(pid) ?? 0);
    return Number.isFinite(delta) ? delta : 0;
  };
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + used(pid), 0) / seconds;
  const ours = [...to.cpu.keys()].reduce((total, pid) => total + used(pid), 0);
  return {
    servers: sum(roles.servers),
    load: sum(roles.load),
    redis: sum([roles.redis]),
    foreign: Math.max(0, to.busy - from.busy - ours) / seconds,
  };
}

const addCounts = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
};
export const total = (counts: Record<string, number>) => Object.values(counts).reduce((sum, count) => sum + count, 0);

/** The workers' storm accounts, merged. */
function summarizeStorm(results: StormResult[], startAt: number, cores: Cores): StormSummary {
  const handshake = new Histogram();
  const ready = new Histogram();
  const startLag = new Histogram();
  const summary: StormSummary = {
    planned: 0,
    connected: 0,
    refused: {},
    failed: {},
    joinsFailed: 0,
    handshake: percentiles(handshake),
    ready: percentiles(ready),
    seconds: undefined,
    toppedUp: 0,
    topUpFailed: 0,
    startLagP99Ms: undefined,
    cores,
  };
  let lastReadyAt: number | undefined;
  for (const result of results) {
    summary.planned += result.planned;
    summary.connected += result.connected;
    summary.joinsFailed += result.joinsFailed;
    summary.toppedUp += result.toppedUp;
    summary.topUpFailed += result.topUpFailed;
    addCounts(summary.refused, result.refused);
    addCounts(summary.failed, result.failed);
    handshake.add(result.handshake);
    ready.add(result.ready);
    startLag.add(result.startLag);
    if (result.lastReadyAt !== undefined) lastReadyAt = Math.max(lastReadyAt ?? result.lastReadyAt, result.lastReadyAt);
  }
  // Clients that never connected (or joined) count as infinitely late, as lost deliveries do.
  handshake.recordMissing(summary.planned - summary.connected);
  ready.recordMissing(summary.planned - summary.connected + summary.joinsFailed);
  return {
    ...summary,
    handshake: percentiles(handshake),
    ready: percentiles(ready),
    seconds: lastReadyAt === undefined ? undefined : (lastReadyAt - startAt) / 1000,
    startLagP99Ms: startLag.quantile(0.99),
  };
}

/** A storm through `generator`, timed and accounted; `running` is the target it connects to. */
export async function timedStorm(
  context: BenchContext,
  generator: LoadGenerator,
  kind: Target["protocol"] | "sdk",
  clients: ClientPlan[],
  running: () => RunningTarget,
  paced: { maxInFlight?: number; topUpInFlight?: number } = {},
): Promise<{ group: number; storm: StormSummary }> {
  const rate = context.config.scale.stormRate;
  const from = cpuMark();
  const startAt = now() + 200;
  const { group, results } = await generator.storm(kind, clients, {
    startAt,
    ratePerSecond: rate,
    timeoutMs: CONNECT_TIMEOUT_MS,
    ...paced,
  });
  const cores = coresBetween(from, cpuMark(), {
    servers: running().nodes.map((node) => node.process.pid),
    load: generator.pids,
    redis: context.redis.pid,
  });
  return { group, storm: summarizeStorm(results, startAt, cores) };
}

/**
 * roomcast's own count of open client connections (`roomcast_connections_open` of /metrics);
 * undefined for a server without one (stock does not even answer: hence the timeout).
 */
export async function openConnections(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
    if (!response.ok) return undefined;
    const match = /^roomcast_connections_open(?:\{[^}]*\})? (\d+)/m.exec(await response.text());
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export const sumOf = (values: ReadonlyArray<number | undefined>): number | undefined =>
  values.some((value) => value === undefined) ? undefined : values.reduce<number>((sum, value) => sum + value!, 0);

export const describeStorm = (storm: StormSummary) =>
  `${storm.connected}/${storm.planned} connected in ${storm.seconds?.toFixed(1) ?? "-"} s` +
  (storm.toppedUp + storm.topUpFailed > 0 ? ` (then ${storm.toppedUp} in the top-up, ${storm.topUpFailed} not)` : "") +
  ", " +
  `refused ${total(storm.refused)}, failed ${total(storm.failed)}, joins failed ${storm.joinsFailed}, ` +
  `handshake p50/p99 ${storm.handshake.p50?.toFixed(1)}/${storm.handshake.p99?.toFixed(1)} ms, ` +
  `ready p99 ${storm.ready.p99?.toFixed(1)} ms, start lag p99 ${storm.startLagP99Ms?.toFixed(1)} ms, cores servers ${storm.cores.servers.toFixed(2)} ` +
  `load ${storm.cores.load.toFixed(2)} redis ${storm.cores.redis.toFixed(2)} foreign ${storm.cores.foreign.toFixed(2)}`;
