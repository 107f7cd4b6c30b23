/**
 * The nodes under test: two node processes on one Redis with every limit off, and what the
 * campaign asks of them afterwards (memory, health, the registry's socket count, their logs).
 */
import { TEST_ADMIN_TOKEN } from "../support/deployment.js";
import { startProcessCluster, type NodeProcess, type ProcessCluster } from "../support/processes.js";
import { bump, type Counts } from "./tally.js";

/**
 * Settings for the fuzzed nodes: every per-address and per-user limit off, since the fuzzer
 * opens thousands of connections from one loopback address as a few users, and `rate_limited`
 * would hide the handlers behind it.
 */
export const FUZZ_ENV: Record<string, string> = {
  SOCKETS_PER_IP: "0",
  HANDSHAKES_PER_IP_PER_MINUTE: "0",
  SOCKETS_PER_USER: "0",
  RATE_LIMIT_PER_SECOND: "0",
  JOINS_PER_MINUTE: "0",
  HISTORY_PER_MINUTE: "0",
  ROOMS_LIST_PER_MINUTE: "0",
  TYPING_PER_SECOND: "0",
};

/** Starts Redis and two node processes from dist/ (`npm run build` first) with the fuzz settings. */
export function startFuzzCluster(nodes = 2): Promise<ProcessCluster> {
  return startProcessCluster({ nodes, env: FUZZ_ENV });
}

/** A node's resident set in KiB; undefined once the process is gone. */
export const rssKiB = (node: NodeProcess): Promise<number | undefined> =>
  node.rssBytes().then(
    (bytes) => Math.round(bytes / 1024),
    () => undefined,
  );

async function answers200(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(10_000) })).status === 200;
  } catch {
    return false;
  }
}

/** Every node answers /healthz and /readyz with 200. */
export async function everyNodeHealthy(urls: readonly string[]): Promise<boolean> {
  const health = await Promise.all(urls.flatMap((url) => [answers200(`${url}/healthz`), answers200(`${url}/readyz`)]));
  return health.every(Boolean);
}

/** Sockets the cluster's registry counts on every node (GET /admin/nodes). */
async function registeredSockets(url: string): Promise<number> {
  const response = await fetch(`${url}/admin/nodes`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  const body = (await response.json()) as { nodes: { sockets: number }[] };
  return body.nodes.reduce((sum, node) => sum + node.sockets, 0);
}

/** Waits until the registry counts `expected` sockets; resolves with the last count (-1: no answer). */
export async function settledSockets(url: string, expected: number): Promise<number> {
  const count = () => registeredSockets(url).catch(() => -1);
  let sockets = await count();
  // Polled: the registry announces nothing. A session we failed to close would end at its ping
  // timeout (45 s).
  const deadline = Date.now() + 50_000;
  while (sockets > expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    sockets = await count();
  }
  return sockets;
}

/** Each node's warnings and errors, counted by level, message, event, reason and error message. */
export function warningsAndErrors(nodes: readonly NodeProcess[]): Counts {
  const counts: Counts = {};
  for (const line of nodes.flatMap((node) => node.logs)) {
    if (typeof line.level !== "number" || line.level < 40) continue;
    const { msg, event, reason, err } = line as Record<string, unknown> & { err?: { message?: unknown } };
    const level = line.level >= 50 ? "error" : "warn";
    bump(counts, [level, msg, event, reason, err?.message].filter((part) => part !== undefined).join(": "));
  }
  return counts;
}
