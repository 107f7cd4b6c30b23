import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import Fastify, { LogController, type FastifyInstance } from "fastify";
import type { Config } from "./config.js";
import { clientAddress } from "./limits/client-address.js";
import { Limits } from "./limits/limits.js";
import { PresenceAnnouncer } from "./chat/presence-announcer.js";
import { nodeCapacity } from "./limits/node-capacity.js";
import { securityHeaders } from "./plugins/security-headers.js";
import { chatPlugin } from "./plugins/chat.js";
import { socketIoPlugin } from "./plugins/socket-io.js";
import { seedBridgePlugin } from "./bridge/plugin.js";
import { SEED_PATH_PREFIX } from "./bridge/seed-path.js";
import { activityPlugin } from "./metrics/activity-plugin.js";
import { nodeInstruments } from "./metrics/instruments.js";
import { clientEventCounter } from "./metrics/client-events.js";
import { metricsPlugin } from "./metrics/plugin.js";
import { apiPlugin } from "./api/plugin.js";
import { adminRoutes } from "./routes/admin.js";
import { authModeRoutes } from "./routes/auth-mode.js";
import { healthRoutes } from "./routes/health.js";
import { storesPlugin } from "./stores/plugin.js";
import type { Stores } from "./stores/stores.js";

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
    // While closing, Fastify would answer every route 503 itself: /healthz must stay 200 and
    // /readyz must say why, until the orderly shutdown (the preClose hooks) is done.
    return503OnClosing: false,
  });

  // Set by the first preClose hook, before the chat plugin's drains the sockets.
  let shuttingDown = false;
  app.addHook("preClose", async () => {
    shuttingDown = true;
  });

  const metrics = config.metrics;
  const admin = config.adminToken !== "";
  const instruments = nodeInstruments({ metrics: metrics.enabled, dashboard: admin });
  await app.register(storesPlugin, { config, stores: options.stores, instruments: instruments.stores });
  await app.register(securityHeaders, { trustProxy: config.trustProxy });
  // Client connections on this node, against MAX_CONNECTIONS (HTTP requests are not counted).
  const capacity = nodeCapacity(config.maxConnections, app.log);
  await app.register(healthRoutes, {
    nodeId: config.nodeId,
    notReadyBecause: () =>
      shuttingDown ? "shutting down" : !app.stores.isUp() ? "store unreachable" : capacity.full ? "full" : undefined,
  });
  await app.register(authModeRoutes, { tokenMode: config.auth.tokenKey !== undefined });
  const origins = { allowedOrigins: config.allowedOrigins, publicUrl: config.publicUrl, trustProxy: config.trustProxy };
  await app.register(socketIoPlugin, {
    origins,
    refusing: () => shuttingDown,
    otherUpgradePaths: config.bridge.enabled ? [SEED_PATH_PREFIX] : [],
    fastBroadcast: config.fastBroadcast,
    ...(metrics.enabled ? { directWrites: instruments.tallies } : {}),
    ...(instruments.handshakeRefused ? { onRefused: instruments.handshakeRefused } : {}),
  });
  const limits = new Limits(config.limits, app.stores.rateLimiters, instruments.rateLimited);
  // Joins and leaves go out through one announcer, from Socket.IO and the seed bridge alike.
  const announcer = new PresenceAnnouncer(app.io, {
    batchAbove: config.limits.presenceBatchAbove,
    batchMs: config.limits.presenceBatchMs,
  });
  const addressOf = clientAddress(config.trustProxy);
  if (config.bridge.enabled) {
    // Before the chat plugin: preClose hooks run in order, and the bridge's must close its
    // sockets while the stores the chat plugin closes are still open.
    await app.register(seedBridgePlugin, {
      config,
      origins,
      limits,
      capacity,
      announcer,
      refusing: () => shuttingDown,
    });
  }
  await app.register(chatPlugin, {
    config,
    limits,
    capacity,
    announcer,
    ...(instruments.handshakeRefused ? { onHandshakeRefused: instruments.handshakeRefused } : {}),
    ...(metrics.enabled ? { onClientEvent: clientEventCounter(instruments.tallies.events) } : {}),
  });
  // After the bridge's and the chat's preClose hooks (hooks run in order): their last leaves, and
  // those of the presence this node removes at the end, go out before the adapter closes.
  app.addHook("preClose", async () => announcer.close());
  if (metrics.enabled) {
    await app.register(metricsPlugin, {
      nodeId: config.nodeId,
      tallies: instruments.tallies,
      capacity,
      cluster: config.redisUrls.length > 0,
      // A wrong scrape token counts as a failed admin sign-in: one limit for guessing either.
      ...(metrics.token !== undefined
        ? { guard: { token: metrics.token, failures: limits.adminFailures, addressOf } }
        : {}),
    });
  }
  if (admin) {
    await app.register(adminRoutes, {
      token: config.adminToken,
      io: app.io,
      presence: app.stores.presence,
      series: app.stores.series,
      failures: limits.adminFailures,
      addressOf,
    });
  }
  if (instruments.vitals) {
    await app.register(activityPlugin, { tallies: instruments.tallies, vitals: instruments.vitals });
  }
  // The HTTP API for backends (/api/v1, its OpenAPI document and docs).
  await app.register(apiPlugin, { config, limits });
  if (existsSync(config.publicDir)) {
    await app.register(fastifyStatic, { root: config.publicDir, index: "index.html" });
    // The admin dashboard is a page of its own (client/admin), built into the page's folder; its
    // JSON endpoints need the token, the page does not.
    if (existsSync(join(config.publicDir, "admin", "index.html"))) {
      app.get("/admin", async (_request, reply) => reply.redirect("/admin/"));
    }
  }
  return app;
}
