import { within } from "../../server/dev/deadline.js";
import { benchPath, ROOT } from "../paths.js";
import { launch, type Spawned } from "../processes.js";
import type { ClientProtocol } from "../targets/target.js";
import { Histogram } from "./histogram.js";
import type { ClientPlan, FromWorker, Reply, Request, RunPlan, RunResult, SenderPlan } from "./messages.js";

/** A run over all the generator's clients; sender `client` indices are into the `connect` list. */
export type LoadPlan = RunPlan;

/** What all workers received, merged. */
export interface LoadResult extends Omit<RunResult, "latency" | "sendLag"> {
  latency: Histogram;
  sendLag: Histogram;
}

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
    const shares: ClientPlan[][] = this.workers.map(() => []);
    const placement: Placement = clients.map((client, index) => {
      const worker = index % this.workers.length;
      return [worker, shares[worker]!.push(client) - 1];
    });
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

  /** Runs one open-loop schedule on every worker at once; each gets the rate of its senders. */
  async run(group: number, plan: LoadPlan): Promise<LoadResult> {
    const placement = this.placements.get(group);
    if (!placement) throw new Error(`no client group ${group}`);
    const senders: SenderPlan[][] = this.workers.map(() => []);
    for (const sender of plan.senders) {
      const [worker, local] = placement[sender.client]!;
      senders[worker]!.push({ client: local, room: sender.room });
    }
    const total = plan.senders.length;
    const replies = await this.askAll(
      senders.map((own) => ({
        type: "run",
        group,
        plan: { ...plan, senders: own, ratePerSecond: total === 0 ? 0 : (plan.ratePerSecond * own.length) / total },
      })),
      plan.stopAt - plan.startAt + 60_000,
    );
    const merged: LoadResult = {
      sent: 0,
      sentInWindow: {},
      received: 0,
      receivedInWindow: 0,
      deliveredOfWindow: 0,
      latency: new Histogram(),
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
