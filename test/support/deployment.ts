import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { RedisServer, uniquePrefix } from "./redis-server.js";

/** A running chat service under test: one or more nodes. */
export interface Deployment {
  /** Base URL of each node, e.g. http://127.0.0.1:41234. */
  urls: string[];
  /** Stops every node and whatever the deployment started for them. */
  close(): Promise<void>;
}

export interface DeploymentOptions {
  /** Extra environment variables for every node (as the server reads them). */
  env?: Record<string, string>;
}

/** Starts a deployment for one test file; the shared suites run against several of these. */
export type DeploymentFactory = (options?: DeploymentOptions) => Promise<Deployment>;

/** The admin token of test nodes (ADMIN_TOKEN needs 32 characters or more). */
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** Settings every test node gets unless a test overrides them. */
export const TEST_ENV: Record<string, string> = {
  HOST: "127.0.0.1",
  PORT: "0",
  LOG_LEVEL: "silent",
  ADMIN_TOKEN: TEST_ADMIN_TOKEN,
  // Tests send, join and read in bursts, and open many sockets from one address: the limits
  // have tests of their own, which turn each on.
  RATE_LIMIT_PER_SECOND: "0",
  JOINS_PER_MINUTE: "0",
  HISTORY_PER_MINUTE: "0",
  ROOMS_LIST_PER_MINUTE: "0",
  TYPING_PER_SECOND: "0",
  SOCKETS_PER_IP: "0",
  HANDSHAKES_PER_IP_PER_MINUTE: "0",
  ADMIN_FAILURES_PER_MINUTE: "0",
};

/** Starts one in-process node on a free port; `app` lets a test look inside it. */
export async function startApp(env: Record<string, string>): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp(loadConfig({ ...TEST_ENV, ...env }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
}

/** Starts one in-process node on a free port. */
export async function startNode(env: Record<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const { app, url } = await startApp(env);
  return { url, close: () => app.close() };
}

/**
 * Starts `count` in-process nodes sharing one Redis (given by its URL or seed list) under a fresh
 * key prefix; `close` stops the nodes, then calls `after` (to stop that Redis).
 */
export async function startNodes(
  count: number,
  redisUrl: string,
  env: Record<string, string> = {},
  after: () => Promise<void> = async () => {},
): Promise<Deployment> {
  const prefix = uniquePrefix();
  const nodes: { url: string; close(): Promise<void> }[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      nodes.push(await startNode({ REDIS_URL: redisUrl, REDIS_PREFIX: prefix, NODE_ID: `node-${index}`, ...env }));
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.close()));
    await after();
    throw error;
  }
  return {
    urls: nodes.map((node) => node.url),
    async close() {
      await Promise.all(nodes.map((node) => node.close()));
      await after();
    },
  };
}

/** The same deployment with `env` added to every node's settings (a test's own settings win). */
export function withEnv(factory: DeploymentFactory, env: Record<string, string>): DeploymentFactory {
  return (options = {}) => factory({ ...options, env: { ...env, ...options.env } });
}

/** The embedded default: one node, in-memory state. */
export const embedded: DeploymentFactory = async (options = {}) => {
  const node = await startNode({ NODE_ID: "solo", ...options.env });
  return { urls: [node.url], close: () => node.close() };
};

/**
 * `nodes` in-process chat nodes sharing one plain redis-server of their own (not a Redis Cluster):
 * the multi-node deployment the shared protocol suite runs on.
 */
export function nodesOnOneRedis(nodes: number): DeploymentFactory {
  return async (options = {}) => {
    const redis = await RedisServer.start();
    return startNodes(nodes, redis.url, options.env, () => redis.stop());
  };
}
