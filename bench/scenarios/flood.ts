import { now, sleep, sleepUntil } from "../clock.js";
import { FLOODED_ROOM, OTHER_ROOMS, everyoneTalks, flooder, type FlooderLayout } from "../layout.js";
import { LoadGenerator } from "../load/generator.js";
import type { FloodCounts } from "../load/messages.js";
import { Session, type LoadShape, type Measurement, type Schedule } from "../session.js";
import { median, ratio } from "../stats.js";
import { processCpuSeconds } from "../system.js";
import { targetsByName } from "../targets/catalogue.js";
import type { Target } from "../targets/target.js";
import { interleave, nodesFor, resultsOf, serverFlags, type BenchContext, type TrialRecord } from "./context.js";

/** A flood's sends and their answers, with those that got none. */
export type AnsweredCounts = FloodCounts & { unanswered: number };

/** What the flooder did in one flood phase, and what it cost. */
export interface FlooderMeasurement {
  /** The sends meant to leave in the measured window. */
  window: AnsweredCounts;
  windowSeconds: number;
  attemptedPerSecond: number;
  acceptedPerSecond: number;
  refusedPerSecond: number;
  /** Sends that fell due on a socket the server had closed, per second of the window. */
  skippedPerSecond: number;
  /** The flooder's sockets the server closed during the phase (the flooder does not reconnect). */
  socketsDropped: number;
  /**
   * Every send of the phase, warm-up and drain included, and the most a per-user limit lets through
   * in that time: limit x seconds + burst.
   */
  phase: AnsweredCounts & { seconds: number; allowance: number };
  /** Cores of the flooder's load process over the window: whether it could keep its rate. */
  cores: number;
  /** How late the flooder sent (p99, ms). */
  sendLagP99: number | undefined;
}

/** One round: the well-behaved users alone, then with the flood. */
export interface FloodRound {
  baseline: Measurement;
  flood: Measurement;
  flooder: FlooderMeasurement;
  disturbed: boolean;
}

/** The well-behaved users in one phase, medians over the rounds. */
export interface PhaseSummary {
  p50Ms?: number;
  p99Ms?: number;
  /** Of the users in the room the flooder floods (its DM victim among them), and of the other rooms. */
  floodedRoomP99Ms?: number;
  otherRoomsP99Ms?: number;
  ackP99Ms?: number;
  missing?: number;
  /** Acks of the well-behaved users' own sends that were not ok (a limit that hits the innocent). */
  acksFailed?: number;
  serverCores?: number;
  redisCores?: number;
  loadCores?: number;
}

export interface FloodSummary {
  trials: number;
  disturbed: number;
  baseline: PhaseSummary;
  flood: PhaseSummary;
  /** The well-behaved users' p99 with the flood over their p99 without it (of the medians). */
  p99Ratio?: number;
  flooder: {
    attemptedPerSecond?: number;
    acceptedPerSecond?: number;
    refusedPerSecond?: number;
    skippedPerSecond?: number;
    socketsDropped?: number;
    otherErrors?: number;
    unanswered?: number;
    /** Sends accepted over the whole flood phase / what the limit allows in that time (1 = exactly the limit). */
    acceptedOfAllowance?: number;
    cores?: number;
    sendLagP99Ms?: number;
  };
}

export interface FloodResult {
  layout: {
    nodes: number;
    users: number;
    rooms: number;
    flooderSockets: number;
    floodedRoom: string;
    victim: string;
  };
  load: {
    wellBehavedRate: number;
    ratePerUser: number;
    floodRate: number;
    limitPerSecond: number;
    limitBurst: number;
    warmupMs: number;
    windowMs: number;
    drainMs: number;
    textLength: number;
  };
  /** What every server process of the scenario ran with, on top of its target's settings. */
  serverEnv: Record<string, string>;
  trials: Array<TrialRecord<FloodRound>>;
  summary: Record<string, FloodSummary>;
}

/** The accepted sends over the allowance below which the limit counts as holding per user (window edges, clocks). */
export const ALLOWANCE_SLACK = 1.25;

/** The targets that enforce the limits; roomcast when none of the selected ones does (the others have none). */
function limitedTargets(targets: readonly Target[]): Target[] {
  const limited = targets.filter((target) => target.limitsSends);
  return limited.length > 0 ? limited : targetsByName(["roomcast"]);
}

const answered = (counts: FloodCounts): AnsweredCounts => {
  const errors = Object.values(counts.errors).reduce((sum, count) => sum + count, 0);
  return { ...counts, unanswered: counts.attempted - counts.accepted - counts.refused - errors };
};

