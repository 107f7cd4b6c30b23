import cluster, { type Worker } from "node:cluster";
import { once } from "node:events";
import closeWithGrace from "close-with-grace";
import type { Config, LogLevel } from "./config.js";

/** Crashes of one worker within CRASH_WINDOW_MS that are restarted; one more stops the process. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;
/** Delay before the first restart of a worker; it doubles with each crash within the window. */
const FIRST_RESTART_DELAY_MS = 100;
/** How long past the workers' own shutdown deadline the primary waits before killing them. */
const SHUTDOWN_MARGIN_MS = 5_000;

/** pino's numbers for the levels, so that the primary's lines read like its workers'. */
const LEVEL_NUMBERS: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

type Fields = Record<string, unknown>;

/**
 * The primary's log: JSON lines in the nodes' format (pino's), written directly, so that the
 * primary loads neither Fastify nor the server (it stays a small process beside its workers).
 */
function primaryLog(config: Config) {
  const threshold = LEVEL_NUMBERS[config.logLevel];
  const write = (level: "info" | "error", fields: Fields, msg: string) => {
    if (LEVEL_NUMBERS[level] < threshold) return;
    const err =
      fields.err instanceof Error
        ? { type: fields.err.name, message: fields.err.message, stack: fields.err.stack }
        : fields.err;
    const line = {
      level: LEVEL_NUMBERS[level],
      time: Date.now(),
      node: config.nodeId,
      role: "primary",
      ...fields,
      err, // left out by JSON.stringify when undefined
      msg,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  };
  return {
    info: (fields: Fields, msg: string) => write("info", fields, msg),
    error: (fields: Fields, msg: string) => write("error", fields, msg),
  };
}

/** One worker's place: its index and node id stay when the worker is restarted. */
interface Slot {
  nodeId: string;
  worker?: Worker;
  /** When this slot's worker crashed, within the last CRASH_WINDOW_MS. */
  crashes: number[];
  restart?: NodeJS.Timeout;
}

/**
 * Runs `config.webConcurrency` roomcast nodes as workers of this process, sharing its port:
 * `node:cluster` hands each new connection to the next worker. Worker `i` is the node
 * `config.workerNodeIds[i]`, a node of the Redis cluster like any other.
 *
 * - A worker that exits on its own is started again, after a delay that doubles with each crash;
 *   a worker that crashes more than MAX_CRASHES times in a minute stops the process (exit 1), so
 *   that the platform restarts it with its own backoff instead of the loop spinning here.
 * - SIGTERM (or SIGINT, or an uncaught error here) is sent on to every worker as SIGTERM; each
 *   shuts down in order, and the primary exits once all have exited: 0 if each exited 0.
 * - A second signal kills the workers and exits 1 at once, as does the shutdown deadline
 *   (SHUTDOWN_TIMEOUT_MS, plus a margin: each worker keeps its own).
 *
 * Connections are not sticky: Socket.IO's HTTP long-polling, whose requests must all reach the
 * worker that holds the session, needs WebSocket (the SDK's default) or affinity in front.
 */
export function runPrimary(config: Config): void {
  const log = primaryLog(config);
  const slots: Slot[] = config.workerNodeIds.map((nodeId) => ({ nodeId, crashes: [] }));
  let stopping = false;
  /** Why the primary stops with exit code 1 once its workers are down. */
  let failure: Error | undefined;

  const killAll = () => {
    for (const slot of slots) slot.worker?.process.kill("SIGKILL");
  };

  const start = (slot: Slot) => {
    // Each worker reads the configuration as a single node named after its slot.
    const worker = cluster.fork({ NODE_ID: slot.nodeId, WEB_CONCURRENCY: "1" });
    slot.worker = worker;
    log.info({ worker: slot.nodeId, pid: worker.process.pid }, "worker started");
    worker.once("exit", (code: number | null, signal: NodeJS.Signals | null) => {
      slot.worker = undefined;
      if (!stopping) restartLater(slot, code, signal);
    });
  };

  const restartLater = (slot: Slot, code: number | null, signal: NodeJS.Signals | null) => {
    const now = Date.now();
    slot.crashes = [...slot.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now];
    if (slot.crashes.length > MAX_CRASHES) {
      failure = new Error(`worker ${slot.nodeId} crashed ${slot.crashes.length} times within a minute`);
      log.error({ worker: slot.nodeId, code, signal }, "a worker keeps crashing; stopping the others");
      grace.close();
      return;
    }
    const delay = FIRST_RESTART_DELAY_MS * 2 ** (slot.crashes.length - 1);
    log.error({ worker: slot.nodeId, code, signal, restartInMs: delay }, "worker exited; restarting it");
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (!stopping) start(slot);
    }, delay);
  };

  const grace = closeWithGrace(
    {
      delay: config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS,
      logger: { error: (error: unknown) => log.error({ err: error }, "exiting with code 1") },
      onSecondSignal: (signal) => {
        log.error({ signal }, "second signal while stopping the workers: killing them");
        killAll();
      },
      onSecondError: (error) => {
        log.error({ err: error }, "uncaught error while stopping the workers: killing them");
        killAll();
      },
      onTimeout: () => {
        log.error({}, "the workers took too long to stop: killing them");
        killAll();
      },
    },
    async (event) => {
      stopping = true;
      if ("err" in event) {
        failure ??= event.err ?? new Error("an unhandled rejection without a reason");
        log.error({ err: event.err }, "uncaught error, stopping the workers");
      } else if (event.signal !== undefined) {
        log.info({ signal: event.signal }, "stopping the workers");
      }
      for (const slot of slots) clearTimeout(slot.restart);
      const live = slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));
      const codes = await Promise.all(
        live.map(async (worker) => {
          const exited = once(worker, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
          worker.process.kill("SIGTERM");
          const [code] = await exited;
          return code;
        }),
      );
      log.info({ codes }, "every worker has exited");
      if (failure) throw failure;
      if (codes.some((code) => code !== 0)) throw new Error("a worker's shutdown failed");
    },
  );

  log.info({ workers: slots.length }, "starting the workers");
  for (const slot of slots) start(slot);
}
