import { SERIES_STEP_MS, SERIES_WINDOW_MS, type NodeSeries } from "./series.js";

/** The whole cluster's activity per step, for the dashboard's chart; null where no node sampled. */
export interface ClusterSeries {
  stepMs: number;
  /** End of each step, epoch ms, oldest first. */
  t: number[];
  /** Messages appended per second during the step, all nodes together. */
  messagesPerSecond: (number | null)[];
  /** Sockets held at the end of the step, all nodes together. */
  connections: (number | null)[];
}

/** The first step `clusterSeries` covers at `now`: a window's worth of steps ending with the last one sampled. */
export const seriesStart = (now: number): number =>
  Math.floor(now / SERIES_STEP_MS) * SERIES_STEP_MS - SERIES_WINDOW_MS + SERIES_STEP_MS;

/** Adds up every node's samples step by step, over the window that ends at `now`. */
export function clusterSeries(nodes: readonly NodeSeries[], now: number): ClusterSeries {
  const first = seriesStart(now);
  const steps = SERIES_WINDOW_MS / SERIES_STEP_MS;
  const t = Array.from({ length: steps }, (_, index) => first + index * SERIES_STEP_MS);
  const messages: (number | null)[] = t.map(() => null);
  const connections: (number | null)[] = t.map(() => null);
  for (const { samples } of nodes) {
    for (const sample of samples) {
      const index = Math.round((sample.t - first) / SERIES_STEP_MS);
      if (index < 0 || index >= steps) continue;
      messages[index] = (messages[index] ?? 0) + sample.messages;
      connections[index] = (connections[index] ?? 0) + sample.sockets;
    }
  }
  const perSecond = (count: number | null) =>
    count === null ? null : Math.round((count / (SERIES_STEP_MS / 1000)) * 100) / 100;
  return { stepMs: SERIES_STEP_MS, t, messagesPerSecond: messages.map(perSecond), connections };
}
