import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { Bystanders } from "./bystanders.js";
import { closeAllClients } from "./clients.js";
import { startProcessCluster, type ProcessCluster } from "./processes.js";

/** How much a node's resident memory may grow during one attack. */
export const MAX_GROWTH_BYTES = 300 * 1024 * 1024;
/** The slowest ack a bystander may see during an attack. */
export const MAX_BYSTANDER_MS = 1000;

/** Two node processes on one Redis with `env`, and what each attack checks afterwards. */
export function underAttack(env: Record<string, string>) {
  let cluster: ProcessCluster;
  let rssBefore: number[] = [];
  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2, env });
  });
  afterAll(() => cluster.close());
  afterEach(() => closeAllClients());
  return {
    get urls() {
      return cluster.urls;
    },
    get nodes() {
      return cluster.nodes;
    },
    get redisUrl() {
      return cluster.redisUrl;
    },
    /** Notes each node's memory before an attack. */
    async before(): Promise<Bystanders> {
      rssBefore = await Promise.all(cluster.nodes.map((node) => node.rssBytes()));
      return Bystanders.start(cluster.urls);
    },
    /** Both nodes are up, answer /readyz, and grew less than MAX_GROWTH_BYTES. */
    async survived(): Promise<void> {
      for (const [index, node] of cluster.nodes.entries()) {
        expect(node.running, `node ${index} is running`).toBe(true);
        expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
        expect((await node.rssBytes()) - rssBefore[index]!).toBeLessThan(MAX_GROWTH_BYTES);
      }
    },
  };
}
