import { manyRooms } from "../layout.js";
import type { Measurement } from "../session.js";
import { targetsByName } from "../targets/catalogue.js";
import type { Target } from "../targets/target.js";
import { nodesFor, type BenchContext, type TrialRecord } from "./context.js";
import { fixedRate, type FixedRateResult } from "./fixed-rate.js";

/** One layout of the growth scenario, with its medians (its trials are in GrowthResult.trials). */
export type GrowthStep = Omit<FixedRateResult, "trials">;

export interface GrowthResult {
  steps: GrowthStep[];
  /** Every trial of every step; `step` is its index in `steps`. */
  trials: Array<TrialRecord<Measurement> & { step: number }>;
}

/** The targets whose nodes talk through Redis (the others have nothing to grow); roomcast and stock if none of the selected do. */
function clusteredTargets(targets: readonly Target[]): Target[] {
  const clustered = targets.filter((target) => target.usesRedis);
  return clustered.length > 0 ? clustered : targetsByName(["roomcast", "stock"]);
}

/**
 * Scenario 8: how the cost of a chat message grows with the nodes. The same chat traffic (3,000
 * deliveries/s) runs on 1, 2 and 4 nodes, every room held by one node (all its members there, rooms
 * round-robin over the nodes), then with rooms five times bigger on 4 nodes. Each step is a fixed-rate
 * run with the Redis taps in place: Redis-to-node messages per chat message and server CPU per chat
 * message (and deliveries per server CPU-second) show what each node added costs.
 */
export async function growthScenario(context: BenchContext): Promise<GrowthResult> {
  const { growth } = context.config;
  const targets = clusteredTargets(context.targets);
  const steps: GrowthStep[] = [];
  const trials: GrowthResult["trials"] = [];
  for (const step of growth.steps) {
    const nodes = nodesFor(context, step.nodes);
    context.log(`  growth: ${nodes} node(s), ${step.rooms} rooms of ${step.members}, ${step.rate} msgs/s`);
    const { trials: stepTrials, ...result } = await fixedRate(
      { ...context, targets },
      `growth ${nodes}n/${step.members}m`,
      manyRooms(nodes, step.rooms, step.members, "held"),
      { nodes, rate: step.rate, warmupMs: growth.warmupMs, windowMs: growth.windowMs, drainMs: growth.drainMs },
      { tapRedis: true },
    );
    trials.push(...stepTrials.map((trial) => ({ ...trial, step: steps.length })));
    steps.push(result);
  }
  return { steps, trials };
}