/** CPU-seconds per second of `pids` between the monotonic times `from` and `to`. */
async function coresBetween(pids: readonly number[], from: number, to: number): Promise<number> {
  const cpu = () => pids.reduce((sum, pid) => sum + (processCpuSeconds(pid) ?? 0), 0);
  await sleepUntil(from);
  const [start, at] = [cpu(), now()];
  await sleepUntil(to);
  return (cpu() - start) / ((now() - at) / 1000);
}

const cores = (m: Measurement, cpu: number | undefined) => (cpu === undefined ? undefined : cpu / m.windowSeconds);

function phaseSummary(measurements: Measurement[]): PhaseSummary {
  const of = (figure: (m: Measurement) => number | undefined) => median(measurements.map(figure));
  return {
    p50Ms: of((m) => m.latency.p50),
    p99Ms: of((m) => m.latency.p99),
    floodedRoomP99Ms: of((m) => m.latencyByGroup?.[FLOODED_ROOM]?.p99),
    otherRoomsP99Ms: of((m) => m.latencyByGroup?.[OTHER_ROOMS]?.p99),
    ackP99Ms: of((m) => m.ackLatency.p99),
    missing: of((m) => m.missing),
    acksFailed: of((m) => m.acksFailed),
    serverCores: of((m) =>
      cores(
        m,
        m.cpu.servers.reduce((sum, cpu) => sum + cpu, 0),
      ),
    ),
    redisCores: of((m) => cores(m, m.cpu.redis)),
    loadCores: of((m) => cores(m, m.cpu.load)),
  };
}

/** A progress line for one round. */
function describe(round: FloodRound): string {
  const ms = (value: number | undefined) =>
    value === undefined ? "-" : value === Infinity ? "lost" : value.toFixed(1);
  const f = round.flooder;
  return (
    `p99 ${ms(round.baseline.latency.p99)} -> ${ms(round.flood.latency.p99)} ms ` +
    `(ack p99 ${ms(round.baseline.ackLatency.p99)} -> ${ms(round.flood.ackLatency.p99)} ms); flooder ` +
    `${Math.round(f.attemptedPerSecond)}/s attempted, ${f.acceptedPerSecond.toFixed(1)}/s accepted, ` +
    `${Math.round(f.refusedPerSecond)}/s refused, ${f.window.unanswered} unanswered, ` +
    `${f.socketsDropped} sockets dropped (${Math.round(f.skippedPerSecond)}/s skipped), ` +
    `${f.phase.accepted} accepted of an allowance of ${Math.round(f.phase.allowance)}; flooder load ${f.cores.toFixed(2)} cores` +
    (round.disturbed ? " (busy)" : "")
  );
}

/**
 * Scenario 7 (issue 11): well-behaved users in a few rooms on two nodes, each sending well under
 * the per-user limit, measured alone (baseline) and then while one flooder with many sockets sends
 * at 50 times the limit, half to a room it shares with some of them, half as DMs to one of them.
 * Every round runs both phases on the same servers, baseline first; the flooder's sockets are
 * connected afresh for each round and stay connected through both phases (unless the server drops
 * them: the flooder does not reconnect), so the flood's traffic is the only difference. The servers
 * run with the send limit on and the connection limits off (SOCKETS_PER_USER too: the flooder's
 * sockets must all get in).
 */
