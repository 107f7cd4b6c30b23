import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

// The page loads only its own script and style, and talks only to its own origin.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws: wss:",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  // No string may become HTML or script through a DOM sink: the page renders text only.
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

/** Strict security headers on every HTTP response. */
export const securityHeaders = fp(async (app: FastifyInstance) => {
  app.addHook("onSend", async (_request, reply) => {
    reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("x-frame-options", "DENY");
  });
});
