import { within } from "../../server/dev/deadline.js";
import { now } from "../clock.js";
import { benchPath, ROOT } from "../paths.js";
import { launch, type Spawned } from "../processes.js";
import type { ClientProtocol } from "../targets/target.js";
import { Histogram } from "./histogram.js";
import type {
  ClientPlan,
  FloodCounts,
  FloodPlan,
  FromWorker,
  Reply,
  Request,
  RunPlan,
  RunResult,
  SenderPlan,
} from "./messages.js";
import type { ReturnResult, StormResult } from "./scale-messages.js";

/**
 * The source address of load worker `index`'s storm sockets: 127.0.0.2, .3, … Each address has its
 * own ephemeral ports (ip_local_port_range, about 28,000), so no one address runs out of them.
 */
export const sourceAddress = (index: number): string => `127.0.0.${2 + (index % 250)}`;

/** A worker's reply, checked to be of the type asked for. */
function expect<T extends Reply["type"]>(reply: Reply, type: T): Extract<Reply, { type: T }> {
  if (reply.type !== type) throw new Error(`unexpected ${reply.type} from a load worker, wanted ${type}`);
  return reply as Extract<Reply, { type: T }>;
}

/** A run over all the generator's clients; sender `client` indices are into the `connect` list. */
export type LoadPlan = RunPlan;

/** What all workers received, merged. */
export interface LoadResult extends Omit<RunResult, "latency" | "latencyByGroup" | "ackLatency" | "sendLag"> {
  latency: Histogram;
  latencyByGroup: Record<string, Histogram>;
  ackLatency: Histogram;
  sendLag: Histogram;
}

/** How the server answered a flood, all workers together. */
export interface FloodOutcome {
  run: FloodCounts;
  window: FloodCounts;
  socketsDropped: number;
  sendLag: Histogram;
}

const addCounts = (into: FloodCounts, from: FloodCounts): void => {
  into.attempted += from.attempted;
  into.skipped += from.skipped;
  into.accepted += from.accepted;
  into.refused += from.refused;
  for (const [code, count] of Object.entries(from.errors)) into.errors[code] = (into.errors[code] ?? 0) + count;
};

interface Worker {
  process: Spawned;
}

/** Where each client of a group lives: [worker, index in that worker's share]. */
type Placement = Array<[number, number]>;

/**
 * The load generator: one or more worker processes (load/worker.ts), each with its share of the
 * clients, all driven from here. The same code drives every target.
 */
export class LoadGenerator {
  private readonly placements = new Map<number, Placement>();
  private nextGroup = 1;
  private nextRequest = 1;

  private constructor(private readonly workers: Worker[]) {}

  static async start(count: number): Promise<LoadGenerator> {
    const workers = Array.from({ length: count }, (_, index) => ({
      process: launch(`load-${index}`, process.execPath, ["--import", "tsx", benchPath("load/worker.ts")], {
        cwd: ROOT,
        ipc: true,
      }),
    }));
    return new LoadGenerator(workers);
  }

  /** The worker processes' ids, for CPU accounting. */
  get pids(): number[] {
    return this.workers.map((worker) => worker.process.pid);
  }

  private ask(worker: Worker, request: Request, timeoutMs: number): Promise<Reply> {
    const { child, name } = worker.process;
    if (!child.connected) return Promise.reject(new Error(`${name} is gone: ${worker.process.tail()}`));
    const id = this.nextRequest++;
    let onMessage: (reply: FromWorker) => void = () => {};
    let onExit: () => void = () => {};
    const answer = new Promise<Reply>((resolve, reject) => {
      onMessage = (reply) => {
        if (reply.id === id) resolve(reply);
      };
      onExit = () => reject(new Error(`${name} exited: ${worker.process.tail()}`));
      child.on("message", onMessage);
      child.on("exit", onExit);
    });
    child.send({ ...request, id });
    return within(answer, `${name} to answer ${request.type}`, timeoutMs)
      .finally(() => {
        child.off("message", onMessage);
        child.off("exit", onExit);
      })
      .then((reply) => {
        if (reply.type === "failed") throw new Error(`${name}: ${reply.error}`);
        return reply;
      });
  }

  private askAll(messages: Request[], timeoutMs: number): Promise<Reply[]> {
    return Promise.all(this.workers.map((worker, index) => this.ask(worker, messages[index]!, timeoutMs)));
  }

