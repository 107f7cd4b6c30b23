import { SERIES_STEP_MS, type SeriesStore } from "./series.js";

export interface SamplerOptions {
  store: SeriesStore;
  /** Messages appended since the process started. */
  messages: () => number;
  /** Sockets held now. */
  sockets: () => number;
  /** Told of a sample that could not be stored (its messages go into the next one). */
  onError: (error: unknown) => void;
  /** Told of each sample stored. */
  onStored?: () => void;
}

/**
 * Records this node's sample at the end of every step of the wall clock (see `SeriesStore`), so
 * that the samples of all nodes for one step carry the same time and add up.
 *
 * @returns a function that stops the sampling.
 */
export function startSampler(options: SamplerOptions): () => void {
  let counted = options.messages();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = () => {
    const wait = SERIES_STEP_MS - (Date.now() % SERIES_STEP_MS);
    timer = setTimeout(sample, wait);
    timer.unref();
  };
  const sample = () => {
    const t = Math.round(Date.now() / SERIES_STEP_MS) * SERIES_STEP_MS;
    const total = options.messages();
    options.store.record({ t, messages: total - counted, sockets: options.sockets() }).then(
      () => {
        counted = total;
        options.onStored?.();
      },
      (error: unknown) => options.onError(error),
    );
    if (!stopped) schedule();
  };

  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
