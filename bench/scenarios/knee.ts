import { sleep } from "../clock.js";
import type { BenchConfig } from "../config.js";
import type { Layout } from "../layout.js";
import { Session, type Measurement } from "../session.js";
import { median } from "../stats.js";
import { interleave, resultsOf, serverFlags, type BenchContext, type TrialRecord } from "./context.js";

/** One rate of a scan. */
export interface KneeStep {
  rate: number;
  deliveriesPerSecond: number;
  perServerCpuSecond: number;
  p99Ms: number | undefined;
  missing: number;
  /** Cores the server processes and the load generator used: which of them ran out first. */
  serverCores: number;
  loadCores: number;
  disturbed: boolean;
}

/** One scan of one target: rates raised until p99 passes the limit. */
export interface KneeScan {
  /** The highest rate whose p99 stayed within the limit (chat messages per second); 0 if none. */
  kneeRate: number;
  /** Deliveries per second measured at that rate. */
  kneeDeliveriesPerSecond: number;
  /** Cores of the servers and of the load generator at that rate. */
  kneeServerCores: number;
  kneeLoadCores: number;
  steps: KneeStep[];
  disturbed: boolean;
}

export interface KneeSummary {
  trials: number;
  kneeRate?: number;
  kneeDeliveriesPerSecond?: number;
  kneeServerCores?: number;
  kneeLoadCores?: number;
}

export interface KneeResult {
  layout: { nodes: number; clients: number; senders: number };
  scan: BenchConfig["knee"];
  trials: Array<TrialRecord<KneeScan>>;
  summary: Record<string, KneeSummary>;
}

const stepOf = (rate: number, m: Measurement): KneeStep => ({
  rate,
  deliveriesPerSecond: m.deliveriesPerSecond,
  perServerCpuSecond: m.perServerCpuSecond,
  p99Ms: m.latency.p99,
  missing: m.missing,
  serverCores: m.cpu.servers.reduce((sum, cpu) => sum + cpu, 0) / m.windowSeconds,
  loadCores: m.cpu.load / m.windowSeconds,
  disturbed: m.disturbed,
});

/**
 * Scenario 5: on the hot-room layout, raises the rate by `factor` per step until the p99 latency
 * passes the limit (missing deliveries count as infinitely late), at most `maxSteps` steps. A step
 * that passes the limit, or that the busy check marks disturbed, is measured once more and the better
 * of the two counts: one stall of a shared machine does not end a scan. The first step follows an
 * unmeasured warm-up at the starting rate.
 */
export async function kneeScenario(context: BenchContext, layout: Layout): Promise<KneeResult> {
  const scan = context.config.knee;
  const shape = {
    warmupMs: scan.warmupMs,
    windowMs: scan.windowMs,
    drainMs: scan.drainMs,
    textLength: context.config.textLength,
    burst: 1,
  };
  const trials = await interleave(context, "knee", async (target) => {
    await context.redis.flush();
    const session = await Session.open({
      target,
      layout,
      generator: context.generator,
      redis: context.redis,
      tapRedis: false,
      nodeFlags: serverFlags(context),
    });
    const steps: KneeStep[] = [];
    let knee: KneeStep | undefined;
    try {
      let rate = scan.startRate;
      await session.measure({ ...shape, rate });
      for (let step = 0; step < scan.maxSteps; step++, rate = Math.round(rate * scan.factor)) {
        let measured = await session.measure({ ...shape, rate });
        if (measured.disturbed || !((measured.latency.p99 ?? Infinity) <= scan.p99LimitMs)) {
          await sleep(500);
          const again = await session.measure({ ...shape, rate });
          if ((again.latency.p99 ?? Infinity) < (measured.latency.p99 ?? Infinity)) measured = again;
        }
        const current = stepOf(rate, measured);
        steps.push(current);
        const within = current.p99Ms !== undefined && current.p99Ms <= scan.p99LimitMs;
        if (!within) break;
        knee = current;
        // Let whatever queued behind a loaded step drain before the next one.
        await sleep(500);
      }
    } finally {
      await session.close();
    }
    const result: KneeScan = {
      kneeRate: knee?.rate ?? 0,
      kneeDeliveriesPerSecond: knee?.deliveriesPerSecond ?? 0,
      kneeServerCores: knee?.serverCores ?? 0,
      kneeLoadCores: knee?.loadCores ?? 0,
      steps,
      disturbed: steps.some((step) => step.disturbed),
    };
    const last = steps.at(-1);
    context.log(
      `  knee ${target.name}: ${result.kneeRate} msgs/s = ${Math.round(result.kneeDeliveriesPerSecond)} deliveries/s` +
        ` (${steps.length} steps; at the last, servers ${last?.serverCores.toFixed(2)} cores, load generator ` +
        `${last?.loadCores.toFixed(2)})${result.disturbed ? " (busy)" : ""}`,
    );
    return { mode: session.running.mode, result };
  });
  const summary: Record<string, KneeSummary> = {};
  for (const target of context.targets) {
    const results = resultsOf(trials, target.name);
    summary[target.name] = {
      trials: results.length,
      kneeRate: median(results.map((r) => r.kneeRate)),
      kneeDeliveriesPerSecond: median(results.map((r) => r.kneeDeliveriesPerSecond)),
      kneeServerCores: median(results.map((r) => r.kneeServerCores)),
      kneeLoadCores: median(results.map((r) => r.kneeLoadCores)),
    };
  }
  return {
    layout: { nodes: layout.nodes, clients: layout.clients.length, senders: layout.senders.length },
    scan,
    trials,
    summary,
  };
}
