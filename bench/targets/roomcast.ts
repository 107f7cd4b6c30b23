import { existsSync } from "node:fs";
import { join } from "node:path";
import { now, sleep } from "../clock.js";
import { ROOT } from "../paths.js";
import { startServerNode } from "./server-node.js";
import { stopNodes, type Target, type TargetStartOptions } from "./target.js";

/** Whether the roomcast built in `root` can run as a cluster (Redis stores, sharded adapter, Streams history). */
export const roomcastClusterBuilt = (root = ROOT): boolean => existsSync(join(root, "dist/server/stores/redis.js"));

/** Polls /readyz until the node says it should get traffic (stores up). */
async function readyz(url: string): Promise<void> {
  const deadline = now() + 60_000;
  let last = "";
  while (now() < deadline) {
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`/readyz never answered 200 (last: ${last})`);
}

export interface VariantOptions {
  /** Added to the name, e.g. "+cork". */
  suffix?: string;
  /** Modules preloaded into each node (bench/targets/*.mjs levers). */
  preloads?: string[];
  /** roomcast only: run without Redis (one node, in-memory state), for development. */
  embedded?: boolean;
  /** roomcast only: settings of this variant, e.g. METRICS=0 (a scenario's own settings win). */
  env?: Record<string, string>;
  /** roomcast only: the checkout whose build runs (its `dist/server/main.js`); default: this one. */
  root?: string;
}

/**
 * Limits that would refuse the benchmark's own load: the send limit throttles the load generator,
 * and every client connects from 127.0.0.1. Scenario 7 turns the send limit back on (options.env).
 */
const LIMITS_OFF: Record<string, string> = {
  RATE_LIMIT_PER_SECOND: "0",
  SOCKETS_PER_IP: "0",
  HANDSHAKES_PER_IP_PER_MINUTE: "0",
};

/**
 * roomcast as it ships: the built server (`node dist/server/main.js`), one process per node, in
 * cluster mode (REDIS_URL: sharded adapter, dynamic subscriptions, Streams history), with the limits
 * of LIMITS_OFF off. `embedded` runs it without Redis instead.
 */
export function roomcast(variant: VariantOptions = {}): Target {
  const name = `roomcast${variant.suffix ?? ""}`;
  return {
    name,
    protocol: "socket.io",
    usesRedis: !variant.embedded,
    limitsSends: true,
    async start(options: TargetStartOptions) {
      const root = variant.root ?? ROOT;
      const main = join(root, "dist/server/main.js");
      if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
      if (!variant.embedded && !roomcastClusterBuilt(root)) {
        throw new Error(
          `roomcast's cluster mode is not built in ${root} (dist/server/stores/redis.js is missing); bench roomcast-embedded instead`,
        );
      }
      const nodes = await Promise.all(
        Array.from({ length: options.nodes }, (_, index) =>
          startServerNode({
            name: `${name}-${index}`,
            args: [main],
            cwd: root,
            preloads: variant.preloads,
            nodeFlags: options.nodeFlags,
            env: {
              NODE_ID: `bench-${index}`,
              ...LIMITS_OFF,
              LOG_LEVEL: "warn",
              ...variant.env,
              ...options.env,
              ...(variant.embedded ? {} : { REDIS_URL: options.redisUrls[index]!, REDIS_PREFIX: options.redisPrefix }),
            },
            ready: readyz,
          }),
        ),
      );
      return {
        nodes,
        mode: variant.embedded ? "embedded (no Redis), 1 node" : `cluster, ${options.nodes} node(s)`,
        stop: () => stopNodes(nodes),
      };
    },
  };
}
