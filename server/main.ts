import cluster from "node:cluster";
import closeWithGrace from "close-with-grace";
import { runPrimary } from "./cluster-primary.js";
import { ConfigError, configWarnings, loadConfig, redact, type Config } from "./config.js";

/** Signals a cluster worker handles itself, once (see `runNode`). */
const WORKER_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/** Reads the configuration, or stops the process with one line naming the bad variable. */
function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`roomcast: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * Runs one node: listens, then shuts down in order on SIGTERM, SIGINT (or another signal
 * close-with-grace listens for), or on an uncaught exception or unhandled rejection (logged, then
 * exit 1). A second signal or error exits 1 at once; SHUTDOWN_TIMEOUT_MS bounds the whole shutdown.
 */
async function runNode(config: Config): Promise<void> {
  // Loaded here, so that a cluster primary, which serves nothing, does not load the server.
  const { buildApp } = await import("./app.js");
  const app = await buildApp(config);
  for (const { variable, message } of configWarnings(config)) app.log.warn({ variable }, message);
  await app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  app.log.info(
    {
      redis: config.redisUrls.map(redact),
      mode: config.redisUrls.length > 0 ? "cluster" : "embedded",
      maxConnections: config.maxConnections,
      listenBacklog: config.listenBacklog,
    },
    "roomcast is listening",
  );

  let stopping = false;
  /** The signal that made a worker stop, for the log (a worker starts its shutdown by hand). */
  let workerSignal: NodeJS.Signals | undefined;
  const grace = closeWithGrace(
    {
      delay: config.shutdownTimeoutMs,
      // Used only when the shutdown itself fails: every other outcome has its callback below.
      logger: { error: (error: unknown) => app.log.error({ err: error }, "shutdown failed") },
      skip: cluster.isWorker ? [...WORKER_SIGNALS] : [],
      onSecondSignal: (signal) => app.log.error({ signal }, "second signal while shutting down, exiting at once"),
      onSecondError: (error) => app.log.error({ err: error }, "uncaught error while shutting down, exiting at once"),
      onTimeout: () => app.log.error("shutdown took too long, exiting anyway"),
    },
    async (event) => {
      stopping = true;
      const crashed = "err" in event;
      if (crashed) app.log.error({ err: event.err }, "uncaught error, shutting down");
      else app.log.info({ signal: event.signal ?? workerSignal }, "shutting down");
      await app.close();
      // close-with-grace would exit 0 after `Promise.reject()` without a reason.
      if (crashed && event.err === undefined) process.exit(1);
    },
  );
  if (cluster.isWorker) {
    // The platform may signal every process of the dyno while the primary forwards the same
    // signal: a worker stops once, whichever comes first, and leaves "a second signal exits at
    // once" to its primary.
    for (const signal of WORKER_SIGNALS) {
      process.on(signal, () => {
        if (stopping) return;
        workerSignal = signal;
        grace.close();
      });
    }
  }
}

/** Starts a node, or, with WEB_CONCURRENCY above 1, the primary of that many nodes. */
async function main(): Promise<void> {
  const config = readConfig();
  if (cluster.isPrimary && config.webConcurrency > 1) runPrimary(config);
  else await runNode(config);
}

main().catch((error: unknown) => {
  process.stderr.write(`roomcast: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
