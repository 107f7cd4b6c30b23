import type { FastifyInstance } from "fastify";
import type { ApiDeps } from "./deps.js";
import { responses, success } from "./schemas.js";

/** The cluster's live nodes. */
export function nodeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    "/nodes",
    {
      config: { scope: "read" },
      schema: {
        operationId: "listNodes",
        tags: ["cluster"],
        summary: "List the live nodes",
        description: "Every live node with its socket and user counts. Scope: read.",
        response: responses({
          200: success("The live nodes.", { nodes: { type: "array", items: { $ref: "NodeSummary#" } } }),
        }),
      },
    },
    async () => ({ ok: true, nodes: await deps.presence.listNodes() }),
  );
}
