import type { IncomingMessage } from "node:http";
import proxyAddr from "@fastify/proxy-addr";
import type { TrustProxy } from "../config.js";

/**
 * Reads a request's client address the way Fastify's `trustProxy` does for `request.ip`, so that
 * Socket.IO handshakes and HTTP routes count the same client: the peer itself, or, behind trusted
 * proxies, the address they say they forwarded for.
 *
 * @example
 * const addressOf = clientAddress(1); // one router in front (a PaaS)
 * addressOf(req) // the last address the router appended to X-Forwarded-For
 */
export function clientAddress(trust: TrustProxy): (req: IncomingMessage) => string {
  if (trust === false) return (req) => req.socket.remoteAddress ?? "";
  if (typeof trust === "number") {
    // proxyAddr.all lists the peer first, then X-Forwarded-For from the nearest hop outwards.
    return (req) => {
      const addresses = proxyAddr.all(req);
      return addresses[Math.min(trust, addresses.length - 1)] ?? "";
    };
  }
  const trusted = trust === true ? () => true : proxyAddr.compile(trust);
  return (req) => proxyAddr(req, trusted);
}
