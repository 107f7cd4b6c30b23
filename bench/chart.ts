import type { BenchResults } from "./results.js";
import { ratio } from "./stats.js";

/**
 * An SVG chart of one run, drawn from its results alone (no library): latency percentiles on a log
 * scale, and each target's throughput relative to stock.
 */

const WIDTH = 1000;
const HEIGHT = 440;
const PANEL = { top: 60, bottom: 360, left: 70 };
const PERCENTILE_COLORS = ["#4e79a7", "#f28e2b", "#e15759"];
const TARGET_COLORS: Record<string, string> = { roomcast: "#59a14f", "raw-ws": "#9c755f" };
const FONT = 'font-family="system-ui, sans-serif"';

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const text = (x: number, y: number, content: string, extra = "") =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT}${extra.includes("font-size") ? "" : ' font-size="11"'} ${extra}>${escape(content)}</text>`;

interface LatencyGroup {
  label: string;
  target: string;
  values: Array<number | undefined>;
}

function latencyPanel(groups: LatencyGroup[], x0: number, width: number): string {
  const out: string[] = [
    text(x0, 30, "End-to-end latency (ms, log scale): p50, p99, p99.9", 'font-size="14" font-weight="600"'),
  ];
  const finite = groups
    .flatMap((g) => g.values)
    .filter((v): v is number => v !== undefined && Number.isFinite(v) && v > 0);
  if (finite.length === 0) return out.join("\n");
  const low = 10 ** Math.floor(Math.log10(Math.min(...finite, 1)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...finite) * 1.01));
  const y = (value: number) =>
    PANEL.bottom -
    ((Math.log10(Math.max(value, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) *
      (PANEL.bottom - PANEL.top);
  for (let tick = low; tick <= high * 1.0001; tick *= 10) {
    out.push(`<line x1="${x0}" x2="${x0 + width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>`);
    out.push(text(x0 - 6, y(tick) + 4, String(tick), 'text-anchor="end"'));
  }
  const slot = width / groups.length;
  const bar = Math.min(18, (slot - 10) / 3);
  groups.forEach((group, index) => {
    const left = x0 + index * slot + (slot - bar * 3) / 2;
    group.values.forEach((value, p) => {
      if (value === undefined) return;
      const lost = !Number.isFinite(value);
      const top = lost ? PANEL.top : y(value);
      out.push(
        `<rect x="${(left + p * bar).toFixed(1)}" y="${top.toFixed(1)}" width="${(bar - 1).toFixed(1)}" ` +
          `height="${(PANEL.bottom - top).toFixed(1)}" fill="${PERCENTILE_COLORS[p]}"${lost ? ' fill-opacity="0.35"' : ""}/>`,
      );
      out.push(
        text(
          left + p * bar + bar / 2,
          top - 3,
          lost ? "lost" : value < 10 ? value.toFixed(1) : value.toFixed(0),
          'text-anchor="middle" font-size="9"',
        ),
      );
    });
    const middle = x0 + index * slot + slot / 2;
    out.push(text(middle, PANEL.bottom + 16, group.target, 'text-anchor="middle"'));
    out.push(text(middle, PANEL.bottom + 30, group.label, 'text-anchor="middle" fill="#666"'));
  });
  ["p50", "p99", "p99.9"].forEach((name, p) => {
    out.push(
      `<rect x="${x0 + p * 60}" y="${PANEL.bottom + 45}" width="10" height="10" fill="${PERCENTILE_COLORS[p]}"/>`,
    );
    out.push(text(x0 + p * 60 + 14, PANEL.bottom + 54, name));
  });
  return out.join("\n");
}

interface RatioBar {
  group: string;
  target: string;
  value: number | undefined;
  /** The target for this figure, drawn as a marker. */
  goal?: number;
}

