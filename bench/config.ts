import { parseArgs } from "node:util";

/** The scenarios of issue 6 (1 to 5) and of later issues, by number. */
export const SCENARIOS = {
  1: "hot-room",
  2: "spread-rooms",
  3: "moderate-latency",
  4: "idle-connections",
  5: "saturation-knee",
  6: "scale",
  7: "flood",
  8: "growth",
} as const;
export type ScenarioNumber = keyof typeof SCENARIOS;

/** A load at a fixed rate over a layout. */
export interface FixedRateSize {
  nodes: number;
  /** Chat messages per second, all senders together. */
  rate: number;
  warmupMs: number;
  windowMs: number;
  drainMs: number;
}

export interface BenchConfig {
  quick: boolean;
  /** Interleaved rounds: every target once per round, the order rotating. */
  rounds: number;
  /** Extra attempts of a trial the busy check marked disturbed. */
  retries: number;
  /** Longest wait for a quiet machine before such an attempt. */
  quietWaitMs: number;
  /** Repeats allowed in the whole run, so a machine that stays busy cannot stretch it without end. */
  retryBudget: number;
  /** Load-generator processes. */
  workers: number;
  /** Caps every scenario's node count (1 benches roomcast's embedded mode, for development). */
  maxNodes: number;
  scenarios: ScenarioNumber[];
  /** Target names, in the order of the first round. */
  targets: string[];
  /** Characters of each chat message's text. */
  textLength: number;
  /** Messages sent together in scenarios 1 to 3 (1: evenly spaced). */
  burst: number;
  /** Whether this run's JSON and chart become bench/results/latest.*. */
  publish: boolean;
  /** Folder for V8 CPU profiles of every server process (--profile DIR), for finding levers. */
  profileDir: string | undefined;
  hotRoom: FixedRateSize & { clients: number; senders: number };
  spread: FixedRateSize & { rooms: number; members: number };
  moderate: FixedRateSize & {
    rooms: number;
    members: number;
    /** Share of the lower saturation rate of scenario 5 (roomcast, stock) to run at. */
    shareOfKnee: number;
  };
  /** Scenario 4; `rounds` of its own, as every round starts each target afresh (--quick: 1). */
  idle: { connections: number; roomSize: number; rounds: number };
  /**
   * Scenario 8: the same chat traffic on more nodes, each room held by one node (rooms round-robin
   * over the nodes), and with bigger rooms; Redis-to-node messages and CPU per chat message.
   */
  growth: {
    steps: Array<{ nodes: number; rooms: number; members: number; rate: number }>;
    warmupMs: number;
    windowMs: number;
    drainMs: number;
  };
  knee: {
    nodes: number;
    clients: number;
    senders: number;
    /** First rate tried, chat messages per second. */
    startRate: number;
    factor: number;
    maxSteps: number;
    p99LimitMs: number;
    warmupMs: number;
    windowMs: number;
    drainMs: number;
  };
  /** Scenario 6 (issue 12): many connections, a connect storm, a big room, memory, refill after a restart. */
  scale: FixedRateSize & {
    connections: number;
    /** Members of each small room (the connections not in the big room). */
    roomSize: number;
    /** Members of the one big room, the only room that gets messages. */
    bigRoom: number;
    senders: number;
    /** Handshakes per second of the connect storm. */
    stormRate: number;
    /** Clients per load-generator process: each holds a file per socket, under the hard limit (ulimit -Hn). */
    clientsPerWorker: number;
    /** Measurements of the big room per target, on the same connections. */
    rounds: number;
    /** The refill after a restart: one node at MAX_CONNECTIONS = refillCap, held by as many SDK clients. */
    refillCap: number;
  };
  flood: FixedRateSize & {
    rooms: number;
    members: number;
    /** Messages per second each well-behaved user sends. */
    ratePerUser: number;
    /** The flooder's sockets, spread over the nodes. */
    sockets: number;
    /** Sends per second of the flooder, all its sockets together. */
    floodRate: number;
    /** The per-user send limit the servers get (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST): roomcast's defaults. */
    limitPerSecond: number;
    limitBurst: number;
    /** Pause after a flood phase, so that the next baseline starts on a quiet system. */
    settleMs: number;
  };
}