  /** Deals clients round-robin over the workers: client i goes to worker i mod n. */
  private split(clients: ClientPlan[]): { shares: ClientPlan[][]; placement: Placement } {
    const shares: ClientPlan[][] = this.workers.map(() => []);
    const placement: Placement = clients.map((client, index) => {
      const worker = index % this.workers.length;
      return [worker, shares[worker]!.push(client) - 1];
    });
    return { shares, placement };
  }

  /**
   * Opens a group of clients (round-robin over the workers) and joins their rooms; resolves with the
   * group's id, for `run` and `disconnect`.
   */
  async connect(
    protocol: ClientProtocol,
    clients: ClientPlan[],
    options: { concurrency: number; timeoutMs: number },
  ): Promise<number> {
    const group = this.nextGroup++;
    const { shares, placement } = this.split(clients);
    const perWorker = Math.ceil(options.concurrency / this.workers.length);
    // Generous: connecting thousands of clients to a busy node takes a while.
    const budget = 60_000 + clients.length * 20;
    try {
      await this.askAll(
        shares.map((share) => ({
          type: "connect",
          group,
          protocol,
          clients: share,
          concurrency: perWorker,
          timeoutMs: options.timeoutMs,
        })),
        budget,
      );
    } catch (error) {
      await this.disconnect(group).catch(() => undefined);
      throw error;
    }
    this.placements.set(group, placement);
    return group;
  }

  /**
   * Splits a plan's senders by the worker that holds their client (indices made local to it), with
   * the share of the rate that goes with them.
   */
  private share<S extends { client: number }>(
    group: number,
    senders: readonly S[],
    ratePerSecond: number,
  ): Array<{ senders: S[]; ratePerSecond: number }> {
    const placement = this.placements.get(group);
    if (!placement) throw new Error(`no client group ${group}`);
    const own: S[][] = this.workers.map(() => []);
    for (const sender of senders) {
      const [worker, local] = placement[sender.client]!;
      own[worker]!.push({ ...sender, client: local });
    }
    return own.map((list) => ({
      senders: list,
      ratePerSecond: senders.length === 0 ? 0 : (ratePerSecond * list.length) / senders.length,
    }));
  }

  /** Runs one open-loop schedule on every worker at once; each gets the rate of its senders. */
  async run(group: number, plan: LoadPlan): Promise<LoadResult> {
    const shares = this.share<SenderPlan>(group, plan.senders, plan.ratePerSecond);
    const replies = await this.askAll(
      shares.map((share) => ({ type: "run", group, plan: { ...plan, ...share } })),
      plan.stopAt - plan.startAt + 60_000,
    );
    const merged: LoadResult = {
      sent: 0,
      sentInWindow: {},
      received: 0,
      receivedInWindow: 0,
      deliveredOfWindow: 0,
      latency: new Histogram(),
      latencyByGroup: {},
      ackLatency: new Histogram(),
      sendLag: new Histogram(),
      acks: { ok: 0, failed: 0 },
      lost: 0,
      strays: 0,
    };
    for (const reply of replies) {
      if (reply.type !== "ran") throw new Error(`unexpected ${reply.type} from a load worker`);
      const result = reply.result;
      merged.sent += result.sent;
      merged.received += result.received;
      merged.receivedInWindow += result.receivedInWindow;
      merged.deliveredOfWindow += result.deliveredOfWindow;
      merged.latency.add(result.latency);
      for (const [name, data] of Object.entries(result.latencyByGroup)) {
        (merged.latencyByGroup[name] ??= new Histogram()).add(data);
      }
      merged.ackLatency.add(result.ackLatency);
      merged.sendLag.add(result.sendLag);
      merged.acks.ok += result.acks.ok;
      merged.acks.failed += result.acks.failed;
      merged.lost += result.lost;
      merged.strays += result.strays;
      for (const [room, count] of Object.entries(result.sentInWindow)) {
        merged.sentInWindow[room] = (merged.sentInWindow[room] ?? 0) + count;
      }
    }
    return merged;
  }

  /** Runs a flood (scenario 7) on every worker at once; each gets the rate of its senders. */
  async flood(group: number, plan: FloodPlan): Promise<FloodOutcome> {
    const shares = this.share(group, plan.senders, plan.ratePerSecond);
    const replies = await this.askAll(
      shares.map((share) => ({ type: "flood", group, plan: { ...plan, ...share } })),
      plan.stopAt - plan.startAt + 60_000,
    );
    const merged: FloodOutcome = {
      run: { attempted: 0, skipped: 0, accepted: 0, refused: 0, errors: {} },
      window: { attempted: 0, skipped: 0, accepted: 0, refused: 0, errors: {} },
      socketsDropped: 0,
      sendLag: new Histogram(),
    };
    for (const reply of replies) {
      if (reply.type !== "flooded") throw new Error(`unexpected ${reply.type} from a load worker`);
      addCounts(merged.run, reply.result.run);
      addCounts(merged.window, reply.result.window);
      merged.socketsDropped += reply.result.socketsDropped;
      merged.sendLag.add(reply.result.sendLag);
    }
    return merged;
  }

