import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ClusterSeries } from "../../server/metrics/cluster-series.js";

const HEIGHT = 260;
/** The shortest span drawn, in steps: a fresh cluster's first samples are not squeezed into one edge. */
const MIN_STEPS = 24;

/** A color of the page's theme (a CSS custom property), for the canvas, which cannot read CSS variables. */
const themeColor = (name: string, fallback: string): string =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

/**
 * The cluster's messages per second (left axis) and connections (right axis) over the window the
 * server sends, drawn by uPlot on a canvas, redrawn with every answer and on resize.
 */
export class ActivityChart {
  private readonly plot: uPlot;

  constructor(container: HTMLElement) {
    const messages = themeColor("--accent", "#4f46e5");
    const connections = themeColor("--green", "#059669");
    const text = themeColor("--muted", "#646c80");
    const grid = themeColor("--border", "#e1e4ec");
    const axis = (scale: string, side: 1 | 3, label: string): uPlot.Axis => ({
      scale,
      side,
      label,
      stroke: text,
      grid: { show: side === 3, stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      values: (_plot, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : tick.toFixed(1))),
    });
    this.plot = new uPlot(
      {
        width: Math.max(container.clientWidth, 300),
        height: HEIGHT,
        cursor: { drag: { x: false, y: false } },
        // The legend names the series; the values are in the cards and under the cursor's line.
        legend: { live: false },
        scales: {
          x: { time: true },
          messages: { range: (_plot, _min, max) => [0, Math.max(1, max)] },
          connections: { range: (_plot, _min, max) => [0, Math.max(1, max)] },
        },
        series: [
          {},
          {
            label: "Messages/s",
            scale: "messages",
            stroke: messages,
            width: 2,
            fill: `${messages}22`,
            spanGaps: false,
          },
          { label: "Connections", scale: "connections", stroke: connections, width: 2, spanGaps: false },
        ],
        axes: [
          { stroke: text, space: 80, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
          axis("messages", 3, "msg/s"),
          axis("connections", 1, "connections"),
        ],
      },
      [[], [], []],
      container,
    );
    new ResizeObserver(() => {
      this.plot.setSize({ width: Math.max(container.clientWidth, 300), height: HEIGHT });
    }).observe(container);
  }

  /**
   * Draws the series an `/admin/stats` answer carries (times in ms; uPlot wants seconds), from the
   * first step any node sampled (at least MIN_STEPS back): a young cluster has no older history.
   */
  show(series: ClusterSeries): void {
    const sampled = series.connections.findIndex((value) => value !== null);
    const from = Math.max(0, Math.min(sampled === -1 ? Infinity : sampled, series.t.length - MIN_STEPS));
    this.plot.setData([
      series.t.slice(from).map((t) => t / 1000),
      series.messagesPerSecond.slice(from),
      series.connections.slice(from),
    ]);
  }
}
