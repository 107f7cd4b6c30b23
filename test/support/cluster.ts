import { startNodes, type DeploymentFactory } from "./deployment.js";
import { RedisServer } from "./redis-server.js";

/**
 * `nodes` in-process chat nodes sharing a redis-server of their own: the cluster deployment the
 * shared protocol suite runs on.
 */
export function redisCluster(nodes: number): DeploymentFactory {
  return async (options = {}) => {
    const redis = await RedisServer.start();
    return startNodes(nodes, redis.url, options.env, () => redis.stop());
  };
}
