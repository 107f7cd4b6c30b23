import { now, sleep } from "../clock.js";
import type { Layout } from "../layout.js";
import { LoadGenerator } from "../load/generator.js";
import { FOREIGN_CORES_LIMIT, Session, type Measurement } from "../session.js";
import { median } from "../stats.js";
import { processRssKiB } from "../system.js";
import type { RunningTarget, Target } from "../targets/target.js";
import { nodesFor, serverFlags, type BenchContext, type TrialRecord } from "./context.js";
import { describe } from "./fixed-rate.js";
import { refillTrial, type RefillMeasurement } from "./refill.js";
import { describeStorm, openConnections, sumOf, timedStorm, total, type StormSummary } from "./storm.js";

/** The big room's name in scenario 6's layout. */
const BIG_ROOM = "big";
/** Connected clients sit this long before the memory reading, so that join-time garbage can go. */
const SETTLE_MS = 2000;
/**
 * After the storm, the clients that did not get in try again (up to 3 times), this many at once, so
 * that memory and the big room are measured at full size whatever the storm's outcome here.
 */
const TOP_UP_IN_FLIGHT = 64;

/** One target's scale trial: the storm, the memory at full size, the big room's latency. */
export interface ScaleMeasurement {
  nodes: number;
  storm: StormSummary;
  /** Clients still connected after the big room's measurements. */
  held: number;
  /** Connections that closed without the generator asking, from the storm on, by reason. */
  dropped: Record<string, number>;
  /** The servers' own count of open connections (roomcast's /metrics), when they have one. */
  serverCount: number | undefined;
  memory: {
    /** Connections when memory was read. */
    connections: number;
    heapKiBPerConnection: number;
    rssKiBPerConnection: number;
    perNode: Array<{ before: { heapUsed: number; rssKiB: number }; after: { heapUsed: number; rssKiB: number } }>;
    gc: boolean;
  };
  /** The big room, one measurement per round. */
  deliveries: Measurement[];
  disturbed: boolean;
}

export interface ScaleSummary {
  connections: number;
  held: number;
  refused: number;
  failed: number;
  toppedUp: number;
  handshakeP50Ms?: number;
  handshakeP99Ms?: number;
  readyP99Ms?: number;
  stormSeconds?: number;
  heapKiBPerConnection: number;
  rssKiBPerConnection: number;
  p50Ms?: number;
  p99Ms?: number;
  missing?: number;
  disturbed: boolean;
}

export interface ScaleResult {
  layout: { nodes: number; clients: number; roomSize: number; bigRoom: number; workers: number };
  load: { stormRate: number; rate: number; senders: number; warmupMs: number; windowMs: number; drainMs: number };
  trials: Array<TrialRecord<ScaleMeasurement>>;
  summary: Record<string, ScaleSummary>;
  refill?: TrialRecord<RefillMeasurement>;
  /** Why the refill did not complete, when it did not (e.g. the restarted node did not start). */
  refillError?: string;
}

const user = (index: number) => `u${index}`;

/**
 * Scenario 6's layout: `connections` clients, `bigRoom` of them in one big room and the others in
 * rooms of `roomSize`. The big room's members are spread evenly through the connection order, so
 * that it forms during the whole storm; each room's members alternate between the nodes. The first
 * `senders` members of the big room send.
 */
export function scaleLayout(
  nodes: number,
  connections: number,
  roomSize: number,
  bigRoom: number,
  senders: number,
): Layout {
  const clients: Layout["clients"] = [];
  const layoutSenders: Layout["senders"] = [];
  const roomSizes: Record<string, number> = {};
  let big = 0;
  let small = 0;
  for (let index = 0; index < connections; index++) {
    const inBig = Math.floor(((index + 1) * bigRoom) / connections) > Math.floor((index * bigRoom) / connections);
    const room = inBig ? BIG_ROOM : `room-${Math.floor(small / roomSize)}`;
    const node = (inBig ? big++ : small++) % nodes;
    if (inBig && layoutSenders.length < senders) layoutSenders.push({ client: index, room });
    clients.push({ user: user(index), node, rooms: [room] });
    roomSizes[room] = (roomSizes[room] ?? 0) + 1;
  }
  return { nodes, clients, senders: layoutSenders, roomSizes };
}

