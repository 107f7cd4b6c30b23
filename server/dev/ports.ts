import { createServer } from "node:net";

/**
 * A TCP port that was free a moment ago: the OS picks it, and it is released at once for the caller
 * (a child process) to bind.
 *
 * @param host the interface to probe; loopback by default, where every local test process listens.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}
