import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The page imports the SDK by its package name; tests resolve it to the sources, as Vite does.
  resolve: { alias: { "roomcast-client": fileURLToPath(new URL("./client/sdk/index.ts", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: each file may start several servers and Redis processes of its own.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
