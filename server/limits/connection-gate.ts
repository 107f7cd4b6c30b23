import type { FastifyBaseLogger } from "fastify";
import { RateLimitedError } from "../errors.js";
import type { Presence } from "../presence/presence.js";
import type { AddressSockets } from "./address-sockets.js";
import type { Limits } from "./limits.js";

/** How long a client refused for a socket cap is told to wait (a place frees when a socket closes). */
const CAP_RETRY_MS = 5000;

/**
 * The per-address and per-user connection limits every kind of client passes (Socket.IO
 * handshakes and the seed bridge's upgrades): one place counts them, and one releases them.
 */
export function connectionGate(limits: Limits, addressSockets: AddressSockets, log: FastifyBaseLogger) {
  const { socketsPerIp, socketsPerUser } = limits.config;
  return {
    /**
     * Counts a handshake and a socket of `address`. Resolves with what `leaveAddress` takes back:
     * the address, or "" when sockets per address are not counted.
     *
     * @throws RateLimitedError over HANDSHAKES_PER_IP_PER_MINUTE or SOCKETS_PER_IP.
     */
    async enterAddress(address: string): Promise<string> {
      await limits.handshakes.take(address);
      if (socketsPerIp === 0) return "";
      if (!(await addressSockets.acquire(address, socketsPerIp))) {
        throw new RateLimitedError(`your address has ${socketsPerIp} connections open already`, CAP_RETRY_MS);
      }
      return address;
    },
    /** A socket counted by `enterAddress` went. */
    async leaveAddress(counted: string): Promise<void> {
      if (counted === "") return;
      await addressSockets
        .release(counted)
        .catch((error: unknown) => log.debug({ err: error }, "could not release an address's connection count"));
    },
    /**
     * Counts `user` online on this node, within SOCKETS_PER_USER cluster-wide.
     *
     * @throws RateLimitedError when the user has that many sockets already (nothing is counted).
     */
    async enterUser(presence: Presence, user: string): Promise<void> {
      if (!(await presence.userConnected(user, socketsPerUser))) {
        throw new RateLimitedError(`"${user}" has ${socketsPerUser} connections open already`, CAP_RETRY_MS);
      }
    },
  };
}