function ratioPanel(bars: RatioBar[], x0: number, width: number): string {
  const out: string[] = [
    text(x0, 30, "Throughput relative to stock Socket.IO (stock = 1)", 'font-size="14" font-weight="600"'),
  ];
  const shown = bars.filter((bar) => bar.value !== undefined);
  if (shown.length === 0) return out.join("\n");
  const high = Math.max(2, ...shown.map((bar) => bar.value!), ...shown.map((bar) => bar.goal ?? 0)) * 1.1;
  const y = (value: number) => PANEL.bottom - (value / high) * (PANEL.bottom - PANEL.top);
  const step = high > 6 ? 2 : high > 3 ? 1 : 0.5;
  for (let tick = 0; tick <= high; tick += step) {
    out.push(`<line x1="${x0}" x2="${x0 + width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>`);
    out.push(text(x0 - 6, y(tick) + 4, tick.toFixed(1), 'text-anchor="end"'));
  }
  out.push(`<line x1="${x0}" x2="${x0 + width}" y1="${y(1)}" y2="${y(1)}" stroke="#333" stroke-dasharray="4 3"/>`);
  const slot = width / shown.length;
  const bar = Math.min(40, slot - 16);
  shown.forEach((item, index) => {
    const left = x0 + index * slot + (slot - bar) / 2;
    const value = item.value!;
    out.push(
      `<rect x="${left.toFixed(1)}" y="${y(value).toFixed(1)}" width="${bar.toFixed(1)}" height="${(PANEL.bottom - y(value)).toFixed(1)}" ` +
        `fill="${TARGET_COLORS[item.target] ?? "#bab0ac"}"/>`,
    );
    out.push(text(left + bar / 2, y(value) - 4, `${value.toFixed(2)}x`, 'text-anchor="middle" font-size="10"'));
    if (item.goal !== undefined) {
      out.push(
        `<line x1="${left - 4}" x2="${left + bar + 4}" y1="${y(item.goal)}" y2="${y(item.goal)}" stroke="#e15759" stroke-width="2"/>`,
      );
    }
    out.push(text(left + bar / 2, PANEL.bottom + 16, item.target, 'text-anchor="middle"'));
  });
  // Each group's name once, under its bars.
  for (const group of new Set(shown.map((item) => item.group))) {
    const indexes = shown.flatMap((item, index) => (item.group === group ? [index] : []));
    const middle = x0 + ((indexes[0]! + indexes.at(-1)! + 1) / 2) * slot;
    out.push(text(middle, PANEL.bottom + 30, group, 'text-anchor="middle" fill="#666"'));
  }
  out.push(
    `<line x1="${x0}" x2="${x0 + 20}" y1="${PANEL.bottom + 50}" y2="${PANEL.bottom + 50}" stroke="#e15759" stroke-width="2"/>`,
  );
  out.push(text(x0 + 26, PANEL.bottom + 54, "issue 6 target for roomcast"));
  return out.join("\n");
}

/** One bar per target but stock: its figure over stock's; the goal marker on roomcast's. */
function ratioBars<T>(
  group: string,
  summary: Record<string, T> | undefined,
  figure: (s: T) => number | undefined,
  goal?: number,
): RatioBar[] {
  if (!summary) return [];
  const stock = summary.stock ? figure(summary.stock) : undefined;
  return Object.entries(summary)
    .filter(([target]) => target !== "stock")
    .map(([target, s]) => ({
      group,
      target,
      value: ratio(figure(s), stock),
      goal: target === "roomcast" ? goal : undefined,
    }));
}

export function renderChart(results: BenchResults): string {
  const { hotRoom, moderateLatency, spreadRooms, saturationKnee } = results.scenarios;
  const latency: LatencyGroup[] = [];
  for (const [label, scenario] of [
    ["hot room", hotRoom],
    ["moderate", moderateLatency],
  ] as const) {
    if (!scenario) continue;
    for (const [target, s] of Object.entries(scenario.summary)) {
      latency.push({ label, target, values: [s.p50Ms, s.p99Ms, s.p999Ms] });
    }
  }
  const bars: RatioBar[] = [
    ...ratioBars("hot room, per CPU-s", hotRoom?.summary, (s) => s.perServerCpuSecond, 1.2),
    ...ratioBars("spread, per CPU-s", spreadRooms?.summary, (s) => s.perServerCpuSecond, 1.5),
    ...ratioBars("knee, deliveries/s", saturationKnee?.summary, (s) => s.kneeDeliveriesPerSecond),
  ];
  const half = (WIDTH - PANEL.left * 2) / 2 - 20;
  const caption = `roomcast bench ${results.date.slice(0, 10)}${results.quick ? " (quick)" : ""}: ${results.machine.cores} cores, ${results.machine.model}, Node ${results.machine.node}; medians of ${results.config.rounds} interleaved rounds`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    latencyPanel(latency, PANEL.left, half),
    ratioPanel(bars, PANEL.left * 2 + half + 20, half - 20),
    text(WIDTH / 2, HEIGHT - 8, caption, 'text-anchor="middle" fill="#666" font-size="10"'),
    "</svg>",
    "",
  ].join("\n");
}
