import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { NodeCapacity } from "../limits/node-capacity.js";
import type { BearerOptions } from "../routes/bearer.js";
import { metricsRoutes } from "../routes/metrics.js";
import { countFramesDelivered } from "./frames.js";
import { metricsRegistry } from "./registry.js";
import type { Tallies } from "./tallies.js";

export interface MetricsPluginOptions {
  nodeId: string;
  tallies: Tallies;
  /** The node's cap on client connections, and what it counts. */
  capacity: NodeCapacity;
  /** Cluster mode: the Redis families are exported too. */
  cluster: boolean;
  /** METRICS_TOKEN's guard; none: `/metrics` is open. */
  guard?: BearerOptions;
}

/**
 * Counts the frames written to clients on `app.io` (the chat counts client events), and serves `GET /metrics`
 * with every roomcast family and Node's default metrics.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance, options: MetricsPluginOptions) => {
    const { tallies } = options;
    countFramesDelivered(app.io, tallies);
    const { scrape } = metricsRegistry({
      nodeId: options.nodeId,
      tallies,
      counts: () => app.stores.presence.localCounts(),
      capacity: options.capacity,
      ...(options.cluster ? { redisUp: () => app.stores.isUp() } : {}),
    });
    await app.register(metricsRoutes, { scrape, ...(options.guard ? { guard: options.guard } : {}) });
  },
  { name: "roomcast-metrics", dependencies: ["roomcast-stores", "roomcast-socket-io"] },
);
