import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import proxyAddr from "@fastify/proxy-addr";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { TrustProxy } from "../config.js";

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

/**
 * Browsers keep to HTTPS for 180 days after seeing this. Without includeSubDomains: other hosts
 * under the same domain are not this deployment's to decide.
 */
const STRICT_TRANSPORT_SECURITY = "max-age=15552000";

export interface SecurityHeadersOptions {
  /**
   * Which peers are proxies whose `X-Forwarded-Proto` is believed (TRUST_PROXY), as for client
   * addresses in `limits/client-address.ts`. @default false: only TLS to this server counts
   */
  trustProxy?: TrustProxy;
}

/** Whether the peer that sent a request is a proxy we trust (the nearest hop, index 0). */
function trustedPeer(trust: TrustProxy): (address: string) => boolean {
  if (trust === false) return () => false;
  if (trust === true) return () => true;
  // A hop count trusts that many hops from this server outwards: the peer is the first.
  if (typeof trust === "number") return () => trust > 0;
  const trusted = proxyAddr.compile(trust);
  return (address) => trusted(address, 0);
}

/**
 * Whether the client reached us over HTTPS: TLS to this server, or a trusted proxy saying so in
 * `X-Forwarded-Proto` (its last entry, which the nearest proxy wrote, as Fastify reads it).
 */
export function overHttps(trust: TrustProxy): (req: IncomingMessage) => boolean {
  const trusted = trustedPeer(trust);
  return (req) => {
    if ((req.socket as Partial<TLSSocket>).encrypted === true) return true;
    const forwarded = req.headers["x-forwarded-proto"];
    if (forwarded === undefined || !trusted(req.socket.remoteAddress ?? "")) return false;
    const last = (Array.isArray(forwarded) ? forwarded.join(",") : forwarded).split(",").pop() ?? "";
    return last.trim().toLowerCase() === "https";
  };
}

/**
 * Strict security headers on every HTTP response, and HSTS on those the client received over
 * HTTPS (never over plain HTTP, where a network attacker could forge or strip it anyway).
 */
export const securityHeaders = fp(async (app: FastifyInstance, options: SecurityHeadersOptions) => {
  const https = overHttps(options.trustProxy ?? false);
  app.addHook("onSend", async (request, reply) => {
    reply.header("content-security-policy", CONTENT_SECURITY_POLICY);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("x-frame-options", "DENY");
    if (https(request.raw)) reply.header("strict-transport-security", STRICT_TRANSPORT_SECURITY);
  });
});