/** Scenario 7's well-behaved users: rooms of members on the nodes, each sending well under the limit. */
const FLOOD_USERS = { nodes: 2, rooms: 4, members: 5, ratePerUser: 2 };

/**
 * Scenario 3's rate (chat messages/s) when scenario 5 does not run (--quick): about 25 % of the lower
 * knee of a full run on a slower machine (15,485 deliveries/s, so 387 msgs/s to rooms of 10). The
 * knee moves with the machine (93,160 deliveries/s in a later run), so a fixed rate keeps quick
 * runs comparable with each other, not with a full run.
 */
const MODERATE_RATE = 400;

/** roomcast's default per-user send limit, which scenario 7 floods at 50 times. */
const DEFAULT_SEND_LIMIT = { perSecond: 20, burst: 60 };

const USAGE = `usage: npm run bench -- [options]
  --quick              scenarios 1, 2, 3, 4 and 6, cut down (under 5 minutes); last line is a JSON summary
  --scenarios 1,2,...  which scenarios to run (default: all; --quick: 1,2,3,4,6)
  --targets a,b,...    roomcast, stock, raw-ws, and the levers roomcast+cork, stock+cork; roomcast-nometrics
                       (METRICS=0) beside roomcast measures what the metrics cost, roomcast-nofast
                       (FAST_BROADCAST=0) what the broadcast fast path gives; roomcast@DIR runs the
                       build of another checkout (e.g. a worktree of an earlier commit) beside this one
                       (default: roomcast,stock,raw-ws; quick: roomcast,stock)
  --rounds N           interleaved rounds, medians reported (default 3)
  --retries N          repeats of a trial the busy check marks (default 1)
  --hot-rate N         scenario 1 chat messages/s (default 20: 10,000 deliveries/s)
  --spread-rate N      scenario 2 chat messages/s (default 300: 3,000 deliveries/s)
  --burst N            send scenario 1-3 messages in bursts of N at the same mean rate (default 1)
  --moderate-rate N    scenario 3 chat messages/s when scenario 5 does not run (default 400)
  --idle-connections N scenario 4 connections (default 5000; quick: 2000)
  --knee-steps N       most rates scenario 5 tries per scan (default 16)
  --scale-connections N scenario 6 connections (default 20000; quick 4000)
  --scale-nodes N      scenario 6 nodes (default 2)
  --storm-rate N       scenario 6 handshakes/s of the connect storm (default 2000)
  --flood-rate N       scenario 7 flooder's sends/s, all its sockets together (default 1000: 50x the limit)
  --flood-sockets N    scenario 7 flooder's sockets (default 20)
  --max-nodes N        cap node counts (1: roomcast embedded mode, for development)
  --workers N          load-generator processes (default 1)
  --profile DIR        write a V8 CPU profile of every server process into DIR (for finding levers)
  --publish            also write bench/results/latest.json and latest.svg (default for a full run)
  --no-publish         do not`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a positive number, got "${raw}"\n${USAGE}`);
  return value;
}

/** Reads the command line; throws with the usage on a bad option. */
export function parseConfig(argv: string[]): BenchConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      scenarios: { type: "string" },
      targets: { type: "string" },
      rounds: { type: "string" },
      retries: { type: "string" },
      "hot-rate": { type: "string" },
      "spread-rate": { type: "string" },
      "moderate-rate": { type: "string" },
      "idle-connections": { type: "string" },
      "knee-steps": { type: "string" },
      "scale-connections": { type: "string" },
      "scale-nodes": { type: "string" },
      "storm-rate": { type: "string" },
      "flood-rate": { type: "string" },
      "flood-sockets": { type: "string" },
      burst: { type: "string" },
      "max-nodes": { type: "string" },
      workers: { type: "string" },
      publish: { type: "boolean" },
      profile: { type: "string" },
      "no-publish": { type: "boolean" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const scenarios = (values.scenarios ?? (quick ? "1,2,3,4,6" : Object.keys(SCENARIOS).join(",")))
    .split(",")
    .map((item) => {
      const number = Number(item.trim());
      if (!(number in SCENARIOS)) throw new Error(`unknown scenario "${item}"\n${USAGE}`);
      return number as ScenarioNumber;
    });
  const targets = (values.targets ?? (quick ? "roomcast,stock" : "roomcast,stock,raw-ws"))
    .split(",")
    .map((item) => item.trim());
  const rounds = Math.round(positive("rounds", values.rounds, 3));
  const connections = Math.round(positive("scale-connections", values["scale-connections"], quick ? 4000 : 20_000));
  const window = quick
    ? { warmupMs: 1000, windowMs: 3000, drainMs: 700 }
    : { warmupMs: 3000, windowMs: 10_000, drainMs: 2000 };
  return {
    quick,
    rounds,
    retries: Math.round(Number(values.retries ?? 1)),
    quietWaitMs: quick ? 3000 : 10_000,
    retryBudget: quick ? 2 : 12,
    workers: Math.round(positive("workers", values.workers, 1)),
    maxNodes: Math.round(positive("max-nodes", values["max-nodes"], 64)),
    scenarios,
    targets,
    textLength: 100,
    burst: Math.round(positive("burst", values.burst, 1)),
    publish: values["no-publish"] ? false : (values.publish ?? !quick),
    profileDir: values.profile,
    hotRoom: { nodes: 2, clients: 500, senders: 10, rate: positive("hot-rate", values["hot-rate"], 20), ...window },
    spread: { nodes: 4, rooms: 100, members: 10, rate: positive("spread-rate", values["spread-rate"], 300), ...window },
    moderate: {
      nodes: 3,
      rooms: 90,
      members: 10,
      rate: positive("moderate-rate", values["moderate-rate"], MODERATE_RATE),
      shareOfKnee: 0.25,
      // --quick: shorter still, to keep the quick run under 5 minutes (2 s hold ~8,000 deliveries).
      ...(quick ? { warmupMs: 500, windowMs: 2000, drainMs: 500 } : window),
    },
    idle: {
      connections: Math.round(positive("idle-connections", values["idle-connections"], quick ? 2000 : 5000)),
      roomSize: 100,
      // Memory after forced GCs varies little from round to round; --quick keeps one.
      rounds: quick && values.rounds === undefined ? 1 : rounds,
    },
    growth: {
      // 3,000 deliveries/s at every step: rooms of 10 on 1, 2 and 4 nodes, then rooms of 50 on 4.
      steps: [
        { nodes: 1, rooms: 100, members: 10, rate: 300 },
        { nodes: 2, rooms: 100, members: 10, rate: 300 },
        { nodes: 4, rooms: 100, members: 10, rate: 300 },
        { nodes: 4, rooms: 20, members: 50, rate: 60 },
      ],
      // Shorter windows than scenarios 1 to 3: four layouts, and CPU is read to the microsecond.
      ...(quick ? window : { warmupMs: 2000, windowMs: 6000, drainMs: 1000 }),
    },
    knee: {
      nodes: 2,
      clients: 500,
      senders: 10,
      startRate: 10,
      factor: 1.25,
      maxSteps: Math.round(positive("knee-steps", values["knee-steps"], 16)),
      p99LimitMs: 50,
      warmupMs: 1000,
      windowMs: 3000,
      drainMs: 1000,
    },
    scale: {
      nodes: Math.round(positive("scale-nodes", values["scale-nodes"], 2)),
      connections,
      roomSize: 20,
      bigRoom: Math.min(quick ? 400 : 2000, Math.floor(connections / 2)),
      senders: 5,
      rate: 5,
      stormRate: positive("storm-rate", values["storm-rate"], 2000),
      clientsPerWorker: 5000,
      rounds: quick ? 1 : rounds,
      refillCap: Math.min(5000, connections),
      ...window,
    },
    flood: {
      ...FLOOD_USERS,
      rate: FLOOD_USERS.rooms * FLOOD_USERS.members * FLOOD_USERS.ratePerUser,
      sockets: Math.round(positive("flood-sockets", values["flood-sockets"], 20)),
      floodRate: positive("flood-rate", values["flood-rate"], 50 * DEFAULT_SEND_LIMIT.perSecond),
      limitPerSecond: DEFAULT_SEND_LIMIT.perSecond,
      limitBurst: DEFAULT_SEND_LIMIT.burst,
      // Shorter than the other scenarios' windows: 3 rounds of two phases stay under 2 minutes.
      ...(quick
        ? { warmupMs: 1000, windowMs: 3000, drainMs: 1000, settleMs: 2000 }
        : { warmupMs: 2000, windowMs: 8000, drainMs: 2000, settleMs: 3000 }),
    },
  };
}
