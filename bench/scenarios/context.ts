import type { BenchConfig } from "../config.js";
import type { LoadGenerator } from "../load/generator.js";
import type { BenchRedis } from "../redis.js";
import { waitForQuiet } from "../session.js";
import type { Target } from "../targets/target.js";

/** What every scenario runs with. */
export interface BenchContext {
  config: BenchConfig;
  targets: Target[];
  generator: LoadGenerator;
  redis: BenchRedis;
  /** A progress line on stderr (stdout is kept for the table and the JSON line). */
  log(line: string): void;
}

/** One trial of one target in one round, after any repeats the busy check asked for. */
export interface TrialRecord<T> {
  round: number;
  target: string;
  /** How the target ran (cluster, embedded, …). */
  mode: string;
  result: T;
  /** Whether the accepted attempt was still disturbed (every attempt was). */
  disturbed: boolean;
  /** Earlier attempts the busy check rejected. */
  rejected: T[];
}

/** A trial's outcome as far as the busy check goes. */
export interface Checked {
  disturbed: boolean;
}

/**
 * Runs `trial` for every target in every round, interleaved: round r runs the targets rotated by r
 * (A-B-C, B-C-A, C-A-B), so a slow drift of the machine weighs on all of them alike. A disturbed
 * trial is run again, at most `config.retries` more times (and `config.retryBudget` times in the
 * whole run), once the machine is quiet (or after `config.quietWaitMs`).
 */
let retriesUsed = 0;

export async function interleave<T extends Checked>(
  context: BenchContext,
  label: string,
  trial: (target: Target) => Promise<{ mode: string; result: T }>,
): Promise<Array<TrialRecord<T>>> {
  const records: Array<TrialRecord<T>> = [];
  const { targets, config } = context;
  for (let round = 1; round <= config.rounds; round++) {
    const shift = (round - 1) % targets.length;
    const order = [...targets.slice(shift), ...targets.slice(0, shift)];
    for (const target of order) {
      const rejected: T[] = [];
      for (let attempt = 0; attempt <= config.retries; attempt++) {
        const { mode, result } = await trial(target);
        if (result.disturbed && attempt < config.retries && retriesUsed < config.retryBudget) {
          retriesUsed++;
          context.log(`  ${label} round ${round} ${target.name}: machine busy, repeating`);
          rejected.push(result);
          await waitForQuiet(config.quietWaitMs);
          continue;
        }
        records.push({ round, target: target.name, mode, result, disturbed: result.disturbed, rejected });
        break;
      }
    }
  }
  return records;
}

/** The accepted results of one target. */
export function resultsOf<T>(records: ReadonlyArray<TrialRecord<T>>, target: string): T[] {
  return records.filter((record) => record.target === target).map((record) => record.result);
}

/** Node flags for every server process of the run. */
export const serverFlags = (context: BenchContext): string[] =>
  context.config.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${context.config.profileDir}`] : [];

/** Caps a scenario's node count (--max-nodes). */
export const nodesFor = (context: BenchContext, nodes: number): number => Math.min(nodes, context.config.maxNodes);
