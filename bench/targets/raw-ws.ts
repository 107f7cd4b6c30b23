import { ROOT } from "../paths.js";
import { compiledReference } from "./compile.js";
import { startServerNode } from "./server-node.js";
import { stopNodes, type Target } from "./target.js";

/**
 * One `ws` process that broadcasts frames (bench/references/raw-ws-server.ts): the per-frame
 * ceiling of a Node process on this machine. It runs one process whatever the scenario's node
 * count, and has no Redis.
 */
export function rawWs(): Target {
  return {
    name: "raw-ws",
    protocol: "raw-ws",
    usesRedis: false,
    async start(options) {
      const node = await startServerNode({
        name: "raw-ws-0",
        args: [compiledReference("raw-ws-server")],
        cwd: ROOT,
        env: {},
        nodeFlags: options.nodeFlags,
      });
      return { nodes: [node], mode: "one ws process", stop: () => stopNodes([node]) };
    },
  };
}
