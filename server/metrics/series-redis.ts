import type { RedisConnection } from "../redis/connection.js";
import { script } from "../redis/connection.js";
import {
  decodeSample,
  encodeSample,
  SERIES_STEP_MS,
  SERIES_WINDOW_MS,
  type NodeSeries,
  type SeriesSample,
  type SeriesStore,
} from "./series.js";

/** Samples kept per node: the window, plus one. */
const KEPT = SERIES_WINDOW_MS / SERIES_STEP_MS + 1;

/** KEYS: the node's series. ARGV: sample, samples kept, ms to live. Appends and trims. */
const SERIES_APPEND = script(`
local series = KEYS[1]
local sample, kept, ttlMs = ARGV[1], tonumber(ARGV[2]), ARGV[3]
redis.call('RPUSH', series, sample)
redis.call('LTRIM', series, -kept, -1)
redis.call('PEXPIRE', series, ttlMs)
return 1`);

/**
 * The keys of the series: a list of samples per node, which expires a window after its last
 * sample, and a sorted set node → time of its last sample, to find them (dead nodes' too).
 */
function seriesKeys(prefix: string) {
  return {
    series: (node: string) => `${prefix}:{n:${node}}:series`,
    index: () => `${prefix}:series-nodes`,
  };
}

/** Every node's samples in Redis, for a dashboard opened on any node. */
export class RedisSeries implements SeriesStore {
  private readonly keys: ReturnType<typeof seriesKeys>;

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
    private readonly nodeId: string,
  ) {
    this.keys = seriesKeys(prefix);
  }

  async record(sample: SeriesSample): Promise<void> {
    const { redis, keys, nodeId } = this;
    await redis.run(
      SERIES_APPEND,
      [keys.series(nodeId)],
      [encodeSample(sample), String(KEPT), String(SERIES_WINDOW_MS)],
    );
    const index = keys.index();
    await redis.command(index, ["ZADD", index, String(sample.t), nodeId]);
    // Nodes silent for a whole window have no samples left to read.
    await redis.command(index, ["ZREMRANGEBYSCORE", index, "-inf", `(${sample.t - SERIES_WINDOW_MS}`]);
    // A cluster that stops leaves no index behind: every key roomcast writes lapses.
    await redis.command(index, ["PEXPIRE", index, String(SERIES_WINDOW_MS)]);
  }

  async read(sinceMs: number): Promise<NodeSeries[]> {
    const { redis, keys } = this;
    const index = keys.index();
    const nodes = await redis.command<string[]>(index, ["ZRANGEBYSCORE", index, String(sinceMs), "+inf"]);
    const lists = await Promise.all(
      nodes.map((node) => redis.command<string[]>(keys.series(node), ["LRANGE", keys.series(node), "0", "-1"])),
    );
    return nodes.map((node, position) => ({
      node,
      samples: lists[position]!.flatMap((text) => {
        const sample = decodeSample(text);
        return sample && sample.t >= sinceMs ? [sample] : [];
      }),
    }));
  }
}
