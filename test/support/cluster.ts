import type { DeploymentFactory } from "./deployment.js";
import { startNode } from "./deployment.js";
import { RedisServer, uniquePrefix } from "./redis-server.js";

/**
 * `nodes` in-process chat nodes sharing a redis-server of their own: the cluster deployment the
 * shared protocol suite runs on.
 */
export function redisCluster(nodes: number): DeploymentFactory {
  return async (options = {}) => {
    const redis = await RedisServer.start();
    const prefix = uniquePrefix();
    const started = [];
    for (let index = 0; index < nodes; index += 1) {
      started.push(
        await startNode({ REDIS_URL: redis.url, REDIS_PREFIX: prefix, NODE_ID: `node-${index}`, ...options.env }),
      );
    }
    return {
      urls: started.map((node) => node.url),
      async close() {
        await Promise.all(started.map((node) => node.close()));
        await redis.stop();
      },
    };
  };
}
