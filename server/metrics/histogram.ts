import type { Metric, Registry } from "prom-client";

/**
 * A histogram of durations whose `observe` allocates nothing: a count per bucket in a typed array,
 * a sum and a total. prom-client's own Histogram builds a label object and a hash string on every
 * observation; this one is turned into Prometheus's form only when scraped.
 */
export class DurationHistogram {
  /** Observations per bucket (not cumulative); the last one is above every bound (+Inf). */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  /** @param bounds upper bounds in seconds, ascending. */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const { bounds } = this;
    let bucket = 0;
    while (bucket < bounds.length && seconds > bounds[bucket]!) bucket += 1;
    this.counts[bucket]! += 1;
    this.sum += seconds;
    this.count += 1;
  }

  /** Observations at or below each bound, in bound order (Prometheus's `le` buckets). */
  cumulative(): number[] {
    let total = 0;
    return this.bounds.map((_, bucket) => (total += this.counts[bucket]!));
  }
}

/** Latency buckets of a client request's ack, in seconds: from a millisecond to ten seconds. */
export const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** Latency buckets of one Redis command, in seconds: from 100 µs to a second. */
export const REDIS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

interface HistogramFamily {
  name: string;
  help: string;
  /** The one label that tells the series apart, e.g. `event`. */
  label: string;
  /** Every series now, by label value; read at scrape time (those without observations are left out). */
  series: () => Iterable<readonly [string, DurationHistogram]>;
}

/**
 * Registers a family of `DurationHistogram`s in `registry`, exported the way prom-client exports
 * its own histograms (`_bucket` with `le`, `_sum`, `_count`).
 */
export function registerHistograms(registry: Registry, family: HistogramFamily): void {
  const { name, help, label } = family;
  const collector = {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const [value, histogram] of family.series()) {
        // A series appears with its first observation, as prom-client's own histograms do.
        if (histogram.count === 0) continue;
        const cumulative = histogram.cumulative();
        histogram.bounds.forEach((bound, bucket) => {
          values.push({
            labels: { [label]: value, le: bound },
            value: cumulative[bucket]!,
            metricName: `${name}_bucket`,
          });
        });
        values.push({ labels: { [label]: value, le: "+Inf" }, value: histogram.count, metricName: `${name}_bucket` });
        values.push({ labels: { [label]: value }, value: histogram.sum, metricName: `${name}_sum` });
        values.push({ labels: { [label]: value }, value: histogram.count, metricName: `${name}_count` });
      }
      return { name, help, type: "histogram", aggregator: "sum", values };
    },
    reset() {},
  };
  // The registry takes any object with prom-client's `get()` shape; its types name only its own classes.
  registry.registerMetric(collector as unknown as Metric);
}