export async function floodScenario(context: BenchContext): Promise<FloodResult> {
  const size = context.config.flood;
  const nodes = nodesFor(context, size.nodes);
  const layout = everyoneTalks(nodes, size.rooms, size.members);
  const floodedRoom = layout.clients[0]!.rooms[0]!;
  const victim = layout.clients[0]!.user;
  const flood: FlooderLayout = flooder(nodes, size.sockets, floodedRoom, victim);
  const targets = limitedTargets(context.targets);
  const serverEnv = {
    RATE_LIMIT_PER_SECOND: String(size.limitPerSecond),
    RATE_LIMIT_BURST: String(size.limitBurst),
    SOCKETS_PER_USER: "0",
  };
  const shape: LoadShape = {
    rate: size.rate,
    warmupMs: size.warmupMs,
    windowMs: size.windowMs,
    drainMs: size.drainMs,
    textLength: context.config.textLength,
    burst: 1,
  };

  await context.redis.flush();
  // The flooder has a load process of its own: its client-side work must not delay the receipts
  // the well-behaved clients time.
  const flooderLoad = await LoadGenerator.start(1);
  const sessions = new Map<string, Session>();
  let trials: Array<TrialRecord<FloodRound>>;
  try {
    for (const target of targets) {
      const session = await Session.open({
        target,
        layout,
        generator: context.generator,
        redis: context.redis,
        tapRedis: false,
        nodeFlags: serverFlags(context),
        serverEnv,
      });
      sessions.set(target.name, session);
    }

    /** Connects the flooder's sockets to a session's nodes; those that send to the room join it. */
    const connectFlooder = (session: Session): Promise<number> => {
      const urls = session.running.nodes.map((node) => node.url);
      return flooderLoad.connect(
        session.target.protocol,
        flood.clients.map((client) => ({
          user: client.user,
          url: urls[client.node % urls.length]!,
          rooms: client.rooms,
        })),
        { concurrency: 8, timeoutMs: 20_000 },
      );
    };

    /** Floods on the phase's schedule, and measures the flooder's own cores over the window. */
    const runFlood = async (group: number, schedule: Schedule): Promise<FlooderMeasurement> => {
      const [outcome, flooderCores] = await Promise.all([
        flooderLoad.flood(group, {
          ...schedule,
          senders: flood.senders,
          ratePerSecond: size.floodRate,
          textLength: shape.textLength,
        }),
        coresBetween(flooderLoad.pids, schedule.windowStart, schedule.windowEnd),
      ]);
      const windowSeconds = (schedule.windowEnd - schedule.windowStart) / 1000;
      const seconds = (schedule.stopAt - schedule.startAt) / 1000;
      const window = answered(outcome.window);
      return {
        window,
        windowSeconds,
        attemptedPerSecond: window.attempted / windowSeconds,
        acceptedPerSecond: window.accepted / windowSeconds,
        refusedPerSecond: window.refused / windowSeconds,
        skippedPerSecond: window.skipped / windowSeconds,
        socketsDropped: outcome.socketsDropped,
        phase: { ...answered(outcome.run), seconds, allowance: size.limitPerSecond * seconds + size.limitBurst },
        cores: flooderCores,
        sendLagP99: outcome.sendLag.quantile(0.99),
      };
    };

    trials = await interleave({ ...context, targets }, "flood", async (target) => {
      const session = sessions.get(target.name)!;
      // Every round's flooder starts with all its sockets, whatever the last flood cost it; they are
      // connected through the baseline too, so that the flood's traffic is the only difference.
      const flooderGroup = await connectFlooder(session);
      let baseline: Measurement;
      let flooded: Measurement;
      let flooderMeasurement: FlooderMeasurement | undefined;
      try {
        baseline = await session.measure(shape);
        flooded = await session.measure(shape, async (schedule) => {
          flooderMeasurement = await runFlood(flooderGroup, schedule);
        });
      } finally {
        await flooderLoad.disconnect(flooderGroup);
      }
      // Whatever the flood left queued drains before the next round's baseline.
      await sleep(size.settleMs);
      const round: FloodRound = {
        baseline,
        flood: flooded,
        flooder: flooderMeasurement!,
        disturbed: baseline.disturbed || flooded.disturbed,
      };
      context.log(`  flood ${target.name}: ${describe(round)}`);
      return { mode: session.running.mode, result: round };
    });
  } finally {
    await Promise.allSettled([...sessions.values()].map((session) => session.close()));
    await flooderLoad.close();
  }

  const summary: Record<string, FloodSummary> = {};
  for (const target of targets) {
    const rounds = resultsOf(trials, target.name);
    const baseline = phaseSummary(rounds.map((round) => round.baseline));
    const flooded = phaseSummary(rounds.map((round) => round.flood));
    const of = (figure: (f: FlooderMeasurement) => number | undefined) =>
      median(rounds.map((round) => figure(round.flooder)));
    summary[target.name] = {
      trials: rounds.length,
      disturbed: trials.filter((trial) => trial.target === target.name && trial.disturbed).length,
      baseline,
      flood: flooded,
      p99Ratio: ratio(flooded.p99Ms, baseline.p99Ms),
      flooder: {
        attemptedPerSecond: of((f) => f.attemptedPerSecond),
        acceptedPerSecond: of((f) => f.acceptedPerSecond),
        refusedPerSecond: of((f) => f.refusedPerSecond),
        skippedPerSecond: of((f) => f.skippedPerSecond),
        socketsDropped: of((f) => f.socketsDropped),
        otherErrors: of((f) => Object.values(f.window.errors).reduce((sum, count) => sum + count, 0)),
        unanswered: of((f) => f.window.unanswered),
        acceptedOfAllowance: of((f) => f.phase.accepted / f.phase.allowance),
        cores: of((f) => f.cores),
        sendLagP99Ms: of((f) => f.sendLagP99),
      },
    };
  }
  return {
    layout: {
      nodes,
      users: layout.clients.length,
      rooms: Object.keys(layout.roomSizes).length,
      flooderSockets: flood.clients.length,
      floodedRoom,
      victim,
    },
    load: {
      wellBehavedRate: size.rate,
      ratePerUser: size.ratePerUser,
      floodRate: size.floodRate,
      limitPerSecond: size.limitPerSecond,
      limitBurst: size.limitBurst,
      warmupMs: size.warmupMs,
      windowMs: size.windowMs,
      drainMs: size.drainMs,
      textLength: shape.textLength,
    },
    serverEnv,
    trials,
    summary,
  };
}
