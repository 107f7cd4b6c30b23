import { mkdirSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { renderChart } from "./chart.js";
import { benchPath } from "./paths.js";
import { metricsCost, toJson, type BenchResults } from "./results.js";
import type { FixedRateSummary } from "./scenarios/fixed-rate.js";
import { ALLOWANCE_SLACK, type FloodResult, type PhaseSummary } from "./scenarios/flood.js";
import type { GrowthResult } from "./scenarios/growth.js";
import type { ScaleResult } from "./scenarios/scale.js";
import { ratio } from "./stats.js";

type Cell = string | number | undefined;

function format(value: Cell, digits = 0): string {
  if (value === undefined) return "-";
  if (typeof value === "string") return value;
  if (value === Infinity) return "lost";
  if (!Number.isFinite(value)) return "-";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(title: string, header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join("  ");
  return [title, line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line), ""].join("\n");
}

const times = (value: number | undefined) => (value === undefined ? "-" : `${value.toFixed(2)}x`);
const busy = (disturbed: number, trials: number) => (disturbed > 0 ? `${disturbed}/${trials}` : "");

const THROUGHPUT_HEADER = ["deliveries/s", "per server CPU-s", "vs stock", "per CPU-s w/ Redis", "writes/delivery"];

/** The throughput columns of a fixed-rate scenario; `stock` is stock's deliveries per server CPU-s. */
const throughputCells = (s: FixedRateSummary, stock: number | undefined): string[] => [
  format(s.deliveriesPerSecond),
  format(s.perServerCpuSecond),
  times(ratio(s.perServerCpuSecond, stock)),
  format(s.perCpuSecondWithRedis),
  format(s.serverWritesPerDelivery, 2),
];

const LATENCY_HEADER = ["p50 ms", "p99 ms", "p99.9 ms", "missing", "busy"];

/** The latency columns of a fixed-rate scenario, with its delivery and busy counts. */
const latencyCells = (s: FixedRateSummary): string[] => [
  format(s.p50Ms, 2),
  format(s.p99Ms, 2),
  format(s.p999Ms, 2),
  format(s.missing),
  busy(s.disturbed, s.trials),
];

/** The console tables: one per scenario, then where the issue's targets stand. */
export function renderTables(results: BenchResults): string {
  const { scenarios } = results;
  const parts: string[] = [];
  const hot = scenarios.hotRoom;
  if (hot) {
    const stock = hot.summary.stock?.perServerCpuSecond;
    parts.push(
      table(
        `Scenario 1, hot room: ${hot.layout.nodes} nodes, ${hot.layout.clients} clients in one room, ` +
          `${hot.load.rate} msgs/s from ${hot.layout.senders} senders (medians of ${results.config.rounds} rounds)`,
        ["target", ...THROUGHPUT_HEADER, ...LATENCY_HEADER],
        Object.entries(hot.summary).map(([target, s]) => [target, ...throughputCells(s, stock), ...latencyCells(s)]),
      ),
    );
  }
  const spread = scenarios.spreadRooms;
  if (spread) {
    const stock = spread.summary.stock?.perServerCpuSecond;
    parts.push(
      table(
        `Scenario 2, spread rooms: ${spread.layout.nodes} nodes, ${spread.layout.rooms} rooms of ` +
          `${spread.layout.clients / spread.layout.rooms}, each held by one node, ${spread.load.rate} msgs/s`,
        ["target", ...THROUGHPUT_HEADER, "Redis msgs/chat msg", "p99 ms", "busy"],
        Object.entries(spread.summary).map(([target, s]) => [
          target,
          ...throughputCells(s, stock),
          format(s.redisPushesPerChatMessage, 2),
          format(s.p99Ms, 2),
          busy(s.disturbed, s.trials),
        ]),
      ),
    );
  }
  const knee = scenarios.saturationKnee;
  if (knee) {
    const stock = knee.summary.stock?.kneeDeliveriesPerSecond;
    parts.push(
      table(
        `Scenario 5, saturation knee: hot room, rate x${knee.scan.factor} per step until p99 > ${knee.scan.p99LimitMs} ms`,
        ["target", "knee msgs/s", "knee deliveries/s", "vs stock", "server cores", "load-generator cores"],
        Object.entries(knee.summary).map(([target, s]) => [
          target,
          format(s.kneeRate),
          format(s.kneeDeliveriesPerSecond),
          times(ratio(s.kneeDeliveriesPerSecond, stock)),
          format(s.kneeServerCores, 2),
          format(s.kneeLoadCores, 2),
        ]),
      ),
    );
  }
  const moderate = scenarios.moderateLatency;
  if (moderate) {
    parts.push(
      table(
        `Scenario 3, latency at moderate load: ${moderate.layout.nodes} nodes, ${moderate.layout.rooms} rooms of ` +
          `${moderate.layout.clients / moderate.layout.rooms} spread over the nodes, ${format(moderate.load.rate)} msgs/s ` +
          `(${moderate.rateFrom})`,
        ["target", "deliveries/s", ...LATENCY_HEADER],
        Object.entries(moderate.summary).map(([target, s]) => [
          target,
          format(s.deliveriesPerSecond),
          ...latencyCells(s),
        ]),
      ),
    );
  }
  const idle = scenarios.idleConnections;
  if (idle) {
    parts.push(
      table(
        `Scenario 4, idle connections: ${idle.layout.connections} on one node, in rooms of ${idle.layout.roomSize}, after forced GC`,
        ["target", "heap KiB/conn", "RSS KiB/conn", "cores per 10k conns"],
        Object.entries(idle.summary).map(([target, s]) => [
          target,
          format(s.heapKiBPerConnection, 1),
          format(s.rssKiBPerConnection, 1),
          format(s.coresPer10kConnections, 3),
        ]),
      ),
    );
  }
  if (scenarios.scale) parts.push(renderScale(scenarios.scale));
  const flood = scenarios.flood;
  if (flood) parts.push(renderFlood(flood, results.config.rounds));
  const growth = scenarios.growth;
  if (growth) parts.push(renderGrowth(growth, results.config.rounds));
  const metrics = renderMetricsCost(results);
  if (metrics !== "") parts.push(metrics);
  parts.push(renderTargets(results));
  return parts.join("\n");
}

/** The phase columns of scenario 7: the well-behaved users' latency and what the phase cost. */
const phaseCells = (s: PhaseSummary): string[] => [
  format(s.p50Ms, 2),
  format(s.p99Ms, 2),
  format(s.floodedRoomP99Ms, 2),
  format(s.otherRoomsP99Ms, 2),
  format(s.ackP99Ms, 2),
  format(s.missing),
  format(s.acksFailed),
  format(s.serverCores, 2),
  format(s.redisCores, 2),
  format(s.loadCores, 2),
];

/** Scenario 7: the well-behaved users without and with the flood, then the flooder, then whether the limit held. */
function renderFlood(flood: FloodResult, rounds: number): string {
  const { layout, load } = flood;
  const times50 = Math.round(load.floodRate / load.limitPerSecond);
  const users = table(
    `Scenario 7, flood: ${layout.nodes} nodes, ${layout.users} users in ${layout.rooms} rooms sending ` +
      `${load.ratePerUser} msgs/s each; the flood: one user on ${layout.flooderSockets} sockets, ` +
      `${format(load.floodRate)} sends/s (${times50}x its limit of ${load.limitPerSecond}/s, burst ${load.limitBurst}), ` +
      `half to ${layout.floodedRoom}, half DMs to ${layout.victim} (medians of ${rounds} rounds)`,
    [
      "target",
      "phase",
      "p50 ms",
      "p99 ms",
      `${layout.floodedRoom} p99`,
      "other rooms p99",
      "ack p99 ms",
      "missing",
      "acks failed",
      "server cores",
      "Redis cores",
      "load cores",
      "busy",
    ],
    Object.entries(flood.summary).flatMap(([target, s]) => [
      [target, "baseline", ...phaseCells(s.baseline), ""],
      [target, "flood", ...phaseCells(s.flood), busy(s.disturbed, s.trials)],
    ]),
  );
  const flooder = table(
    "The flooder, over the measured window (accepted/allowance: over the whole flood phase)",
    [
      "target",
      "p99 flood/baseline",
      "attempted/s",
      "accepted/s",
      "refused/s",
      "other errors",
      "unanswered",
      "sockets dropped",
      "skipped/s",
      "accepted/allowance",
      "flooder cores",
      "send lag p99 ms",
    ],
    Object.entries(flood.summary).map(([target, s]) => [
      target,
      times(s.p99Ratio),
      format(s.flooder.attemptedPerSecond),
      format(s.flooder.acceptedPerSecond, 1),
      format(s.flooder.refusedPerSecond),
      format(s.flooder.otherErrors),
      format(s.flooder.unanswered),
      format(s.flooder.socketsDropped),
      format(s.flooder.skippedPerSecond),
      format(s.flooder.acceptedOfAllowance, 2),
      format(s.flooder.cores, 2),
      format(s.flooder.sendLagP99Ms, 1),
    ]),
  );
  const verdicts = Object.entries(flood.summary).map(([target, s]) => {
    const share = s.flooder.acceptedOfAllowance;
    const accepted = `${format(s.flooder.acceptedPerSecond, 1)}/s`;
    if (share === undefined) return `${target}: no flood measured`;
    return share <= ALLOWANCE_SLACK
      ? `${target}: the flooder got ${accepted} through, within its limit of ${load.limitPerSecond}/s: the limit holds per user`
      : `${target}: the flooder got ${accepted} through, ${format(share, 1)}x what a per-user limit of ` +
          `${load.limitPerSecond}/s (burst ${load.limitBurst}) allows: the limit does not hold per user`;
  });
  return [users, flooder, ...verdicts, ""].join("\n");
}

/** Scenario 8: per chat message, what Redis sends the nodes and what the nodes spend, step by step. */
function renderGrowth(growth: GrowthResult, rounds: number): string {
  const load = growth.steps[0]?.load;
  return table(
    `Scenario 8, growth: every room held by one node, rooms round-robin over the nodes, ` +
      `${format(load?.windowMs)} ms windows (medians of ${rounds} rounds)`,
    [
      "nodes",
      "rooms",
      "msgs/s",
      "target",
      "Redis msgs/chat msg",
      "server CPU µs/chat msg",
      "idle server cores",
      "above idle µs/chat msg",
      "Redis CPU µs/chat msg",
      "per server CPU-s",
      "vs stock",
      "p99 ms",
      "busy",
    ],
    growth.steps.flatMap((step) =>
      Object.entries(step.summary).map(([target, s]) => [
        format(step.layout.nodes),
        `${step.layout.rooms} of ${step.layout.clients / step.layout.rooms}`,
        format(step.load.rate),
        target,
        format(s.redisPushesPerChatMessage, 2),
        format(s.serverCpuUsPerChatMessage),
        format(s.idleServerCores, 3),
        format(s.serverCpuUsPerChatMessageAboveIdle),
        format(s.redisCpuUsPerChatMessage),
        format(s.perServerCpuSecond),
        times(ratio(s.perServerCpuSecond, step.summary.stock?.perServerCpuSecond)),
        format(s.p99Ms, 2),
        busy(s.disturbed, s.trials),
      ]),
    ),
  );
}

/** Scenario 6: the storm, memory at full size and the big room per target; then the refill. */
function renderScale(scale: ScaleResult): string {
  const { layout, load } = scale;
  const parts = [
    table(
      `Scenario 6, scale: ${layout.nodes} nodes, ${format(layout.clients)} connections (rooms of ${layout.roomSize} and ` +
        `one of ${format(layout.bigRoom)}) from ${layout.workers} load processes, connect storm ${format(load.stormRate)}/s; ` +
        `${load.rate} msgs/s to the big room`,
      [
        "target",
        "held",
        "refused",
        "failed",
        "topped up",
        "storm s",
        "handshake p50 ms",
        "handshake p99 ms",
        "ready p99 ms",
        "heap KiB/conn",
        "RSS KiB/conn",
        "p50 ms",
        "p99 ms",
        "missing",
        "busy",
      ],
      Object.entries(scale.summary).map(([target, s]) => [
        target,
        format(s.held),
        format(s.refused),
        format(s.failed),
        format(s.toppedUp),
        format(s.stormSeconds, 1),
        format(s.handshakeP50Ms, 1),
        format(s.handshakeP99Ms, 1),
        format(s.readyP99Ms, 1),
        format(s.heapKiBPerConnection, 1),
        format(s.rssKiBPerConnection, 1),
        format(s.p50Ms, 2),
        format(s.p99Ms, 2),
        format(s.missing),
        s.disturbed ? "yes" : "",
      ]),
    ),
  ];
  // Why connections did not get in (by the server's error code or the client's reason) or did not stay.
  const reasons = scale.trials.flatMap(({ target, result: { storm, dropped } }) => {
    const counts = [...Object.entries(storm.refused), ...Object.entries(storm.failed)];
    if (storm.joinsFailed > 0) counts.push(["joins failed", storm.joinsFailed]);
    for (const [reason, count] of Object.entries(dropped)) counts.push([`dropped later (${reason})`, count]);
    return counts.length === 0
      ? []
      : [
          `${target}: ${counts.map(([reason, count]) => `${reason} ${format(count)}`).join(", ")}; the load ` +
            `processes began their attempts up to ${format(storm.startLagP99Ms)} ms late (p99)`,
        ];
  });
  if (reasons.length > 0) parts.push(`${reasons.join("\n")}\n`);
  if (scale.refillError !== undefined) parts.push(`Refill after a restart: failed: ${scale.refillError}\n`);
  const refill = scale.refill;
  if (refill) {
    const r = refill.result;
    parts.push(
      table(
        `Refill after a restart: one ${refill.target} node at MAX_CONNECTIONS=${format(r.cap)}, held by as many SDK ` +
          "clients; SIGTERM, then the same server started again; refill = from that start until every client is back",
        ["target", "open before", "drain s", "start s", "refill s", "SIGTERM to full s", "back", "open after", "busy"],
        [
          [
            refill.target,
            format(r.openBefore),
            format(r.drainSeconds, 1),
            format(r.startSeconds, 1),
            format(r.refillSeconds, 1),
            format(r.outageSeconds, 1),
            format(r.back),
            format(r.openAfter),
            r.disturbed ? "yes" : "",
          ],
        ],
      ),
    );
  }
  return parts.join("\n");
}

/** roomcast with its metrics on and off, side by side, where a run had both (issue 13: within 3 %). */
function renderMetricsCost(results: BenchResults): string {
  const rows = (
    [
      ["hot room", results.scenarios.hotRoom],
      ["spread rooms", results.scenarios.spreadRooms],
    ] as const
  ).flatMap(([scenario, result]) => {
    const cost = metricsCost(result);
    if (cost === undefined || !result) return [];
    const { summary } = result;
    return [
      [
        scenario,
        format(summary.roomcast?.perServerCpuSecond),
        format(summary["roomcast-nometrics"]?.perServerCpuSecond),
        times(cost),
        `${format((1 - cost) * 100, 1)} %`,
        cost >= 0.97 ? "met" : "not met",
      ],
    ];
  });
  return rows.length === 0
    ? ""
    : table(
        "What the metrics cost: deliveries per server CPU-second, roomcast (METRICS=1) and roomcast-nometrics " +
          "(METRICS=0), medians; on/off is the median of the rounds' ratios",
        ["scenario", "metrics on", "metrics off", "on/off", "cost", "<= 3 %"],
        rows,
      );
}

/** Where the issue's targets stand (a benchmark reports; it does not fail). */
function renderTargets(results: BenchResults): string {
  const h = results.headline;
  const rows: string[][] = [];
  const check = (name: string, value: number | null | undefined, goal: string, met: (value: number) => boolean) => {
    if (value === undefined || value === null) return;
    rows.push([name, format(value, 2), goal, met(value) ? "met" : "not met"]);
  };
  check("hot room, roomcast/stock per server CPU-s", h.hot_room_ratio, ">= 1.25", (v) => v >= 1.25);
  const rawWs = h.hot_room_raw_ws_per_cpu_s;
  check(
    "hot room (stretch), roomcast/raw ws per server CPU-s",
    ratio(h.hot_room_roomcast_per_cpu_s ?? undefined, rawWs ?? undefined),
    ">= 0.9",
    (v) => v >= 0.9,
  );
  check("spread, roomcast/stock per server CPU-s", h.spread_ratio, ">= 1.5", (v) => v >= 1.5);
  check(
    "spread, Redis msgs per chat msg (roomcast)",
    h.spread_redis_msgs_per_chat_msg_roomcast,
    "<= 1.1",
    (v) => v <= 1.1,
  );
  check("moderate load, roomcast p99 ms", h.moderate_p99_ms_roomcast, "<= 5", (v) => v <= 5);
  const stockP50 = h.moderate_p50_ms_stock;
  check(
    "moderate load, roomcast p50 ms",
    h.moderate_p50_ms_roomcast,
    `<= ${format(stockP50 ?? undefined, 2)} (stock)`,
    (v) => (stockP50 == null ? false : v <= stockP50),
  );
  check("idle, roomcast heap KiB per connection", h.idle_heap_kib_roomcast, "<= 8", (v) => v <= 8);
  const stockRss = h.idle_rss_kib_stock;
  check(
    "idle, roomcast RSS KiB per connection",
    h.idle_rss_kib_roomcast,
    `<= ${format(stockRss ?? undefined, 1)} (stock)`,
    (v) => (stockRss == null ? false : v <= stockRss),
  );
  const notIn =
    h.scale_refused_roomcast == null || h.scale_failed_roomcast == null
      ? undefined
      : h.scale_refused_roomcast + h.scale_failed_roomcast;
  check("scale (issue 12), roomcast storm connections refused or failed", notIn, "0", (v) => v === 0);
  check("scale (issue 12), roomcast big-room p99 ms", h.scale_p99_ms_roomcast, "<= 50", (v) => v <= 50);
  return rows.length === 0 ? "" : table("Issue 12 targets", ["figure", "measured", "target", ""], rows);
}

/** Writes bench/results/<date>.json and .svg, and latest.* when `publish`; returns the paths. */
export function writeResults(results: BenchResults, publish: boolean): string[] {
  const folder = benchPath("results/");
  mkdirSync(folder, { recursive: true });
  const stamp = results.date.replace(/[:]/g, "-").replace(/\.\d+Z$/, "Z");
  const json = join(folder, `${stamp}.json`);
  const svg = join(folder, `${stamp}.svg`);
  writeFileSync(json, `${toJson(results)}\n`);
  writeFileSync(svg, renderChart(results));
  const written = [json, svg];
  if (publish) {
    copyFileSync(json, join(folder, "latest.json"));
    copyFileSync(svg, join(folder, "latest.svg"));
    written.push(join(folder, "latest.json"), join(folder, "latest.svg"));
  }
  return written;
}
