import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, vi } from "vitest";
import { startNodes, type DeploymentFactory } from "./deployment.js";
import { freePort, RedisServer } from "./redis-server.js";

const run = promisify(execFile);

/** The configuration of each master. */
const CLUSTER_NODE_ARGS = [
  "--cluster-enabled",
  "yes",
  "--cluster-config-file",
  "nodes.conf",
  "--cluster-node-timeout",
  "5000",
];
/** How long the masters may take to agree on the slots once redis-cli has assigned them. */
const CLUSTER_OK_DEADLINE_MS = 20_000;

/** A Redis Cluster of `masters` redis-server processes (no replicas), made with redis-cli. */
export async function startRedisCluster(masters = 3): Promise<{ urls: string[]; stop(): Promise<void> }> {
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (let index = 0; index < masters; index += 1) {
      // The cluster bus gets a free port of its own: by default Redis takes the port + 10,000,
      // which nobody checked was free (and which does not exist above 55,535).
      servers.push(await RedisServer.start([...CLUSTER_NODE_ARGS, "--cluster-port", String(await freePort())]));
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...servers.map((server) => `127.0.0.1:${server.port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    // No event says when every master sees the whole cluster: ask each one until all say ok.
    const states = () =>
      Promise.all(
        servers.map(async (server) => {
          const { stdout } = await run("redis-cli", ["-p", String(server.port), "cluster", "info"]);
          return /cluster_state:(\w+)/.exec(stdout)?.[1];
        }),
      );
    // vi.waitFor rather than expect.poll: this runs in hooks too, outside any test.
    await vi.waitFor(async () => expect(await states(), "the state of each master").toEqual(servers.map(() => "ok")), {
      timeout: CLUSTER_OK_DEADLINE_MS,
      interval: 100,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls: servers.map((server) => server.url), stop };
}

/**
 * `nodes` in-process chat nodes on a 3-master Redis Cluster of their own, given to them as a list of
 * seed URLs: the Redis Cluster deployment the shared protocol suite runs on.
 */
export function nodesOnRedisCluster(nodes: number): DeploymentFactory {
  return async (options = {}) => {
    const cluster = await startRedisCluster(3);
    return startNodes(nodes, cluster.urls.join(","), options.env, () => cluster.stop());
  };
}
