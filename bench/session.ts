import { now, sleep, sleepUntil } from "./clock.js";
import type { Layout } from "./layout.js";
import type { LoadGenerator } from "./load/generator.js";
import { Histogram } from "./load/histogram.js";
import type { ClientPlan } from "./load/messages.js";
import { livePids } from "./processes.js";
import { RedisTap, pushDelta, pushTotal, type PushCounts } from "./redis-tap.js";
import type { BenchRedis } from "./redis.js";
import { total } from "./stats.js";
import { machineCpu, processCpuSeconds, processWriteCalls, type MachineCpu } from "./system.js";
import type { RunningTarget, Target } from "./targets/target.js";

/**
 * A trial is marked disturbed when processes other than the benchmark's used more than this many
 * cores on average while it ran (or just before it): the machine is shared.
 */
export const FOREIGN_CORES_LIMIT = 0.2;

/** Where the machine's CPU went in an interval, in cores (CPU-seconds per second). */
export interface CpuShare {
  /** Time processes spent, ours and everyone else's. */
  busy: number;
  /** busy minus the benchmark's own processes: someone else's load. */
  foreign: number;
  /** Cores a hypervisor gave to another guest. */
  steal: number;
}

/** Latency percentiles of a histogram, ms; Infinity when the rank falls among missing values. */
export interface Percentiles {
  p50: number | undefined;
  p99: number | undefined;
  p999: number | undefined;
  count: number;
}

/** The percentiles of a histogram, as the tables show them. */
export const percentiles = (histogram: Histogram): Percentiles => ({
  p50: histogram.quantile(0.5),
  p99: histogram.quantile(0.99),
  p999: histogram.quantile(0.999),
  count: histogram.count,
});

export interface Measurement {
  /** Chat messages per second the schedule offered. */
  offeredPerSecond: number;
  windowSeconds: number;
  /** room:message events received while the window was open, per second. */
  deliveriesPerSecond: number;
  deliveries: number;
  /** Chat messages due in the window (sent by the generator), all rooms together. */
  chatMessages: number;
  /** Deliveries per CPU-second of the server processes (Redis not counted). */
  perServerCpuSecond: number;
  /** Deliveries per CPU-second of the server processes and Redis together. */
  perCpuSecondWithRedis: number | undefined;
  /**
   * CPU-seconds in the window: each server process by its own `process.cpuUsage()` (through
   * targets/probe.mjs), Redis by `INFO cpu`, the load generator and this process by /proc/<pid>/stat.
   */
  cpu: { servers: number[]; redis: number | undefined; load: number; orchestrator: number };
  /**
   * Cores the server processes used in the 0.5 s before the load, their clients connected and
   * nobody sending: what the nodes cost without traffic (timers, heartbeats, pings).
   */
  idleServerCores: number;
  /** Write system calls of the server processes per delivery (1 = one frame per write). */
  serverWritesPerDelivery: number;
  /** End-to-end latency of the window's messages, ms, from the intended send time; Infinity if missing. */
  latency: Percentiles;
  /** The same for each of the layout's latency groups (scenario 7). */
  latencyByGroup?: Record<string, Percentiles>;
  /** From the intended send time to the sender's receipt of the ack; an ack missing at the end is Infinity. */
  ackLatency: Percentiles;
  /** Deliveries of the window's messages that had not arrived by the end of the drain. */
  missing: number;
  expected: number;
  /** How late the generator sent (p99, ms): high means the generator, not the server, lagged. */
  sendLagP99: number | undefined;
  acksFailed: number;
  lost: number;
  /** Deliveries to another target's clients while this one ran: must be 0. */
  strays: number;
  /**
   * Pub/sub deliveries Redis pushed to the nodes, when taps were in place: counted from before the
   * first send of the run until the pushes stop after the last, over every message the run sent.
   */
  redis?: { pushes: number; chatMessages: number; perChatMessage: number; byKind: PushCounts; perNode: number[] };
  before: CpuShare;
  during: CpuShare;
  disturbed: boolean;
}

/** The times of one measurement, monotonic ms: load from `startAt`, measured in the window, until `stopAt`. */
export interface Schedule {
  startAt: number;
  windowStart: number;
  windowEnd: number;
  stopAt: number;
}

