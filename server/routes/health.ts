import type { FastifyInstance } from "fastify";

export interface HealthOptions {
  nodeId: string;
  /** Why the node should get no traffic now, or undefined when it is ready. */
  notReadyBecause: () => string | undefined;
}

/** `/healthz`: the process answers. `/readyz`: it should get traffic (stores up, not stopping). */
export async function healthRoutes(app: FastifyInstance, options: HealthOptions): Promise<void> {
  app.get("/healthz", async () => ({ ok: true, node: options.nodeId }));
  app.get("/readyz", async (_request, reply) => {
    const reason = options.notReadyBecause();
    if (reason !== undefined) return reply.code(503).send({ ready: false, node: options.nodeId, reason });
    return { ready: true, node: options.nodeId };
  });
}
