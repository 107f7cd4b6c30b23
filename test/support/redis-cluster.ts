import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { eventually } from "./clients.js";
import { startNodes, type DeploymentFactory } from "./deployment.js";
import { RedisServer } from "./redis-server.js";

const run = promisify(execFile);

/** A Redis Cluster of `masters` redis-server processes (no replicas), made with redis-cli. */
export async function startRedisCluster(masters = 3): Promise<{ urls: string[]; stop(): Promise<void> }> {
  const servers: RedisServer[] = [];
  for (let index = 0; index < masters; index += 1) {
    servers.push(await RedisServer.start(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"]));
  }
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    await run("redis-cli", [
      "--cluster", "create", ...servers.map((server) => `127.0.0.1:${server.port}`), "--cluster-replicas", "0", "--cluster-yes",
    ]);
    await eventually(async () => {
      for (const server of servers) {
        const { stdout } = await run("redis-cli", ["-p", String(server.port), "cluster", "info"]);
        if (!stdout.includes("cluster_state:ok")) throw new Error(`node ${server.port}: cluster not ok yet`);
      }
    }, "the Redis Cluster to be ok", 20_000, 100);
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls: servers.map((server) => server.url), stop };
}

/** `nodes` in-process chat nodes on a 3-master Redis Cluster, given as a list of seed URLs. */
export function onRedisCluster(nodes: number): DeploymentFactory {
  return async (options = {}) => {
    const cluster = await startRedisCluster(3);
    return startNodes(nodes, cluster.urls.join(","), options.env, () => cluster.stop());
  };
}
