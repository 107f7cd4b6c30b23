import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Lowest port handed out: above the well-known and most registered service ports. */
const LOWEST_PORT = 10_000;
/** Random ports probed before falling back to one the OS picks. */
const ATTEMPTS = 50;

/**
 * The first port of the kernel's ephemeral range (`ip_local_port_range`), from which it picks both
 * the ports of `listen(0)` and the source ports of outgoing connections; Linux's default if unknown.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Resolves with the port once `port` (0: the OS picks) could be bound on `host` and was released again. */
function probe(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (bound > 0 ? resolve(bound) : reject(new Error("no port assigned"))));
    });
  });
}

/**
 * A TCP port that was free a moment ago, released at once for the caller (a child process) to bind.
 *
 * It is picked at random below the kernel's ephemeral range, where no outgoing connection takes it
 * as its source port in the meantime: a port from `listen(0)` comes from that range, and with many
 * tests connecting in parallel, one of their sockets could take it before the child binds it
 * (EADDRINUSE). Where the range leaves no room below it, the OS picks.
 *
 * @param host the interface to probe; loopback by default, where every local test process listens.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const below = ephemeralLow();
  if (below - LOWEST_PORT >= 1_000) {
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const port = LOWEST_PORT + Math.floor(Math.random() * (below - LOWEST_PORT));
      try {
        return await probe(host, port);
      } catch {
        // Taken: try another.
      }
    }
  }
  return probe(host, 0);
}
