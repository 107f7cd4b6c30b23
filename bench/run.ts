/**
 * `npm run bench`: measures roomcast against stock Socket.IO and raw ws, side by side, in one run
 * (issue 6). See bench/README.md.
 */
import { now } from "./clock.js";
import { parseConfig, type BenchConfig } from "./config.js";
import { hotRoom, idle, manyRooms } from "./layout.js";
import { LoadGenerator } from "./load/generator.js";
import { stopAll, stopChildrenOnExit } from "./processes.js";
import { FOREIGN_CORES_LIMIT } from "./session.js";
import { startRedis } from "./redis.js";
import { METHOD, headline, type BenchResults } from "./results.js";
import { renderTables, writeResults } from "./report.js";
import type { BenchContext } from "./scenarios/context.js";
import { nodesFor } from "./scenarios/context.js";
import { fixedRate } from "./scenarios/fixed-rate.js";
import { floodScenario } from "./scenarios/flood.js";
import { growthScenario } from "./scenarios/growth.js";
import { idleScenario } from "./scenarios/idle.js";
import { kneeScenario } from "./scenarios/knee.js";
import { scaleScenario } from "./scenarios/scale.js";
import { machineInfo } from "./system.js";
import { targetsByName } from "./targets/catalogue.js";
import { versions } from "./versions.js";

/** The quick run's JSON line: these keys, in this order. */
const QUICK_KEYS = [
  "hot_room_roomcast_per_cpu_s",
  "hot_room_stock_per_cpu_s",
  "hot_room_ratio",
  "spread_redis_msgs_per_chat_msg_roomcast",
  "spread_redis_msgs_per_chat_msg_stock",
  "p99_ms_roomcast",
  "p99_ms_stock",
  "spread_ratio",
  "moderate_p99_ms_roomcast",
  "moderate_p99_ms_stock",
  "idle_heap_kib_roomcast",
  "idle_heap_kib_stock",
  "idle_rss_kib_roomcast",
  "idle_rss_kib_stock",
  "idle_cores_per_10k_roomcast",
  "idle_cores_per_10k_stock",
  "scale_connections",
] as const;

