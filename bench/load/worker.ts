/**
 * A load-generator process, driven over IPC by load/generator.ts. It holds many clients of one
 * target at a time, runs open-loop send schedules over them, and reports what they received.
 */
import { now, sleepUntil } from "../clock.js";
import { connectClient, type ClientHooks, type LoadClient } from "./clients.js";
import { flood } from "./flood.js";
import { Histogram } from "./histogram.js";
import type { ClientPlan, FromWorker, Reply, Request, RunPlan, RunResult, ToWorker } from "./messages.js";
import { encodeText, intendedAtOf } from "./payload.js";
import { closeSdkClients, returned, stormSdkClients } from "./scale-returning.js";
import { droppedOf, forgetDropped, stormLoadClients } from "./scale-storm.js";
import { sendOnSchedule } from "./schedule.js";

/** Client groups by id: one per target of a scenario. */
const groups = new Map<number, LoadClient[]>();
/** The run in progress, on one group; deliveries outside a run are not counted. */
let current:
  { group: number; plan: RunPlan; result: RunResult; latency: Histogram; byGroup: Map<string, Histogram> } | undefined;
let lost = 0;
/** Deliveries to a group that is not the one running: targets must not hear each other. */
let strays = 0;

const hooksOf = (group: number): ClientHooks => ({
  onMessage(text, room) {
    if (!current) return;
    if (current.group !== group) {
      strays++;
      return;
    }
    const at = now();
    const { plan, result } = current;
    result.received++;
    if (at >= plan.windowStart && at < plan.windowEnd) result.receivedInWindow++;
    const intendedAt = intendedAtOf(text);
    if (intendedAt >= plan.windowStart && intendedAt < plan.windowEnd) {
      result.deliveredOfWindow++;
      current.latency.record(at - intendedAt);
      const latencyGroup = plan.latencyGroups?.[room];
      if (latencyGroup !== undefined) current.byGroup.get(latencyGroup)?.record(at - intendedAt);
    }
  },
  onLost() {
    lost++;
  },
});

function reply(message: FromWorker): void {
  process.send?.(message);
}

async function connectAll(
  group: number,
  protocol: Parameters<typeof connectClient>[0]["protocol"],
  plans: ClientPlan[],
  concurrency: number,
  timeoutMs: number,
) {
  const hooks = hooksOf(group);
  const opened: LoadClient[] = new Array<LoadClient>(plans.length);
  let next = 0;
  const lane = async () => {
    while (next < plans.length) {
      const index = next++;
      const plan = plans[index]!;
      const client = await connectClient({ protocol, url: plan.url, user: plan.user, hooks, timeoutMs });
      opened[index] = client;
      for (const room of plan.rooms) await client.join(room);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, lane));
  } catch (error) {
    for (const client of opened) client?.close();
    throw error;
  }
  return opened;
}

/** Sends on schedule until `stopAt`, then returns what was received. */
async function run(group: number, clients: LoadClient[], plan: RunPlan): Promise<RunResult> {
  const result: RunResult = {
    sent: 0,
    sentInWindow: {},
    received: 0,
    receivedInWindow: 0,
    deliveredOfWindow: 0,
    latency: { counts: [], missing: 0 },
    latencyByGroup: {},
    ackLatency: { counts: [], missing: 0 },
    sendLag: { counts: [], missing: 0 },
    acks: { ok: 0, failed: 0 },
    lost: 0,
    strays: 0,
  };
  const latency = new Histogram();
  const byGroup = new Map(Object.values(plan.latencyGroups ?? {}).map((name) => [name, new Histogram()]));
  const ackLatency = new Histogram();
  const sendLag = new Histogram();
  // This run's own counters: an ack of an earlier run that comes late does not count here.
  const acks = { ok: 0, failed: 0 };
  lost = 0;
  strays = 0;
  current = { group, plan, result, latency, byGroup };
  const rate = plan.senders.length === 0 ? 0 : plan.ratePerSecond;
  await sendOnSchedule({ ...plan, ratePerSecond: rate }, (k, intendedAt) => {
    const sender = plan.senders[k % plan.senders.length]!;
    const inWindow = intendedAt >= plan.windowStart && intendedAt < plan.windowEnd;
    sendLag.record(now() - intendedAt);
    clients[sender.client]!.send(sender.room, encodeText(intendedAt, k, plan.textLength), (answer) => {
      if (answer.ok) acks.ok++;
      else acks.failed++;
      if (inWindow) ackLatency.record(now() - intendedAt);
    });
    result.sent++;
    if (inWindow) result.sentInWindow[sender.room] = (result.sentInWindow[sender.room] ?? 0) + 1;
  });
  await sleepUntil(plan.stopAt);
  current = undefined;
  result.latency = latency.toJSON();
  result.latencyByGroup = Object.fromEntries([...byGroup].map(([name, histogram]) => [name, histogram.toJSON()]));
  result.ackLatency = ackLatency.toJSON();
  result.sendLag = sendLag.toJSON();
  result.acks = { ...acks };
  result.lost = lost;
  result.strays = strays;
  return result;
}

async function handle(message: Request): Promise<Reply> {
  switch (message.type) {
    case "connect": {
      const started = now();
      for (const client of groups.get(message.group) ?? []) client.close();
      const clients = await connectAll(
        message.group,
        message.protocol,
        message.clients,
        message.concurrency,
        message.timeoutMs,
      );
      groups.set(message.group, clients);
      return { type: "connected", clients: clients.length, ms: now() - started };
    }
    case "run": {
      const clients = groups.get(message.group);
      if (!clients) throw new Error(`no client group ${message.group}`);
      return { type: "ran", result: await run(message.group, clients, message.plan) };
    }
    case "flood": {
      const clients = groups.get(message.group);
      if (!clients) throw new Error(`no client group ${message.group}`);
      return { type: "flooded", result: await flood(clients, message.plan) };
    }
    case "storm": {
      for (const client of groups.get(message.group) ?? []) client.close();
      const { clients, result } = await stormLoadClients(
        message.group,
        message.protocol,
        hooksOf(message.group),
        message.plan,
      );
      groups.set(message.group, clients);
      return { type: "stormed", result };
    }
    case "count":
      return {
        type: "counted",
        connected: (groups.get(message.group) ?? []).filter((c) => c.connected).length,
        dropped: droppedOf(message.group),
      };
    case "sdk-storm":
      return { type: "stormed", result: await stormSdkClients(message.group, message.plan) };
    case "sdk-returned":
      return { type: "returned", result: await returned(message.group, message.after, message.timeoutMs) };
    case "disconnect":
      for (const client of groups.get(message.group) ?? []) client.close();
      groups.delete(message.group);
      forgetDropped(message.group);
      await closeSdkClients(message.group);
      return { type: "disconnected" };
  }
}

process.on("message", (message: ToWorker) => {
  handle(message).then(
    (answer) => reply({ ...answer, id: message.id }),
    (error: unknown) =>
      reply({ type: "failed", error: error instanceof Error ? error.message : String(error), id: message.id }),
  );
});
// The orchestrator is gone: nothing else would stop this process.
process.on("disconnect", () => process.exit(0));
