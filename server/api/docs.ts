import fastifySwaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

/** Where the interactive docs are served. */
export const DOCS_PATH = "/api/docs";

/**
 * The docs page's policy. The chat page's (server/plugins/security-headers.ts) would stop Swagger
 * UI: it renders descriptions through innerHTML (no Trusted Types) and sets inline styles. Scripts,
 * styles and fonts still come only from this origin (the package's own files, no CDN), and the page
 * talks only to its own origin (the document, and the "Try it out" calls).
 */
const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Swagger UI at /api/docs, from @fastify/swagger-ui's own files, on the OpenAPI document of the
 * instance it is registered in (which must have @fastify/swagger). Its routes get the relaxed
 * policy above: this `onSend` hook runs after the server-wide one, and replaces its header.
 */
export async function apiDocs(app: FastifyInstance): Promise<void> {
  app.addHook("onSend", async (_request, reply) => {
    reply.header("content-security-policy", DOCS_CONTENT_SECURITY_POLICY);
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    // No request to swagger.io's validator: the page talks to this origin only.
    validatorUrl: false,
    uiConfig: { deepLinking: true, tryItOutEnabled: false },
  });
}
