import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * Builds the admin dashboard into dist/public/admin, which the server serves at /admin/ beside the
 * chat page (run it after the page's build, which empties dist/public). As for the page, the CSP
 * allows only same-origin scripts and styles: nothing is inlined, uPlot is bundled, no CDN.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/admin/",
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL("../../dist/public/admin", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
