// @ts-check
/**
 * Mutation testing of the chat handlers and the in-memory stores: `npm run mutation`.
 * Not part of CI (it takes a while); the score goes into the notes of the issue that asks for it.
 *
 * @type {import("@stryker-mutator/api/core").PartialStrykerOptions}
 */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  mutate: ["server/chat/**/*.ts", "server/history/memory.ts", "server/presence/memory.ts"],
  coverageAnalysis: "perTest",
  // Mutants of module-level constants re-run every test; the tests that cover them run anyway.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 30_000,
  reporters: ["clear-text", "progress", "html"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
