import { ROOT } from "../paths.js";
import { compiledReference } from "./compile.js";
import type { VariantOptions } from "./roomcast.js";
import { startServerNode } from "./server-node.js";
import { stopNodes, type Target, type TargetStartOptions } from "./target.js";

/** Plain Socket.IO with the classic Redis adapter: bench/references/stock-server.ts, one process per node. */
export function stock(variant: VariantOptions = {}): Target {
  const name = `stock${variant.suffix ?? ""}`;
  return {
    name,
    protocol: "socket.io",
    usesRedis: true,
    async start(options: TargetStartOptions) {
      const nodes = await Promise.all(
        Array.from({ length: options.nodes }, (_, index) =>
          startServerNode({
            name: `${name}-${index}`,
            args: [compiledReference("stock-server")],
            cwd: ROOT,
            preloads: variant.preloads,
            nodeFlags: options.nodeFlags,
            env: { REDIS_URL: options.redisUrls[index]!, REDIS_PREFIX: options.redisPrefix, NODE_ID: `bench-${index}` },
          }),
        ),
      );
      return { nodes, mode: `classic Redis adapter, ${options.nodes} node(s)`, stop: () => stopNodes(nodes) };
    },
  };
}
