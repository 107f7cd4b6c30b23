import { createConnection } from "node:net";
import { now, sleep } from "./clock.js";

/** Every process of the benchmark listens and connects on loopback only. */
export const HOST = "127.0.0.1";

/** How long one probe waits: a SYN dropped by a full accept queue would otherwise hang it for minutes. */
const PROBE_TIMEOUT_MS = 1000;

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, PROBE_TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/**
 * Waits until something accepts TCP connections on `port`, polling every 50 ms.
 *
 * @param alive checked between polls: a process that died is not waited for.
 */
export async function waitForPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    if (await connects(port)) return;
    if (!alive()) throw new Error(`the process meant to listen on port ${port} exited`);
    await sleep(50);
  }
  throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
}