export interface LoadShape {
  /** Chat messages per second, all senders together. */
  rate: number;
  warmupMs: number;
  windowMs: number;
  drainMs: number;
  textLength: number;
  /** Messages due together (1: evenly spaced). */
  burst: number;
}

/**
 * Waits, at most `maxMs`, until the machine runs less than FOREIGN_CORES_LIMIT cores of work that is
 * not the benchmark's (sampled over 1 s at a time). Resolves whether it got quiet.
 */
export async function waitForQuiet(maxMs: number): Promise<boolean> {
  const deadline = now() + maxMs;
  do {
    const own = () => [...livePids(), process.pid].reduce((sum, pid) => sum + (processCpuSeconds(pid) ?? 0), 0);
    const [machineBefore, ownBefore, at] = [machineCpu(), own(), now()];
    await sleep(1000);
    const seconds = (now() - at) / 1000;
    const foreign = (machineCpu().busy - machineBefore.busy - (own() - ownBefore)) / seconds;
    if (foreign <= FOREIGN_CORES_LIMIT) return true;
  } while (now() < deadline);
  return false;
}

interface Snapshot {
  at: number;
  machine: MachineCpu;
  /** /proc CPU-seconds of every process of the benchmark, for the busy check. */
  cpu: Map<number, number>;
  /** Write system calls of each server process. */
  writes: Map<number, number>;
}

/** CPU-seconds so far of the target's server processes (in node order) and of Redis, at microsecond resolution. */
interface MeasuredCpu {
  servers: number[];
  redis: number | undefined;
}

let sessions = 0;

/** A target running with a layout's clients connected: measure load shapes on it, then close it. */
export class Session {
  private constructor(
    readonly target: Target,
    readonly running: RunningTarget,
    private readonly layout: Layout,
    private readonly generator: LoadGenerator,
    private readonly group: number,
    private readonly redis: BenchRedis | undefined,
    private readonly taps: RedisTap[],
  ) {}

  /**
   * Starts the target, puts counting taps between its nodes and Redis when `tapRedis`, connects the
   * layout's clients and joins their rooms.
   */
  static async open(options: {
    target: Target;
    layout: Layout;
    generator: LoadGenerator;
    redis: BenchRedis | undefined;
    tapRedis: boolean;
    /** Extra Node flags for the server processes. */
    nodeFlags: string[];
    /** Settings for the server processes, on top of the target's own (scenario 7: the limits). */
    serverEnv?: Record<string, string>;
    /** Runs once the servers are up, before any client connects (the idle-memory baseline). */
    onStarted?: (running: RunningTarget) => Promise<void>;
    /** Connects the clients and resolves with their group (scenario 6: a connect storm); default: 64 at a time. */
    connect?: (clients: ClientPlan[]) => Promise<number>;
  }): Promise<Session> {
    const { target, layout, generator, redis } = options;
    const nodes = target.usesRedis ? layout.nodes : 1;
    if (target.usesRedis && !redis) throw new Error(`${target.name} needs Redis`);
    const taps =
      target.usesRedis && options.tapRedis && redis
        ? await Promise.all(Array.from({ length: nodes }, () => RedisTap.open(redis.port)))
        : [];
    let running: RunningTarget | undefined;
    let group: number;
    try {
      running = await target.start({
        nodes,
        redisUrls: Array.from({ length: nodes }, (_, index) =>
          taps[index] ? `redis://127.0.0.1:${taps[index].port}` : (redis?.url ?? ""),
        ),
        // Its own prefix: targets that run side by side must not share channels or keys.
        redisPrefix: `${redis?.prefix ?? "bench"}s${++sessions}`,
        nodeFlags: options.nodeFlags,
        env: options.serverEnv ?? {},
      });
      await options.onStarted?.(running);
      const urls = running.nodes.map((node) => node.url);
      const clients = layout.clients.map((client) => ({
        user: client.user,
        url: urls[client.node % urls.length]!,
        rooms: client.rooms,
      }));
      group = options.connect
        ? await options.connect(clients)
        : await generator.connect(target.protocol, clients, { concurrency: 64, timeoutMs: 20_000 });
    } catch (error) {
      await running?.stop();
      await Promise.allSettled(taps.map((tap) => tap.close()));
      throw error;
    }
    return new Session(target, running, layout, generator, group, redis, taps);
  }

  private pushes(): PushCounts[] {
    return this.taps.map((tap) => tap.snapshot());
  }

