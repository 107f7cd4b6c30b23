import { within } from "../../server/dev/deadline.js";
import { now } from "../clock.js";
import type { ClientProtocol } from "../targets/target.js";
import { connectClient, type ClientHooks, type LoadClient } from "./clients.js";
import { Histogram } from "./histogram.js";
import type { ClientPlan } from "./messages.js";
import type { StormPlan, StormResult } from "./scale-messages.js";
import { sendOnSchedule } from "./schedule.js";

/** What a storm does with one kind of client: open one (connected), and join a room on it. */
export interface StormClients<C> {
  open(plan: ClientPlan): Promise<C>;
  join(client: C, room: string): Promise<void>;
}

/**
 * How a failed connection counts: `refused` with the code the server gave (a Socket.IO middleware
 * error's `data.code`, or the SDK's ChatError), or `failed` with a short reason.
 */
function outcomeOf(error: unknown): { refused: string } | { failed: string } {
  const failure = error as { data?: { code?: unknown }; name?: unknown; code?: unknown; message?: unknown };
  if (typeof failure?.data?.code === "string") return { refused: failure.data.code };
  if (failure?.name === "ChatError" && typeof failure.code === "string") return { refused: failure.code };
  const message = String(failure?.message ?? error);
  return { failed: message.startsWith("timed out") ? "timeout" : message.slice(0, 80) };
}

/** At most `limit` holders at once (none when undefined); a leaving holder hands its place to the next in line. */
function inFlightLimit(limit: number | undefined): { enter(): Promise<void>; leave(): void } {
  let holders = 0;
  const waiting: Array<() => void> = [];
  return {
    async enter() {
      if (limit === undefined || holders < limit) holders++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
    },
    leave() {
      const next = waiting.shift();
      if (next) next();
      else holders--;
    },
  };
}

const count = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);

/**
 * Opens the plan's clients open loop (scenario 6): client k is due at `startAt + k / rate`, whatever
 * became of the earlier ones, then joins its rooms. Resolves once every attempt has settled, with
 * the clients that connected (undefined where one failed) and how the storm went.
 */
export async function storm<C>(
  plan: StormPlan,
  clients: StormClients<C>,
): Promise<{ opened: Array<C | undefined>; result: StormResult }> {
  const handshake = new Histogram();
  const ready = new Histogram();
  const startLag = new Histogram();
  const result: StormResult = {
    planned: plan.clients.length,
    connected: 0,
    refused: {},
    failed: {},
    joinsFailed: 0,
    handshake: handshake.toJSON(),
    ready: ready.toJSON(),
    startLag: startLag.toJSON(),
    lastReadyAt: undefined,
    toppedUp: 0,
    topUpFailed: 0,
  };
  const opened = new Array<C | undefined>(plan.clients.length);
  const attempts: Array<Promise<void>> = [];
  const lanes = inFlightLimit(plan.maxInFlight);
  const attempt = async (index: number, intendedAt: number) => {
    await lanes.enter();
    try {
      await attemptOne(index, intendedAt);
    } finally {
      lanes.leave();
    }
  };
  const attemptOne = async (index: number, intendedAt: number) => {
    const clientPlan = plan.clients[index]!;
    startLag.record(now() - intendedAt);
    let client: C;
    try {
      client = await clients.open(clientPlan);
    } catch (error) {
      const outcome = outcomeOf(error);
      if ("refused" in outcome) count(result.refused, outcome.refused);
      else count(result.failed, outcome.failed);
      return;
    }
    handshake.record(now() - intendedAt);
    result.connected++;
    opened[index] = client;
    try {
      for (const room of clientPlan.rooms) {
        await within(clients.join(client, room), `${clientPlan.user} to join ${room}`, plan.timeoutMs);
      }
    } catch {
      result.joinsFailed++;
      return;
    }
    const at = now();
    ready.record(at - intendedAt);
    result.lastReadyAt = Math.max(result.lastReadyAt ?? at, at);
  };
  const interval = 1000 / plan.ratePerSecond;
  await sendOnSchedule(
    // Half an interval past the last one: exactly `clients.length` fall due.
    {
      startAt: plan.startAt,
      stopAt: plan.startAt + (plan.clients.length + 0.5) * interval,
      ratePerSecond: plan.ratePerSecond,
      burst: 1,
    },
    (index, intendedAt) => attempts.push(attempt(index, intendedAt)),
  );
  await Promise.all(attempts);
  return {
    opened,
    result: { ...result, handshake: handshake.toJSON(), ready: ready.toJSON(), startLag: startLag.toJSON() },
  };
}

/** Stands in for a client that never connected, so that a run's indices still line up. */
const ABSENT: LoadClient = {
  connected: false,
  join: () => Promise.reject(new Error("this client never connected")),
  send() {},
  sendDirect() {},
  close() {},
};

/** Tries of the top-up at most, each over the clients still out. */
const TOP_UP_PASSES = 3;
/** A top-up's "rate": every client falls due at once, and `topUpInFlight` paces them. */
const AT_ONCE_PER_SECOND = 1e9;

/** Connections of each storm group that closed without the generator asking, by reason. */
const droppedByGroup = new Map<number, Record<string, number>>();

/** Why the connections of a storm group closed without being asked to, by reason (e.g. `ping timeout`). */
export const droppedOf = (group: number): Record<string, number> => droppedByGroup.get(group) ?? {};

export const forgetDropped = (group: number): boolean => droppedByGroup.delete(group);

/**
 * A storm of the bench's load clients, then the top-up of those that did not get in (when the plan
 * asks for one): once it is over, the group runs like any other.
 */
export async function stormLoadClients(
  group: number,
  protocol: ClientProtocol,
  hooks: ClientHooks,
  plan: StormPlan,
): Promise<{ clients: LoadClient[]; result: StormResult }> {
  const dropped: Record<string, number> = {};
  droppedByGroup.set(group, dropped);
  const counting: ClientHooks = {
    onMessage: hooks.onMessage,
    onLost(reason) {
      count(dropped, reason);
      hooks.onLost(reason);
    },
  };
  const loadClients: StormClients<LoadClient> = {
    open: ({ url, user }) =>
      connectClient({
        protocol,
        url,
        user,
        hooks: counting,
        timeoutMs: plan.timeoutMs,
        localAddress: plan.localAddress,
      }),
    join: (client, room) => client.join(room),
  };
  const { opened, result } = await storm(plan, loadClients);
  const left = () => plan.clients.flatMap((_, index) => (opened[index] === undefined ? [index] : []));
  // Passes, because the first attempts of a top-up may still meet the backlog a collapsed storm left.
  for (let pass = 0; plan.topUpInFlight !== undefined && pass < TOP_UP_PASSES && left().length > 0; pass++) {
    const indices = left();
    const again = await storm(
      {
        ...plan,
        clients: indices.map((index) => plan.clients[index]!),
        startAt: now(),
        ratePerSecond: AT_ONCE_PER_SECOND,
        maxInFlight: plan.topUpInFlight,
      },
      loadClients,
    );
    indices.forEach((index, position) => (opened[index] = again.opened[position]));
    result.toppedUp += again.result.connected;
  }
  if (plan.topUpInFlight !== undefined) result.topUpFailed = left().length;
  // Array.from, not map: map skips the holes a failed attempt leaves.
  return { clients: Array.from(opened, (client) => client ?? ABSENT), result };
}