/** One target: storm, memory at full size after forced GC, then the big room's rounds. */
async function scaleTrial(
  context: BenchContext,
  generator: LoadGenerator,
  target: Target,
  layout: Layout,
): Promise<{ mode: string; result: ScaleMeasurement }> {
  const size = context.config.scale;
  await context.redis.flush();
  let running: RunningTarget | undefined;
  const baseline: Array<{ heapUsed: number; rssKiB: number; gc: boolean }> = [];
  let stormed: { group: number; storm: StormSummary } | undefined;
  const session = await Session.open({
    target,
    layout,
    generator,
    redis: context.redis,
    tapRedis: false,
    nodeFlags: serverFlags(context),
    onStarted: async (started) => {
      running = started;
      context.log(`  scale ${target.name}: ${started.mode} started`);
      for (const node of started.nodes) {
        const report = await node.memory();
        baseline.push({
          heapUsed: report.heapUsed,
          rssKiB: processRssKiB(node.process.pid) ?? Number.NaN,
          gc: report.gc,
        });
      }
    },
    connect: async (clients) => {
      stormed = await timedStorm(context, generator, target.protocol, clients, () => running!, {
        topUpInFlight: TOP_UP_IN_FLIGHT,
      });
      return stormed.group;
    },
  });
  try {
    const { group, storm } = stormed!;
    context.log(`  scale ${target.name} storm: ${describeStorm(storm)}`);
    await sleep(SETTLE_MS);
    const { connected: connections } = await generator.connectedCount(group);
    const perNode = await Promise.all(
      session.running.nodes.map(async (node, index) => {
        const report = await node.memory();
        return {
          before: { heapUsed: baseline[index]!.heapUsed, rssKiB: baseline[index]!.rssKiB },
          after: { heapUsed: report.heapUsed, rssKiB: processRssKiB(node.process.pid) ?? Number.NaN },
          gc: report.gc && baseline[index]!.gc,
        };
      }),
    );
    const grew = (pick: (reading: { heapUsed: number; rssKiB: number }) => number) =>
      connections === 0
        ? Number.NaN
        : perNode.reduce((sum, node) => sum + pick(node.after) - pick(node.before), 0) / connections;
    const memory: ScaleMeasurement["memory"] = {
      connections,
      heapKiBPerConnection: grew((reading) => reading.heapUsed) / 1024,
      rssKiBPerConnection: grew((reading) => reading.rssKiB),
      perNode: perNode.map(({ before, after }) => ({ before, after })),
      gc: perNode.every((node) => node.gc),
    };
    context.log(
      `  scale ${target.name} memory at ${connections} connections: ${memory.heapKiBPerConnection.toFixed(1)} KiB heap, ` +
        `${memory.rssKiBPerConnection.toFixed(1)} KiB RSS per connection`,
    );
    const shape = { ...size, textLength: context.config.textLength, burst: 1 };
    const deliveries: Measurement[] = [];
    for (let round = 1; round <= size.rounds; round++) {
      const measurement = await session.measure(shape);
      deliveries.push(measurement);
      context.log(
        `  scale ${target.name} big room, round ${round}: ${describe(measurement)}; ` +
          `p50 ${measurement.latency.p50?.toFixed(1)} ms, ${measurement.missing} of ${measurement.expected} missing`,
      );
    }
    const { connected: held, dropped } = await generator.connectedCount(group);
    if (Object.keys(dropped).length > 0)
      context.log(`  scale ${target.name}: connections dropped ${JSON.stringify(dropped)}`);
    const serverCount = sumOf(await Promise.all(session.running.nodes.map((node) => openConnections(node.url))));
    return {
      mode: session.running.mode,
      result: {
        nodes: session.running.nodes.length,
        storm,
        held,
        dropped,
        serverCount,
        memory,
        deliveries,
        disturbed: storm.cores.foreign > FOREIGN_CORES_LIMIT || deliveries.some((measurement) => measurement.disturbed),
      },
    };
  } finally {
    const closing = now();
    await session.close();
    context.log(`  scale ${target.name}: closed in ${((now() - closing) / 1000).toFixed(1)} s`);
  }
}

