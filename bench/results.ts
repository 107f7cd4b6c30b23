import type { BenchConfig } from "./config.js";
import type { FixedRateResult } from "./scenarios/fixed-rate.js";
import type { FloodResult } from "./scenarios/flood.js";
import type { GrowthResult } from "./scenarios/growth.js";
import type { IdleResult } from "./scenarios/idle.js";
import type { KneeResult } from "./scenarios/knee.js";
import type { ScaleResult } from "./scenarios/scale.js";
import { FOREIGN_CORES_LIMIT } from "./session.js";
import { median, ratio } from "./stats.js";
import type { MachineInfo } from "./system.js";

/** Everything one run measured: the content of bench/results/<date>.json. */
export interface BenchResults {
  schema: 1;
  date: string;
  quick: boolean;
  durationSeconds: number;
  machine: MachineInfo;
  versions: Record<string, string>;
  config: BenchConfig;
  method: Record<string, string>;
  busyCheck: { foreignCoresLimit: number; trials: number; repeated: number; stillDisturbed: number };
  scenarios: {
    hotRoom?: FixedRateResult;
    spreadRooms?: FixedRateResult;
    moderateLatency?: FixedRateResult & { rateFrom: string };
    idleConnections?: IdleResult;
    saturationKnee?: KneeResult;
    scale?: ScaleResult;
    flood?: FloodResult;
    growth?: GrowthResult;
  };
  /** The figures the issue asks for, flat; the --quick JSON line is a subset of these. */
  headline: Record<string, number | null>;
}

export const METHOD: Record<string, string> = {
  load:
    "One load-generator process holds every client (socket.io-client over the websocket transport, or plain ws " +
    "for raw-ws) and sends open-loop: message k is due at start + k/rate from sender k mod n, whether or not " +
    "earlier ones were answered. Each text carries its intended send time.",
  latency:
    "End to end, from the intended send time to the receipt of room:message by each member, on the machine's " +
    "monotonic clock (one clock for every process), so a late generator or a stalled server shows as latency " +
    "(no coordinated omission). A delivery still missing after the drain counts as infinitely late. Log-linear " +
    "histogram, values kept within 1.6 %.",
  cpu:
    "CPU-seconds of every server process from its own process.cpuUsage() (user + system, every thread, in " +
    "microseconds), asked over IPC of the probe preloaded into every Node server (bench/targets/probe.mjs, the same " +
    "for all targets), at the start and the end of the measured window. Deliveries per server CPU-second = " +
    "room:message events received in the window / that CPU. Redis's CPU is used_cpu_user + used_cpu_sys of " +
    "INFO cpu, read at the same moments and reported apart (perCpuSecondWithRedis). The load generator, this " +
    "process and the busy check use /proc/<pid>/stat (10 ms ticks). Write system calls of the servers (syscw of " +
    "/proc/<pid>/io) per delivery show how many frames each write carries (serverWritesPerDelivery).",
  redisFanout:
    "Each node's Redis URL points at a counting TCP relay in the benchmark process that passes every byte on and " +
    "counts the pub/sub pushes Redis writes to that node (message, pmessage, smessage frames). Pushes to all nodes " +
    "in the window / chat messages sent in the window = Redis-to-node messages per chat message.",
  memory:
    "A module preloaded into every server (bench/targets/probe.mjs, the same for all targets) runs three full GCs " +
    "(--expose-gc) on request and reports process.memoryUsage(). Heap = heapUsed, RSS = VmRSS of /proc/<pid>/status; " +
    "per connection = (with the clients - before any client) / connections.",
  flood:
    "Scenario 7: the well-behaved users' latency is measured as in the other scenarios, alone (baseline) and then " +
    "with one flooder sending at 50 times the per-user limit from a load process of its own, on the same servers " +
    "in the same round. The flooder's acks are counted by outcome (accepted, rate_limited, other errors, none) for " +
    "the sends meant to leave in the window (per second) and over the whole phase, against the allowance " +
    "limit x seconds + burst.",
  growth:
    "Scenario 8: the same chat traffic (3,000 deliveries/s) on 1, 2 and 4 nodes, every room held by one node (rooms " +
    "round-robin over the nodes), then rooms five times bigger on 4 nodes; Redis-to-node messages per chat message " +
    "as in redisFanout, and server CPU per chat message of the window.",
  scale:
    "Scenario 6: the load generator runs as several processes (5,000 clients each, under the hard limit of open " +
    "files), each binding its sockets to a source address of its own (127.0.0.2, .3, ...). Clients connect open " +
    "loop at the storm rate (client k due at start + k/rate); handshake latency runs from the due time to the " +
    "connect event, ready latency to the answer of the room join; a client that never connected counts as " +
    "infinitely late. Then the clients that did not get in try again, 64 at a time (the top-up), so that memory " +
    "(as in scenario 4, over every node) and the big room's latency are measured at full size. The refill: one roomcast node at " +
    "MAX_CONNECTIONS = cap held by cap SDK clients pinned to it; SIGTERM, start again on the same port; seconds from " +
    "that start until every client is connected again.",
  busyCheck:
    `Machine CPU (user + nice + system of /proc/stat) minus the CPU of the benchmark's own processes (servers, ` +
    `Redis, load generator, this process), over 0.5 s before a trial and over its window. More than ` +
    `${FOREIGN_CORES_LIMIT} cores of someone else's work (or of hypervisor steal) marks the trial disturbed, and it ` +
    "is run again; the JSON keeps the rejected attempts.",
  rounds:
    "Every trial starts the target afresh (and empties Redis). Rounds run the targets interleaved, rotating the " +
    "order (A-B-C, B-C-A, C-A-B); figures are medians over the rounds.",
};

