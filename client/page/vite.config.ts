import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * Builds the chat page into dist/public, which the server serves with @fastify/static.
 * The server's CSP allows only same-origin scripts and styles, so nothing may be inlined:
 * Vite emits the script and the stylesheet as files, and the page adds no inline code.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  // The page needs no public/ folder of static files.
  publicDir: false,
  resolve: {
    // The page imports the SDK by its package name, as its users do; here the name is the SDK's
    // entry point in this repository, so the page is built from the package's own sources.
    alias: { "roomcast-client": fileURLToPath(new URL("../sdk/index.ts", import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL("../../dist/public", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // Modern browsers preload modules themselves; the polyfill would only add code.
    modulePreload: { polyfill: false },
    // Fonts or images must never become inline data the CSP would have to allow.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
