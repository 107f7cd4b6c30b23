import type { IncomingMessage } from "node:http";

/**
 * Decides whether a handshake or upgrade may proceed, by its Origin header. Browsers always send
 * Origin on WebSocket and cross-site requests, so this is what stops cross-site WebSocket
 * hijacking; `cors` alone does not. Requests without Origin (bots, backends) are allowed.
 *
 * @param allowed exact origins, or `*`; empty means the server's own origin (its Host header).
 */
export function originPolicy(allowed: readonly string[]): (req: IncomingMessage) => boolean {
  const anyOrigin = allowed.includes("*");
  const origins = new Set(allowed);
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined || anyOrigin) return true;
    if (origins.size > 0) return origins.has(origin);
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };
}