const startedAt = now();
const log = (line: string) =>
  process.stderr.write(`[${((now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

/** Scenario 3's rate: a share of the lower knee of roomcast and stock, or the configured rate. */
function moderateRate(config: BenchConfig, scenarios: BenchResults["scenarios"]): { rate: number; rateFrom: string } {
  const knees = ["roomcast", "stock"]
    .map((target) => scenarios.saturationKnee?.summary[target]?.kneeDeliveriesPerSecond)
    .filter((value): value is number => value !== undefined && value > 0);
  if (knees.length === 0)
    return { rate: config.moderate.rate, rateFrom: "fixed rate (--moderate-rate), no knee measured" };
  const deliveries = Math.min(...knees) * config.moderate.shareOfKnee;
  return {
    rate: Math.max(1, Math.round(deliveries / config.moderate.members)),
    rateFrom: `${config.moderate.shareOfKnee * 100}% of the lower knee, ${Math.round(Math.min(...knees))} deliveries/s`,
  };
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  stopChildrenOnExit();
  const targets = targetsByName(config.targets);
  log(
    `bench: ${config.quick ? "quick run" : "full run"}, scenarios ${config.scenarios.join(",")}, targets ${config.targets.join(", ")}`,
  );

  const redis = await startRedis();
  const generator = await LoadGenerator.start(config.workers);
  const context: BenchContext = { config, targets, generator, redis, log };
  const scenarios: BenchResults["scenarios"] = {};
  const wants = (number: number) => config.scenarios.includes(number as never);
  try {
    if (wants(1)) {
      const size = { ...config.hotRoom, nodes: nodesFor(context, config.hotRoom.nodes) };
      log(`scenario 1, hot room: ${size.nodes} nodes, ${size.clients} clients, ${size.rate} msgs/s`);
      scenarios.hotRoom = await fixedRate(context, "hot room", hotRoom(size.nodes, size.clients, size.senders), size, {
        tapRedis: false,
      });
    }
    if (wants(2)) {
      const size = { ...config.spread, nodes: nodesFor(context, config.spread.nodes) };
      log(`scenario 2, spread rooms: ${size.nodes} nodes, ${size.rooms} rooms of ${size.members}, ${size.rate} msgs/s`);
      scenarios.spreadRooms = await fixedRate(
        context,
        "spread",
        manyRooms(size.nodes, size.rooms, size.members, "held"),
        size,
        {
          tapRedis: true,
        },
      );
    }
    if (wants(5)) {
      const knee = config.knee;
      const nodes = nodesFor(context, knee.nodes);
      log(`scenario 5, saturation knee: hot room on ${nodes} nodes, from ${knee.startRate} msgs/s`);
      scenarios.saturationKnee = await kneeScenario(context, hotRoom(nodes, knee.clients, knee.senders));
    }
    if (wants(3)) {
      const { rate, rateFrom } = moderateRate(config, scenarios);
      const size = { ...config.moderate, rate, nodes: nodesFor(context, config.moderate.nodes) };
      log(
        `scenario 3, moderate load: ${size.nodes} nodes, ${size.rooms} rooms of ${size.members}, ${rate} msgs/s (${rateFrom})`,
      );
      const result = await fixedRate(
        context,
        "moderate",
        manyRooms(size.nodes, size.rooms, size.members, "spread"),
        size,
        {
          tapRedis: false,
        },
      );
      scenarios.moderateLatency = { ...result, rateFrom };
    }
    if (wants(4)) {
      log(`scenario 4, idle connections: ${config.idle.connections} on one node`);
      scenarios.idleConnections = await idleScenario(
        context,
        idle(config.idle.connections, config.idle.roomSize),
        config.idle.roomSize,
      );
    }
    if (wants(6)) {
      const scale = config.scale;
      log(
        `scenario 6, scale: ${nodesFor(context, scale.nodes)} nodes, ${scale.connections} connections in rooms of ` +
          `${scale.roomSize} and one of ${scale.bigRoom}, storm ${scale.stormRate}/s, ${scale.rate} msgs/s to the big room`,
      );
      scenarios.scale = await scaleScenario(context);
    }
    if (wants(7)) {
      const flood = config.flood;
      log(
        `scenario 7, flood: ${flood.rooms * flood.members} users at ${flood.ratePerUser} msgs/s each, then one flooder ` +
          `on ${flood.sockets} sockets at ${flood.floodRate} sends/s (limit ${flood.limitPerSecond}/s, burst ${flood.limitBurst})`,
      );
      scenarios.flood = await floodScenario(context);
    }
    if (wants(8)) {
      log("scenario 8, growth: the same traffic on 1, 2 and 4 nodes, each room held by one node");
      scenarios.growth = await growthScenario(context);
    }
  } finally {
    await generator.close();
    await redis.stop();
    await stopAll();
  }

  const trials = Object.values(scenarios).flatMap(
    (scenario) => scenario.trials as Array<{ disturbed: boolean; rejected: unknown[] }>,
  );
  const results: BenchResults = {
    schema: 1,
    date: new Date().toISOString(),
    quick: config.quick,
    durationSeconds: Math.round((now() - startedAt) / 1000),
    machine: machineInfo(),
    versions: versions(redis.version),
    config,
    method: METHOD,
    busyCheck: {
      foreignCoresLimit: FOREIGN_CORES_LIMIT,
      trials: trials.length,
      repeated: trials.reduce((sum, trial) => sum + trial.rejected.length, 0),
      stillDisturbed: trials.filter((trial) => trial.disturbed).length,
    },
    scenarios,
    headline: headline(scenarios),
  };
  process.stdout.write(`\n${renderTables(results)}\n`);
  for (const path of writeResults(results, config.publish)) log(`wrote ${path}`);
  log(`bench: done in ${results.durationSeconds} s`);
  if (config.quick) {
    const line = {
      ...Object.fromEntries(QUICK_KEYS.map((key) => [key, results.headline[key] ?? null])),
      trials: results.busyCheck.trials,
      disturbed_trials: results.busyCheck.stillDisturbed,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

main().catch(async (error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await stopAll();
  process.exit(1);
});
