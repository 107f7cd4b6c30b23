import { buildApp } from "./app.js";
import { ConfigError, loadConfig, redact } from "./config.js";

/** Starts a node: reads the config, listens, and shuts down in order on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`roomcast: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const app = await buildApp(config);
  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    { redis: config.redisUrls.map(redact), mode: config.redisUrls.length > 0 ? "cluster" : "embedded" },
    "roomcast is listening",
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      app.log.error("shutdown took too long, exiting anyway");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`roomcast: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
