import { defineConfig } from "vitest/config";

/**
 * The tests Stryker runs against each mutant: the unit tests, the store contracts, the protocol
 * suite on the embedded node (open and token mode) and the identity tests; no browser.
 */
export default defineConfig({
  test: {
    include: [
      "test/protocol.embedded.test.ts",
      "test/protocol.tokens-embedded.test.ts",
      // identity-claims is left out: its restart case runs the built server from dist/.
      "test/identity-tokens.test.ts",
      "test/identity-token-expiry.test.ts",
      "test/identity-names.test.ts",
      "test/identity-held-dms.test.ts",
      "test/stores/*.test.ts",
      "test/unit/**/*.test.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