  /**
   * Scenario 6's connect storm: opens a group of clients (round-robin over the workers) open loop,
   * client k due at `startAt + k / ratePerSecond` whichever worker holds it, each worker's sockets
   * from a source address of its own (`sourceAddress`); `maxInFlight` and `topUpInFlight` (load
   * clients only) are for all workers together. `sdk` opens roomcast SDK clients, which reconnect by
   * themselves (see `returned`). Resolves with the group and each worker's account.
   */
  async storm(
    kind: ClientProtocol | "sdk",
    clients: ClientPlan[],
    options: {
      startAt: number;
      ratePerSecond: number;
      timeoutMs: number;
      maxInFlight?: number;
      topUpInFlight?: number;
    },
  ): Promise<{ group: number; results: StormResult[] }> {
    const group = this.nextGroup++;
    const { shares, placement } = this.split(clients);
    const count = this.workers.length;
    const plans = shares.map((share, worker) => ({
      clients: share,
      startAt: options.startAt + (worker * 1000) / options.ratePerSecond,
      ratePerSecond: options.ratePerSecond / count,
      localAddress: sourceAddress(worker),
      timeoutMs: options.timeoutMs,
      ...(options.maxInFlight !== undefined && { maxInFlight: Math.ceil(options.maxInFlight / count) }),
      ...(options.topUpInFlight !== undefined && { topUpInFlight: Math.ceil(options.topUpInFlight / count) }),
    }));
    const stormMs = (clients.length * 1000) / options.ratePerSecond;
    try {
      const replies = await this.askAll(
        plans.map((plan) =>
          kind === "sdk" ? { type: "sdk-storm", group, plan } : { type: "storm", group, protocol: kind, plan },
        ),
        // A top-up of every client, when the storm got none in, may take a while on a busy machine.
        options.startAt -
          now() +
          stormMs +
          4 * options.timeoutMs +
          60_000 +
          (options.topUpInFlight ? clients.length * 50 : 0),
      );
      this.placements.set(group, placement);
      return { group, results: replies.map((reply) => expect(reply, "stormed").result) };
    } catch (error) {
      await this.disconnect(group).catch(() => undefined);
      throw error;
    }
  }

  /**
   * How many clients of a group opened by `storm` are still connected, and why the others' connections
   * closed (by reason, since the storm).
   */
  async connectedCount(group: number): Promise<{ connected: number; dropped: Record<string, number> }> {
    const replies = await this.askAll(
      this.workers.map(() => ({ type: "count", group })),
      30_000,
    );
    const dropped: Record<string, number> = {};
    let connected = 0;
    for (const reply of replies) {
      const counted = expect(reply, "counted");
      connected += counted.connected;
      for (const [reason, count] of Object.entries(counted.dropped)) dropped[reason] = (dropped[reason] ?? 0) + count;
    }
    return { connected, dropped };
  }

  /**
   * Waits (at most `timeoutMs`) until every SDK client of a group is connected again on a
   * connection made after `after` (monotonic ms); `lastBackAt` is the latest of those, or undefined
   * unless every client came back.
   */
  async returned(group: number, after: number, timeoutMs: number): Promise<ReturnResult> {
    const replies = await this.askAll(
      this.workers.map(() => ({ type: "sdk-returned", group, after, timeoutMs })),
      timeoutMs + 30_000,
    );
    const results = replies.map((reply) => expect(reply, "returned").result);
    const all = results.every((result) => result.lastBackAt !== undefined);
    return {
      clients: results.reduce((sum, result) => sum + result.clients, 0),
      back: results.reduce((sum, result) => sum + result.back, 0),
      lastBackAt: all ? Math.max(...results.map((result) => result.lastBackAt!)) : undefined,
    };
  }

  async disconnect(group: number): Promise<void> {
    this.placements.delete(group);
    await this.askAll(
      this.workers.map(() => ({ type: "disconnect", group })),
      30_000,
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((worker) => worker.process.stop()));
  }
}
