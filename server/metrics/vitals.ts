import { monitorEventLoopDelay } from "node:perf_hooks";
import type { NodeVitals } from "../presence/presence.js";

/** Timer resolution of the event-loop monitor; every delay it records includes it. */
const RESOLUTION_MS = 20;

/**
 * How this process is doing, for the admin dashboard: heap, memory, event-loop lag, uptime and
 * the messages it appended. Each `read` reports the lag since the previous one.
 */
export class VitalsMonitor {
  private readonly delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  /** @param messages messages appended since the process started. */
  constructor(private readonly messages: () => number) {
    this.delay.enable();
  }

  read(): NodeVitals {
    const lagMs = this.delay.count === 0 ? 0 : Math.max(0, this.delay.percentile(99) / 1e6 - RESOLUTION_MS);
    this.delay.reset();
    const memory = process.memoryUsage();
    return {
      heapUsedBytes: memory.heapUsed,
      rssBytes: memory.rss,
      eventLoopLagMs: Math.round(lagMs * 100) / 100,
      uptimeSeconds: Math.round(process.uptime()),
      messages: this.messages(),
    };
  }

  stop(): void {
    this.delay.disable();
  }
}
