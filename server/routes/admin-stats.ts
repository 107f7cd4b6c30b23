import type { ClusterSeries } from "../metrics/cluster-series.js";
import type { BusiestRooms } from "../presence/busiest-rooms.js";
import type { NodeSummary } from "../presence/presence.js";

/**
 * The answer of `GET /admin/stats`, which the admin dashboard (client/admin) draws: the whole
 * cluster, whichever node answers.
 */
export interface AdminStats {
  ok: true;
  /** When the node answered, epoch ms. */
  now: number;
  /** Every live node, with its vitals when it reports them. */
  nodes: NodeSummary[];
  rooms: BusiestRooms;
  /** Messages per second and connections, step by step over the last ten minutes. */
  series: ClusterSeries;
}
