import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: each file may start several servers and Redis processes of its own.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
