import type { FixedRateSize } from "../config.js";
import type { Layout } from "../layout.js";
import { Session, type Measurement } from "../session.js";
import { median, total } from "../stats.js";
import { interleave, resultsOf, serverFlags, type BenchContext, type TrialRecord } from "./context.js";

/** Medians over the rounds of one target. */
export interface FixedRateSummary {
  trials: number;
  disturbed: number;
  deliveriesPerSecond?: number;
  perServerCpuSecond?: number;
  perCpuSecondWithRedis?: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  missing?: number;
  redisPushesPerChatMessage?: number;
  /** Server CPU (all nodes) and Redis CPU per chat message of the window, microseconds. */
  serverCpuUsPerChatMessage?: number;
  redisCpuUsPerChatMessage?: number;
  /** Cores of the server processes with the clients connected and nobody sending (all nodes). */
  idleServerCores?: number;
  /** serverCpuUsPerChatMessage less what the nodes spend idle over the same time: the traffic's own cost. */
  serverCpuUsPerChatMessageAboveIdle?: number;
  serverWritesPerDelivery?: number;
}

export interface FixedRateResult {
  layout: { nodes: number; clients: number; rooms: number; senders: number };
  load: FixedRateSize & { textLength: number; burst: number };
  trials: Array<TrialRecord<Measurement>>;
  summary: Record<string, FixedRateSummary>;
}

/** CPU-seconds over the window's chat messages, in microseconds. */
const perChatMessage = (cpuSeconds: number | undefined, m: Measurement) =>
  cpuSeconds === undefined || m.chatMessages === 0 ? undefined : (cpuSeconds * 1e6) / m.chatMessages;

/** A progress line for one measurement. */
export function describe(result: Measurement): string {
  return (
    `${Math.round(result.deliveriesPerSecond)} deliveries/s, ${Math.round(result.perServerCpuSecond)} per server CPU-s, ` +
    `p99 ${result.latency.p99?.toFixed(1)} ms, ${result.serverWritesPerDelivery.toFixed(2)} writes/delivery` +
    (result.redis ? `, ${result.redis.perChatMessage.toFixed(2)} Redis pushes/msg` : "") +
    `, CPU servers ${result.cpu.servers.map((cpu) => (cpu / result.windowSeconds).toFixed(2)).join("+")} ` +
    `load ${(result.cpu.load / result.windowSeconds).toFixed(2)} redis ${((result.cpu.redis ?? 0) / result.windowSeconds).toFixed(2)}, ` +
    `foreign ${result.before.foreign.toFixed(2)}/${result.during.foreign.toFixed(2)}` +
    (result.lost > 0 ? `, ${result.lost} connections lost` : "") +
    (result.strays > 0 ? `, ${result.strays} deliveries to another target's clients (cross-talk!)` : "") +
    (result.disturbed ? " (busy)" : "")
  );
}

/** Runs one layout at one fixed rate against every target, interleaved over the rounds. */
export async function fixedRate(
  context: BenchContext,
  label: string,
  layout: Layout,
  size: FixedRateSize,
  options: { tapRedis: boolean },
): Promise<FixedRateResult> {
  const shape = { ...size, textLength: context.config.textLength, burst: context.config.burst };
  // Every target runs for the whole scenario, its clients connected; the rounds take turns loading
  // one of them while the others sit idle (the busy check counts their CPU as the benchmark's own).
  await context.redis.flush();
  const sessions = new Map<string, Session>();
  let trials: Array<TrialRecord<Measurement>>;
  try {
    // One target after another: on a shared 2-core machine, two targets' nodes booting at once (8
    // processes in a 4-node layout) have missed Fastify's 10 s plugin timeout.
    for (const target of context.targets) {
      const session = await Session.open({
        target,
        layout,
        generator: context.generator,
        redis: context.redis,
        tapRedis: options.tapRedis,
        nodeFlags: serverFlags(context),
      });
      sessions.set(target.name, session);
    }
    trials = await interleave(context, label, async (target) => {
      const session = sessions.get(target.name)!;
      const result = await session.measure(shape);
      context.log(`  ${label} ${target.name}: ${describe(result)}`);
      return { mode: session.running.mode, result };
    });
  } finally {
    await Promise.allSettled([...sessions.values()].map((session) => session.close()));
  }
  const summary: Record<string, FixedRateSummary> = {};
  for (const target of context.targets) {
    const results = resultsOf(trials, target.name);
    summary[target.name] = {
      trials: results.length,
      disturbed: trials.filter((trial) => trial.target === target.name && trial.disturbed).length,
      deliveriesPerSecond: median(results.map((r) => r.deliveriesPerSecond)),
      perServerCpuSecond: median(results.map((r) => r.perServerCpuSecond)),
      perCpuSecondWithRedis: median(results.map((r) => r.perCpuSecondWithRedis)),
      p50Ms: median(results.map((r) => r.latency.p50)),
      p99Ms: median(results.map((r) => r.latency.p99)),
      p999Ms: median(results.map((r) => r.latency.p999)),
      missing: median(results.map((r) => r.missing)),
      redisPushesPerChatMessage: median(results.map((r) => r.redis?.perChatMessage)),
      serverCpuUsPerChatMessage: median(results.map((r) => perChatMessage(total(r.cpu.servers), r))),
      redisCpuUsPerChatMessage: median(results.map((r) => perChatMessage(r.cpu.redis, r))),
      idleServerCores: median(results.map((r) => r.idleServerCores)),
      serverCpuUsPerChatMessageAboveIdle: median(
        results.map((r) => perChatMessage(total(r.cpu.servers) - r.idleServerCores * r.windowSeconds, r)),
      ),
      serverWritesPerDelivery: median(results.map((r) => r.serverWritesPerDelivery)),
    };
  }
  return {
    layout: {
      nodes: layout.nodes,
      clients: layout.clients.length,
      rooms: Object.keys(layout.roomSizes).length,
      senders: layout.senders.length,
    },
    load: shape,
    trials,
    summary,
  };
}
