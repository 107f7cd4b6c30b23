import type { FastifyInstance } from "fastify";
import { bearerGuard, type BearerOptions } from "./bearer.js";

export interface MetricsRoutesOptions {
  /** The text exposition of every metric, made when scraped. */
  scrape: () => Promise<string>;
  /** METRICS_TOKEN's guard, with the admin sign-ins' failure limit; none: the endpoint is open. */
  guard?: BearerOptions;
}

/** Prometheus's text format, version 0.0.4. */
const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** `GET /metrics` for Prometheus, open or behind `Authorization: Bearer <METRICS_TOKEN>`. */
export async function metricsRoutes(app: FastifyInstance, options: MetricsRoutesOptions): Promise<void> {
  if (options.guard) app.addHook("onRequest", bearerGuard(options.guard));
  app.get("/metrics", async (_request, reply) => reply.type(CONTENT_TYPE).send(await options.scrape()));
}