  /** Waits (at most `maxMs`) until no tap has counted a push for 300 ms. */
  private async pushesSettled(maxMs: number): Promise<PushCounts[]> {
    const deadline = now() + maxMs;
    let last = this.pushes();
    while (now() < deadline) {
      await sleep(300);
      const next = this.pushes();
      if (next.every((counts, index) => pushTotal(counts) === pushTotal(last[index]!))) return next;
      last = next;
    }
    return last;
  }

  private snapshot(): Snapshot {
    const cpu = new Map<number, number>();
    // Everything the benchmark runs (servers of every target, Redis, load workers) and this process.
    for (const pid of [...livePids(), process.pid]) cpu.set(pid, processCpuSeconds(pid) ?? Number.NaN);
    const writes = new Map<number, number>();
    for (const node of this.running.nodes)
      writes.set(node.process.pid, processWriteCalls(node.process.pid) ?? Number.NaN);
    return { at: now(), machine: machineCpu(), cpu, writes };
  }

  /**
   * The CPU of the server processes (`process.cpuUsage()`, asked over IPC) and of Redis (`INFO cpu`)
   * with the /proc snapshot, for one edge of the measured window. The questions leave before the
   * snapshot is taken; a process that is gone reads NaN.
   */
  private async windowEdge(): Promise<[Snapshot, MeasuredCpu]> {
    const servers = Promise.all(this.running.nodes.map((node) => node.cpuSeconds().catch(() => Number.NaN)));
    const redis =
      this.redis && this.target.usesRedis
        ? this.redis.cpuSeconds().catch(() => Number.NaN)
        : Promise.resolve(undefined);
    const snapshot = this.snapshot();
    return [snapshot, { servers: await servers, redis: await redis }];
  }

  private share(from: Snapshot, to: Snapshot): CpuShare {
    const seconds = (to.at - from.at) / 1000;
    let ours = 0;
    for (const [pid, after] of to.cpu) {
      const start = from.cpu.get(pid);
      if (start !== undefined && Number.isFinite(start) && Number.isFinite(after)) ours += after - start;
    }
    const busy = to.machine.busy - from.machine.busy;
    return {
      busy: busy / seconds,
      foreign: Math.max(0, busy - ours) / seconds,
      steal: (to.machine.steal - from.machine.steal) / seconds,
    };
  }

