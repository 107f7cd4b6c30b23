/**
 * A log-linear latency histogram in the manner of HdrHistogram: exact below 128 µs, then 64
 * sub-buckets per power of two, so every recorded value is kept within 1/64 (1.6 %) of itself, from
 * 1 µs to over 30 minutes, in about 1,700 counters. Histograms of several processes merge by adding
 * their counters.
 */
const SUB_BUCKET_BITS = 6;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 64
const LINEAR_LIMIT = 2 * SUB_BUCKETS; // values below 128 µs have a counter each
const MAX_MICROS = 2 ** 31 - 1;
const SIZE = indexOf(MAX_MICROS) + 1;

function indexOf(micros: number): number {
  const value = Math.min(MAX_MICROS, Math.max(0, Math.floor(micros)));
  if (value < LINEAR_LIMIT) return value;
  const shift = 31 - Math.clz32(value) - SUB_BUCKET_BITS; // >= 1
  const sub = value >>> shift; // 64..127
  return LINEAR_LIMIT + (shift - 1) * SUB_BUCKETS + (sub - SUB_BUCKETS);
}

/** The middle of the range of values a counter holds, in µs. */
function valueOf(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const offset = index - LINEAR_LIMIT;
  const shift = Math.floor(offset / SUB_BUCKETS) + 1;
  const sub = SUB_BUCKETS + (offset % SUB_BUCKETS);
  return (sub << shift) + ((1 << shift) - 1) / 2;
}

/** The counters as they travel between processes. */
export interface HistogramData {
  counts: number[];
  /** Values that never arrived (counted above every recorded value). */
  missing: number;
}

export class Histogram {
  private readonly counts: number[];
  private missing = 0;
  private total = 0;

  constructor(data?: HistogramData) {
    this.counts = data ? [...data.counts] : new Array<number>(SIZE).fill(0);
    if (data) {
      this.missing = data.missing;
      this.total = data.counts.reduce((sum, count) => sum + count, 0) + data.missing;
    }
  }

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    const index = indexOf(ms * 1000);
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total++;
  }

  /** Records deliveries that did not arrive at all: they rank above every recorded latency. */
  recordMissing(count: number): void {
    this.missing += count;
    this.total += count;
  }

  /** Adds another histogram's counters to this one. */
  add(other: HistogramData): void {
    other.counts.forEach((count, index) => {
      this.counts[index] = (this.counts[index] ?? 0) + count;
    });
    this.missing += other.missing;
    this.total += other.counts.reduce((sum, count) => sum + count, 0) + other.missing;
  }

  get count(): number {
    return this.total;
  }

  /**
   * The latency in ms below which a fraction `q` (0..1) of the values lie; Infinity when that rank
   * falls among missing deliveries, undefined when nothing was recorded.
   */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) return valueOf(index) / 1000;
    }
    return Infinity;
  }

  toJSON(): HistogramData {
    return { counts: this.counts, missing: this.missing };
  }
}
