/**
 * Redraws the chart and reprints the tables of a results file, without running anything:
 * `npx tsx bench/render.ts bench/results/latest.json` writes bench/results/latest.svg.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { renderChart } from "./chart.js";
import { renderTables } from "./report.js";
import type { BenchResults } from "./results.js";

const paths = process.argv.slice(2);
if (paths.length === 0) {
  process.stderr.write("usage: npx tsx bench/render.ts bench/results/<run>.json ...\n");
  process.exit(2);
}
for (const path of paths) {
  const results = JSON.parse(readFileSync(path, "utf8")) as BenchResults;
  const svg = path.replace(/\.json$/, ".svg");
  writeFileSync(svg, renderChart(results));
  process.stdout.write(`${renderTables(results)}\nwrote ${svg}\n`);
}