/**
 * Scenario 6 (issue 12): many connections over a few nodes, opened by a connect storm at a fixed
 * rate; heap and RSS per connection at full size; latency of the big room's messages; then the
 * refill of a restarted full node (roomcast). Each target runs once (its rounds measure the big
 * room on the same connections); targets that run one process whatever the node count (raw-ws,
 * roomcast-embedded) are left out: one process could not hold every connection. A quick run
 * measures roomcast only, without the refill.
 */
export async function scaleScenario(context: BenchContext): Promise<ScaleResult> {
  const size = context.config.scale;
  const nodes = nodesFor(context, size.nodes);
  const layout = scaleLayout(nodes, size.connections, size.roomSize, size.bigRoom, size.senders);
  const targets = context.targets.filter(
    (target) => target.usesRedis && (!context.config.quick || target.name === "roomcast"),
  );
  const workers = Math.max(2, Math.ceil(size.connections / size.clientsPerWorker));
  const generator = await LoadGenerator.start(workers);
  const trials: Array<TrialRecord<ScaleMeasurement>> = [];
  let refill: TrialRecord<RefillMeasurement> | undefined;
  let refillError: string | undefined;
  try {
    for (const target of targets) {
      const { mode, result } = await scaleTrial(context, generator, target, layout);
      trials.push({ round: 1, target: target.name, mode, result, disturbed: result.disturbed, rejected: [] });
    }
    const roomcast = targets.find((target) => target.name === "roomcast");
    if (roomcast && !context.config.quick) {
      // Its failure is a result too; it must not take the rest of the scenario with it.
      try {
        const cap = size.refillCap;
        const { mode, result } = await refillTrial(
          context,
          generator,
          roomcast,
          scaleLayout(1, cap, size.roomSize, 0, 0),
        );
        refill = { round: 1, target: roomcast.name, mode, result, disturbed: result.disturbed, rejected: [] };
      } catch (error) {
        refillError = error instanceof Error ? error.message : String(error);
        context.log(`  refill ${roomcast.name} failed: ${refillError}`);
      }
    }
  } finally {
    await generator.close();
  }
  const summary: Record<string, ScaleSummary> = {};
  for (const { target, result } of trials) {
    summary[target] = {
      connections: size.connections,
      held: result.held,
      refused: total(result.storm.refused),
      failed: total(result.storm.failed),
      toppedUp: result.storm.toppedUp,
      handshakeP50Ms: result.storm.handshake.p50,
      handshakeP99Ms: result.storm.handshake.p99,
      readyP99Ms: result.storm.ready.p99,
      stormSeconds: result.storm.seconds,
      heapKiBPerConnection: result.memory.heapKiBPerConnection,
      rssKiBPerConnection: result.memory.rssKiBPerConnection,
      p50Ms: median(result.deliveries.map((measurement) => measurement.latency.p50)),
      p99Ms: median(result.deliveries.map((measurement) => measurement.latency.p99)),
      missing: median(result.deliveries.map((measurement) => measurement.missing)),
      disturbed: result.disturbed,
    };
  }
  return {
    layout: { nodes, clients: layout.clients.length, roomSize: size.roomSize, bigRoom: size.bigRoom, workers },
    load: {
      stormRate: size.stormRate,
      rate: size.rate,
      senders: layout.senders.length,
      warmupMs: size.warmupMs,
      windowMs: size.windowMs,
      drainMs: size.drainMs,
    },
    trials,
    summary,
    ...(refill && { refill }),
    ...(refillError !== undefined && { refillError }),
  };
}
