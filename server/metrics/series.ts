/**
 * Every node's recent activity, in samples taken every `SERIES_STEP_MS` on the wall clock, so that
 * a freshly opened admin dashboard draws the last `SERIES_WINDOW_MS` for the whole cluster.
 */

/** Time between two samples of a node. */
export const SERIES_STEP_MS = 5000;
/** How far back samples are kept. */
export const SERIES_WINDOW_MS = 10 * 60 * 1000;

/** What one node did during one step. */
export interface SeriesSample {
  /** End of the step, epoch ms, a multiple of SERIES_STEP_MS: nodes' samples of one step share it. */
  t: number;
  /** Messages (room and DM) the node appended during the step. */
  messages: number;
  /** Sockets the node held at the end of the step. */
  sockets: number;
}

/** One node's samples, oldest first. */
export interface NodeSeries {
  node: string;
  samples: SeriesSample[];
}

/** Where nodes keep their samples: memory on one node, Redis for a cluster. */
export interface SeriesStore {
  /** Keeps a sample of this node. */
  record(sample: SeriesSample): Promise<void>;
  /** The samples of every node that recorded one since `sinceMs` (epoch ms), dead nodes included. */
  read(sinceMs: number): Promise<NodeSeries[]>;
}

/** Samples of one node in its own memory (the embedded mode). */
export class MemorySeries implements SeriesStore {
  private readonly samples: SeriesSample[] = [];

  constructor(private readonly nodeId: string) {}

  async record(sample: SeriesSample): Promise<void> {
    this.samples.push(sample);
    const oldest = sample.t - SERIES_WINDOW_MS;
    while (this.samples.length > 0 && this.samples[0]!.t <= oldest) this.samples.shift();
  }

  async read(sinceMs: number): Promise<NodeSeries[]> {
    const samples = this.samples.filter((sample) => sample.t >= sinceMs);
    return samples.length === 0 ? [] : [{ node: this.nodeId, samples }];
  }
}

/** Samples encoded compactly for storage: `t,messages,sockets`. */
export const encodeSample = (sample: SeriesSample): string => `${sample.t},${sample.messages},${sample.sockets}`;

/** The sample `encodeSample` wrote, or undefined for anything else. */
export function decodeSample(text: string): SeriesSample | undefined {
  const [t, messages, sockets] = text.split(",").map(Number);
  if (![t, messages, sockets].every((value) => Number.isFinite(value))) return undefined;
  return { t: t!, messages: messages!, sockets: sockets! };
}
