/**
 * Summarises V8 CPU profiles written by `npm run bench -- --profile DIR`: where a server's CPU went,
 * by package and by function (self time). For finding server-side levers, not part of a run.
 *
 * Usage: npx tsx bench/profile-summary.ts DIR/CPU.*.cpuprofile [--top N] [--from S] [--to S]
 * (--from and --to: seconds since the process started, to leave start-up and connecting out).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The package or area a script belongs to: `socket.io`, `node:net`, `roomcast`, `(gc)`… */
function areaOf(url: string, functionName: string): string {
  if (url === "") return `(${functionName.replace(/[()]/g, "") || "native"})`;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  if (url.startsWith("node:"))
    return url
      .replace(/^node:internal\//, "node:")
      .split("/")
      .slice(0, 2)
      .join("/");
  // The counting for Prometheus, apart: what METRICS=0 would save (prom-client shows as its own package).
  if (url.includes("/server/metrics/")) return "roomcast metrics";
  if (url.includes("/dist/server/") || url.includes("/server/")) return "roomcast";
  if (url.includes("/bench/")) return "bench reference";
  return url;
}

/** Samples per node id taken between `from` and `to` seconds after the profile started. */
function hitsBetween(profile: Profile, from: number, to: number): Map<number, number> {
  const hits = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    const seconds = at / 1e6;
    if (seconds >= from && seconds < to) hits.set(id, (hits.get(id) ?? 0) + 1);
  });
  return hits;
}

function summarise(path: string, top: number, from: number, to: number): string {
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile;
  const hitsOf = hitsBetween(profile, from, to);
  const totalHits = [...hitsOf.values()].reduce((sum, hits) => sum + hits, 0);
  const idle = profile.nodes
    .filter((node) => node.callFrame.functionName === "(idle)")
    .reduce((sum, node) => sum + (hitsOf.get(node.id) ?? 0), 0);
  const busy = totalHits - idle;
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = hitsOf.get(node.id) ?? 0;
    if (hits === 0 || node.callFrame.functionName === "(idle)") continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
    const key = `${functionName || "(anonymous)"}  ${area}${url ? `:${lineNumber + 1}` : ""}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  }
  const rows = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => `  ${((hits / busy) * 100).toFixed(1).padStart(5)} %  ${name}`)
      .join("\n");
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  return [
    `${path}: ${seconds.toFixed(1)} s profiled, ${from}-${Math.min(to, seconds).toFixed(1)} s summarised, ` +
      `busy ${((busy / totalHits) * 100).toFixed(0)} % of those samples`,
    "self time by area:",
    rows(byArea),
    "self time by function:",
    rows(byFunction),
    "",
  ].join("\n");
}

const { values, positionals } = parseArgs({
  options: {
    top: { type: "string", default: "25" },
    from: { type: "string", default: "0" },
    to: { type: "string", default: "1e9" },
  },
  allowPositionals: true,
});
for (const path of positionals)
  process.stdout.write(summarise(path, Number(values.top), Number(values.from), Number(values.to)));
