import { setPriority } from "node:os";
import { now } from "../clock.js";
import type { Layout } from "../layout.js";
import type { LoadGenerator } from "../load/generator.js";
import { FOREIGN_CORES_LIMIT, Session } from "../session.js";
import type { ServerNode } from "../targets/server-node.js";
import type { RunningTarget, Target } from "../targets/target.js";
import { serverFlags, type BenchContext } from "./context.js";
import {
  coresBetween,
  cpuMark,
  describeStorm,
  openConnections,
  timedStorm,
  type Cores,
  type StormSummary,
} from "./storm.js";

/** How long a SIGTERMed node may take to drain its sockets and exit (roomcast's own limit is 25 s). */
const SHUTDOWN_GRACE_MS = 30_000;
/**
 * The first fill runs at the storm rate but with at most this many handshakes in flight, so that
 * the node gets full even on a machine that cannot keep up with the rate.
 */
const FILL_IN_FLIGHT = 64;
/**
 * Niceness of the load workers from the SIGTERM on: real clients do not share the restarting
 * node's CPU, and here thousands of them retrying at once would starve its start.
 */
const RETRYING_CLIENTS_NICE = 10;
/** Longest wait for the SDK clients of a restarted node to be back. */
const REFILL_TIMEOUT_MS = 120_000;

/** The restart of one full node and its refill by its clients (roomcast only: MAX_CONNECTIONS). */
export interface RefillMeasurement {
  cap: number;
  /** The SDK clients' first connection: a storm at the scenario's rate. */
  fill: StormSummary;
  /** The node's count just before SIGTERM: the cap when full. */
  openBefore: number | undefined;
  /** From SIGTERM until the process exited (its sockets drained). */
  drainSeconds: number;
  /** From the new process's start until it answered /readyz. */
  startSeconds: number;
  /** From the new process's start until every client was connected again: the refill. */
  refillSeconds: number | undefined;
  /** From SIGTERM until every client was connected again. */
  outageSeconds: number | undefined;
  back: number;
  /** The node's count once the clients were back. */
  openAfter: number | undefined;
  cores: Cores;
  disturbed: boolean;
}

/**
 * The refill: one roomcast node at MAX_CONNECTIONS = cap, held by cap SDK clients whose one URL is
 * that node (rooms of the scenario's size). SIGTERM drains it (the clients reconnect with the
 * SDK's backoff, refused meanwhile), the same server starts again on the same port, and the refill
 * is the time from that start until every client is connected again: the node holds its cap.
 */
export async function refillTrial(
  context: BenchContext,
  generator: LoadGenerator,
  target: Target,
  layout: Layout,
): Promise<{ mode: string; result: RefillMeasurement }> {
  const cap = layout.clients.length;
  await context.redis.flush();
  let running: RunningTarget | undefined;
  let fill: { group: number; storm: StormSummary } | undefined;
  const session = await Session.open({
    target,
    layout,
    generator,
    redis: context.redis,
    tapRedis: false,
    nodeFlags: serverFlags(context),
    serverEnv: { MAX_CONNECTIONS: String(cap) },
    onStarted: async (started) => {
      running = started;
      context.log(`  refill ${target.name}: ${started.mode} started, MAX_CONNECTIONS=${cap}`);
    },
    connect: async (clients) => {
      fill = await timedStorm(context, generator, "sdk", clients, () => running!, { maxInFlight: FILL_IN_FLIGHT });
      return fill.group;
    },
  });
  let relaunched: ServerNode | undefined;
  try {
    context.log(`  refill ${target.name} fill: ${describeStorm(fill!.storm)}`);
    const node = session.running.nodes[0]!;
    const openBefore = await openConnections(node.url);
    for (const pid of generator.pids) setPriority(pid, RETRYING_CLIENTS_NICE);
    const from = cpuMark();
    const stoppedAt = now();
    await node.process.stop(SHUTDOWN_GRACE_MS);
    const startedAt = now();
    // Watched from the start: clients may be back before the harness sees the node ready.
    const coming = generator.returned(fill!.group, stoppedAt, REFILL_TIMEOUT_MS);
    coming.catch(() => undefined); // Awaited below, unless the start fails.
    relaunched = await node.relaunch();
    const readyAt = now();
    const back = await coming;
    const cores = coresBetween(from, cpuMark(), {
      servers: [node.process.pid, relaunched.process.pid],
      load: generator.pids,
      redis: context.redis.pid,
    });
    const openAfter = await openConnections(relaunched.url);
    const result: RefillMeasurement = {
      cap,
      fill: fill!.storm,
      openBefore,
      drainSeconds: (startedAt - stoppedAt) / 1000,
      startSeconds: (readyAt - startedAt) / 1000,
      refillSeconds: back.lastBackAt === undefined ? undefined : (back.lastBackAt - startedAt) / 1000,
      outageSeconds: back.lastBackAt === undefined ? undefined : (back.lastBackAt - stoppedAt) / 1000,
      back: back.back,
      openAfter,
      cores,
      disturbed: cores.foreign > FOREIGN_CORES_LIMIT || fill!.storm.cores.foreign > FOREIGN_CORES_LIMIT,
    };
    context.log(
      `  refill ${target.name}: ${openBefore ?? "?"} open before SIGTERM, drained in ${result.drainSeconds.toFixed(1)} s, ` +
        `started in ${result.startSeconds.toFixed(1)} s, ${back.back}/${back.clients} back, full again ` +
        `${result.refillSeconds?.toFixed(1) ?? "never"} s after the start (${openAfter ?? "?"} open), ` +
        `foreign ${cores.foreign.toFixed(2)} cores`,
    );
    return { mode: session.running.mode, result };
  } finally {
    await session.close();
    await relaunched?.process.stop(SHUTDOWN_GRACE_MS);
  }
}