const round = (value: number | undefined, digits = 2): number | null =>
  value === undefined || !Number.isFinite(value) ? null : Math.round(value * 10 ** digits) / 10 ** digits;

/** The flat figures, the quick JSON line's keys first. */
export function headline(scenarios: BenchResults["scenarios"]): Record<string, number | null> {
  const hot = scenarios.hotRoom?.summary;
  const spread = scenarios.spreadRooms?.summary;
  const moderate = scenarios.moderateLatency?.summary;
  const idle = scenarios.idleConnections?.summary;
  const knee = scenarios.saturationKnee?.summary;
  const flood = scenarios.flood?.summary;
  const scale = scenarios.scale;
  const figures: Record<string, number | null> = {
    hot_room_roomcast_per_cpu_s: round(hot?.roomcast?.perServerCpuSecond, 0),
    hot_room_stock_per_cpu_s: round(hot?.stock?.perServerCpuSecond, 0),
    hot_room_ratio: round(ratio(hot?.roomcast?.perServerCpuSecond, hot?.stock?.perServerCpuSecond), 3),
    spread_redis_msgs_per_chat_msg_roomcast: round(spread?.roomcast?.redisPushesPerChatMessage, 3),
    spread_redis_msgs_per_chat_msg_stock: round(spread?.stock?.redisPushesPerChatMessage, 3),
    p99_ms_roomcast: round(hot?.roomcast?.p99Ms),
    p99_ms_stock: round(hot?.stock?.p99Ms),
  };
  if (hot) {
    Object.assign(figures, {
      hot_room_raw_ws_per_cpu_s: round(hot["raw-ws"]?.perServerCpuSecond, 0),
      hot_room_roomcast_deliveries_per_s: round(hot.roomcast?.deliveriesPerSecond, 0),
      hot_room_stock_deliveries_per_s: round(hot.stock?.deliveriesPerSecond, 0),
      hot_room_p50_ms_roomcast: round(hot.roomcast?.p50Ms),
      hot_room_p50_ms_stock: round(hot.stock?.p50Ms),
      hot_room_p999_ms_roomcast: round(hot.roomcast?.p999Ms),
      hot_room_p999_ms_stock: round(hot.stock?.p999Ms),
    });
  }
  for (const [scenario, result] of [
    ["hot_room", scenarios.hotRoom],
    ["spread", scenarios.spreadRooms],
  ] as const) {
    const cost = metricsCost(result);
    if (cost !== undefined) figures[`${scenario}_metrics_on_off_ratio`] = round(cost, 3);
  }
  if (spread) {
    Object.assign(figures, {
      spread_roomcast_per_cpu_s: round(spread.roomcast?.perServerCpuSecond, 0),
      spread_stock_per_cpu_s: round(spread.stock?.perServerCpuSecond, 0),
      spread_ratio: round(ratio(spread.roomcast?.perServerCpuSecond, spread.stock?.perServerCpuSecond), 3),
    });
  }
  if (moderate) {
    Object.assign(figures, {
      moderate_p50_ms_roomcast: round(moderate.roomcast?.p50Ms),
      moderate_p99_ms_roomcast: round(moderate.roomcast?.p99Ms),
      moderate_p999_ms_roomcast: round(moderate.roomcast?.p999Ms),
      moderate_p99_ms_stock: round(moderate.stock?.p99Ms),
      moderate_p50_ms_stock: round(moderate.stock?.p50Ms),
    });
  }
  if (idle) {
    Object.assign(figures, {
      idle_heap_kib_roomcast: round(idle.roomcast?.heapKiBPerConnection, 1),
      idle_heap_kib_stock: round(idle.stock?.heapKiBPerConnection, 1),
      idle_rss_kib_roomcast: round(idle.roomcast?.rssKiBPerConnection, 1),
      idle_rss_kib_stock: round(idle.stock?.rssKiBPerConnection, 1),
      idle_cores_per_10k_roomcast: round(idle.roomcast?.coresPer10kConnections, 3),
      idle_cores_per_10k_stock: round(idle.stock?.coresPer10kConnections, 3),
    });
  }
  if (knee) {
    Object.assign(figures, {
      knee_deliveries_per_s_roomcast: round(knee.roomcast?.kneeDeliveriesPerSecond, 0),
      knee_deliveries_per_s_stock: round(knee.stock?.kneeDeliveriesPerSecond, 0),
      knee_deliveries_per_s_raw_ws: round(knee["raw-ws"]?.kneeDeliveriesPerSecond, 0),
    });
  }
  if (scale) Object.assign(figures, scaleFigures(scale));
  if (flood) {
    const roomcast = flood.roomcast;
    Object.assign(figures, {
      flood_p99_ms_without_roomcast: round(roomcast?.baseline.p99Ms),
      flood_p99_ms_with_roomcast: round(roomcast?.flood.p99Ms),
      flood_p99_ratio_roomcast: round(roomcast?.p99Ratio, 3),
      flood_ack_p99_ms_without_roomcast: round(roomcast?.baseline.ackP99Ms),
      flood_ack_p99_ms_with_roomcast: round(roomcast?.flood.ackP99Ms),
      flood_flooder_attempted_per_s_roomcast: round(roomcast?.flooder.attemptedPerSecond, 1),
      flood_flooder_accepted_per_s_roomcast: round(roomcast?.flooder.acceptedPerSecond, 1),
      flood_flooder_accepted_of_allowance_roomcast: round(roomcast?.flooder.acceptedOfAllowance, 3),
    });
  }
  for (const step of scenarios.growth?.steps ?? []) {
    // e.g. growth_4n_10m_redis_msgs_per_chat_msg_stock: 4 nodes, rooms of 10.
    const name = `growth_${step.layout.nodes}n_${step.layout.clients / step.layout.rooms}m`;
    for (const [target, s] of Object.entries(step.summary)) {
      const key = target.replace(/\W/g, "_");
      Object.assign(figures, {
        [`${name}_redis_msgs_per_chat_msg_${key}`]: round(s.redisPushesPerChatMessage, 3),
        [`${name}_server_cpu_us_per_chat_msg_${key}`]: round(s.serverCpuUsPerChatMessage, 0),
        [`${name}_idle_server_cores_${key}`]: round(s.idleServerCores, 3),
        [`${name}_per_cpu_s_${key}`]: round(s.perServerCpuSecond, 0),
      });
    }
  }
  return figures;
}

