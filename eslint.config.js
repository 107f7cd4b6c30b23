// @ts-check
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/**
 * Lint: typescript-eslint's recommended rules, plus the type-aware rules that catch promises
 * nobody awaits or handles (in a server, a lost rejection is a crash or a silent failure).
 */
export default tseslint.config(
  {
    ignores: ["**/dist/", "node_modules/", "coverage/", "reports/", ".stryker-tmp/", "bench/results/", "bench/.build/"],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json nearest to it; config files outside every
        // project get a default one.
        projectService: {
          allowDefaultProject: [
            "*.js",
            "*.mjs",
            "vitest.config.ts",
            "vitest.mutation.config.ts",
            "client/page/vite.config.ts",
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
);
