import type { IncomingMessage } from "node:http";
import type { TrustProxy } from "./config.js";

export interface OriginPolicyOptions {
  /** Exact origins, or `*`; empty means `publicUrl`, or without it the server's own origin. */
  allowedOrigins: readonly string[];
  /** The deployment's public origin (PUBLIC_URL). */
  publicUrl?: string;
  /** Whether a proxy's `X-Forwarded-Proto` tells the scheme the client used. */
  trustProxy: TrustProxy;
}

/** An origin in canonical form (`scheme://host[:port]`, default ports left out), or undefined. */
function canonical(origin: string): string | undefined {
  try {
    const parsed = new URL(origin);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The origin the request was made to: its Host, with the scheme the client used. */
function ownOrigin(req: IncomingMessage, trustProxy: TrustProxy): string | undefined {
  const host = req.headers.host;
  if (host === undefined) return undefined;
  const forwarded = trustProxy === false ? undefined : req.headers["x-forwarded-proto"];
  const proto = typeof forwarded === "string" ? forwarded.split(",")[0]!.trim() : undefined;
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  return canonical(`${proto ?? (encrypted ? "https" : "http")}://${host}`);
}

/**
 * Decides whether a handshake or upgrade may proceed, by its Origin header, comparing scheme,
 * host and port. Browsers always send Origin on WebSocket and cross-site requests, so this is
 * what stops cross-site WebSocket hijacking; `cors` alone does not. Requests without Origin
 * (bots, backends) are allowed.
 *
 * Without ALLOWED_ORIGINS and PUBLIC_URL the server's own origin is read from the Host header,
 * which a DNS-rebinding page controls: production deployments set one of the two.
 */
export function originPolicy(options: OriginPolicyOptions): (req: IncomingMessage) => boolean {
  const anyOrigin = options.allowedOrigins.includes("*");
  const listed = new Set(options.allowedOrigins.map((origin) => canonical(origin) ?? origin));
  if (listed.size === 0 && options.publicUrl !== undefined) listed.add(options.publicUrl);
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined || anyOrigin) return true;
    const given = canonical(origin);
    if (given === undefined) return false;
    if (listed.size > 0) return listed.has(given);
    return given === ownOrigin(req, options.trustProxy);
  };
}