/** Scenario 6's flat figures: `scale_connections` (roomcast's connections held) first. */
function scaleFigures(scale: ScaleResult): Record<string, number | null> {
  const figures: Record<string, number | null> = {
    scale_connections: round(scale.summary.roomcast?.held, 0),
  };
  for (const target of ["roomcast", "stock"]) {
    const s = scale.summary[target];
    if (!s) continue;
    Object.assign(figures, {
      [`scale_refused_${target}`]: s.refused,
      [`scale_failed_${target}`]: s.failed,
      [`scale_handshake_p50_ms_${target}`]: round(s.handshakeP50Ms),
      [`scale_handshake_p99_ms_${target}`]: round(s.handshakeP99Ms),
      [`scale_p50_ms_${target}`]: round(s.p50Ms),
      [`scale_p99_ms_${target}`]: round(s.p99Ms),
      [`scale_heap_kib_per_conn_${target}`]: round(s.heapKiBPerConnection, 1),
      [`scale_rss_kib_per_conn_${target}`]: round(s.rssKiBPerConnection, 1),
    });
  }
  if (scale.refill) figures.scale_refill_s_roomcast = round(scale.refill.result.refillSeconds, 1);
  return figures;
}

/**
 * Deliveries per server CPU-second of roomcast with metrics over roomcast without them
 * (`roomcast-nometrics`, METRICS=0), round by round, and the median of those ratios: 0.97 means
 * counting costs 3 %. The two trials of a round run one after the other, so a machine whose other
 * load comes and goes weighs less on their ratio than on the ratio of the medians. Undefined unless
 * both ran.
 */
export function metricsCost(result: FixedRateResult | undefined): number | undefined {
  if (!result) return undefined;
  const perCpu = (target: string, round: number) =>
    result.trials.find((trial) => trial.target === target && trial.round === round)?.result.perServerCpuSecond;
  const rounds = [...new Set(result.trials.map((trial) => trial.round))];
  return median(rounds.map((round) => ratio(perCpu("roomcast", round), perCpu("roomcast-nometrics", round))));
}

/** JSON without Infinity or NaN (they become null; `missing` says why a latency is absent). */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item: unknown) => (typeof item === "number" && !Number.isFinite(item) ? null : item),
    2,
  );
}