  /**
   * Measures one load shape: warm-up, measured window, drain (still sending). `alongside` runs other
   * load on the same schedule (scenario 7's flood); the measurement waits for it too.
   */
  async measure(shape: LoadShape, alongside?: (schedule: Schedule) => Promise<unknown>): Promise<Measurement> {
    // The machine just before: a busy machine is noted whatever happens next.
    const [quiet, quietCpu] = await this.windowEdge();
    await sleep(500);
    const [settled, settledCpu] = await this.windowEdge();
    const before = this.share(quiet, settled);
    const idleServerCores = (total(settledCpu.servers) - total(quietCpu.servers)) / ((settled.at - quiet.at) / 1000);

    const pushesBefore = this.pushes();
    const startAt = now() + 100;
    const windowStart = startAt + shape.warmupMs;
    const windowEnd = windowStart + shape.windowMs;
    const schedule: Schedule = { startAt, windowStart, windowEnd, stopAt: windowEnd + shape.drainMs };
    const loadRun = this.generator.run(this.group, {
      ...schedule,
      senders: this.layout.senders,
      ratePerSecond: shape.rate,
      textLength: shape.textLength,
      burst: shape.burst,
      latencyGroups: this.layout.latencyGroups,
    });
    // Awaited together from the start, so that a failure of either is handled however early it comes.
    const loads = Promise.all([loadRun, alongside?.(schedule)]);
    await sleepUntil(windowStart);
    const [first, firstCpu] = await this.windowEdge();
    await sleepUntil(windowEnd);
    const [last, lastCpu] = await this.windowEdge();
    const [result] = await loads;
    const pushesAfter = this.taps.length > 0 ? await this.pushesSettled(5000) : [];

    const seconds = (last.at - first.at) / 1000;
    const used = (pid: number) => (last.cpu.get(pid) ?? 0) - (first.cpu.get(pid) ?? 0);
    const servers = lastCpu.servers.map((after, index) => after - firstCpu.servers[index]!);
    const serverCpu = total(servers);
    const serverWrites = this.running.nodes.reduce(
      (sum, node) =>
        sum + (last.writes.get(node.process.pid) ?? Number.NaN) - (first.writes.get(node.process.pid) ?? Number.NaN),
      0,
    );
    const redisCpu =
      lastCpu.redis === undefined || firstCpu.redis === undefined ? undefined : lastCpu.redis - firstCpu.redis;
    const expected = Object.entries(result.sentInWindow).reduce(
      (sum, [room, count]) => sum + count * (this.layout.roomSizes[room] ?? 0),
      0,
    );
    const missing = Math.max(0, expected - result.deliveredOfWindow);
    result.latency.recordMissing(missing);
    const latencyByGroup = this.layout.latencyGroups && this.groupLatencies(result.latencyByGroup, result.sentInWindow);
    const sentInWindow = Object.values(result.sentInWindow).reduce((sum, count) => sum + count, 0);
    result.ackLatency.recordMissing(Math.max(0, sentInWindow - result.ackLatency.count));
    const during = this.share(first, last);
    const measurement: Measurement = {
      offeredPerSecond: shape.rate,
      windowSeconds: seconds,
      deliveries: result.receivedInWindow,
      chatMessages: sentInWindow,
      deliveriesPerSecond: result.receivedInWindow / seconds,
      perServerCpuSecond: result.receivedInWindow / serverCpu,
      perCpuSecondWithRedis: redisCpu === undefined ? undefined : result.receivedInWindow / (serverCpu + redisCpu),
      cpu: {
        servers,
        redis: redisCpu,
        load: this.generator.pids.reduce((sum, pid) => sum + used(pid), 0),
        orchestrator: used(process.pid),
      },
      idleServerCores,
      serverWritesPerDelivery: serverWrites / result.receivedInWindow,
      latency: percentiles(result.latency),
      ...(latencyByGroup && { latencyByGroup }),
      ackLatency: percentiles(result.ackLatency),
      missing,
      expected,
      sendLagP99: result.sendLag.quantile(0.99),
      acksFailed: result.acks.failed,
      lost: result.lost,
      strays: result.strays,
      before,
      during,
      disturbed:
        before.foreign > FOREIGN_CORES_LIMIT ||
        during.foreign > FOREIGN_CORES_LIMIT ||
        during.steal > FOREIGN_CORES_LIMIT,
    };
    if (this.taps.length > 0) {
      const deltas = pushesAfter.map((after, index) => pushDelta(after, pushesBefore[index]!));
      const perNode = deltas.map(pushTotal);
      const byKind: PushCounts = {
        message: deltas.reduce((sum, delta) => sum + delta.message, 0),
        pmessage: deltas.reduce((sum, delta) => sum + delta.pmessage, 0),
        smessage: deltas.reduce((sum, delta) => sum + delta.smessage, 0),
      };
      const pushes = perNode.reduce((sum, value) => sum + value, 0);
      measurement.redis = {
        pushes,
        chatMessages: result.sent,
        perChatMessage: result.sent > 0 ? pushes / result.sent : Number.NaN,
        byKind,
        perNode,
      };
    }
    return measurement;
  }

  /** Percentiles of each latency group, its missing deliveries counted as in the whole. */
  private groupLatencies(
    histograms: Record<string, Histogram>,
    sentInWindow: Record<string, number>,
  ): Record<string, Percentiles> {
    const groups = this.layout.latencyGroups ?? {};
    const expected = new Map<string, number>();
    for (const [room, count] of Object.entries(sentInWindow)) {
      const group = groups[room];
      if (group !== undefined)
        expected.set(group, (expected.get(group) ?? 0) + count * (this.layout.roomSizes[room] ?? 0));
    }
    const result: Record<string, Percentiles> = {};
    for (const group of new Set(Object.values(groups))) {
      const histogram = histograms[group] ?? new Histogram();
      histogram.recordMissing(Math.max(0, (expected.get(group) ?? 0) - histogram.count));
      result[group] = percentiles(histogram);
    }
    return result;
  }

  /** Forces GC in every node and returns their memory (see targets/probe.mjs). */
  memory() {
    return Promise.all(this.running.nodes.map((node) => node.memory()));
  }

  async close(): Promise<void> {
    await this.generator.disconnect(this.group).catch(() => undefined);
    await this.running.stop();
    await Promise.allSettled(this.taps.map((tap) => tap.close()));
  }
}
