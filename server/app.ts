import { existsSync } from "node:fs";
import fastifyStatic from "@fastify/static";
import Fastify, { LogController, type FastifyInstance } from "fastify";
import { attachChat } from "./chat/chat.js";
import type { Config } from "./config.js";
import { securityHeaders } from "./plugins/security-headers.js";
import { socketIo } from "./plugins/socket-io.js";
import { adminRoutes } from "./routes/admin.js";
import { healthRoutes } from "./routes/health.js";
import { openStores, type Stores } from "./stores.js";

export interface AppOptions {
  /** Stores to use instead of opening them from `config` (the caller then closes them). */
  stores?: Stores;
}

/**
 * Builds the chat server without listening: Fastify with Socket.IO, the stores the config asks
 * for, health and admin routes, and the page. `app.close()` shuts it all down in order.
 *
 * @example
 * const app = await buildApp(loadConfig());
 * await app.listen({ port: 3000 });
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      base: { node: config.nodeId },
      redact: ["req.headers.authorization", "req.headers.cookie"],
    },
    // Socket.IO long-polling would log every request: keep request lines out of the log.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });

  const stores = options.stores ?? (await openStores(config, app.log));
  let shuttingDown = false;
  // Registered first, so that Fastify's last-in-first-out onClose closes the stores last.
  app.addHook("onClose", async () => {
    if (!options.stores) await stores.close();
  });

  await app.register(securityHeaders);
  await app.register(healthRoutes, {
    nodeId: config.nodeId,
    notReadyBecause: () => (shuttingDown ? "shutting down" : stores.isUp() ? undefined : "store unreachable"),
  });
  await app.register(socketIo, {
    allowedOrigins: config.allowedOrigins,
    adapter: stores.adapter,
    refusing: () => shuttingDown,
  });
  const chat = attachChat({
    io: app.io,
    presence: stores.presence,
    history: stores.history,
    log: app.log,
    historySize: config.historySize,
    maxMessageLength: config.maxMessageLength,
    rateLimitPerSecond: config.rateLimitPerSecond,
    rateLimitBurst: config.rateLimitBurst,
    subscribed: (room) => stores.subscribed(room),
    storesUp: () => stores.isUp(),
  });
  if (config.adminToken !== "") {
    await app.register(adminRoutes, { token: config.adminToken, io: app.io, presence: stores.presence });
  }
  if (existsSync(config.publicDir)) {
    await app.register(fastifyStatic, { root: config.publicDir, index: "index.html" });
  }

  app.addHook("onReady", async () => {
    await stores.presence.start();
  });
  // Shutdown, before the HTTP server closes: refuse new sockets (and fail /readyz), close ours so
  // that their clients reconnect to another node, let their leave handlers finish, then remove
  // whatever presence this node still has.
  app.addHook("preClose", async () => {
    shuttingDown = true;
    await chat.drain();
    await stores.presence.close();
  });
  return app;
}
