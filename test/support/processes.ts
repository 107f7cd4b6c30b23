import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { within } from "./clients.js";
import { TEST_ENV } from "./deployment.js";
import { freePort, RedisServer, uniquePrefix } from "./redis-server.js";

const MAIN = fileURLToPath(new URL("../../dist/server/main.js", import.meta.url));
/** A cold Node.js start on a busy 2-core machine can take several seconds. */
const START_DEADLINE_MS = 30_000;

/** A chat node running as its own process (from the build in dist/), so it can be killed. */
export class NodeProcess {
  private child: ChildProcess | undefined;
  /** Every log line the node printed, parsed (pino JSON). */
  readonly logs: Record<string, unknown>[] = [];
  private readonly logWaiters = new Set<(line: Record<string, unknown>) => void>();

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resolves with the first log line, printed so far or later, that `match` accepts. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, label: string): Promise<Record<string, unknown>> {
    const found = this.logs.find(match);
    if (found) return Promise.resolve(found);
    let waiter!: (line: Record<string, unknown>) => void;
    const seen = new Promise<Record<string, unknown>>((resolve) => {
      waiter = (line) => {
        if (match(line)) resolve(line);
      };
      this.logWaiters.add(waiter);
    });
    return within(seen, label).finally(() => this.logWaiters.delete(waiter));
  }

  /** The process's resident memory now, in bytes (from /proc). */
  async rssBytes(): Promise<number> {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error("the node is not running");
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!kib) throw new Error(`no VmRSS for pid ${pid}`);
    return Number(kib[1]) * 1024;
  }

  /** Whether the process is still running (it has not exited or crashed). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves once it listens. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...TEST_ENV, LOG_LEVEL: "info", ...this.env, PORT: String(this.port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await within(
      new Promise<void>((resolve, reject) => {
        let pending = "";
        child.stdout!.on("data", (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split("\n");
          pending = lines.pop()!;
          for (const line of lines) {
            try {
              const entry = JSON.parse(line) as Record<string, unknown>;
              this.logs.push(entry);
              for (const waiter of this.logWaiters) waiter(entry);
              if (entry.msg === "roomcast is listening") resolve();
            } catch {
              // not a log line
            }
          }
        });
        child.once("exit", (code) => reject(new Error(`node exited with ${code} before listening: ${stderr}`)));
      }),
      `node on port ${this.port} to listen`,
      START_DEADLINE_MS,
    );
  }

  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    return within(exited, `node on port ${this.port} to exit after ${signal}`, 30_000);
  }
}

export interface ProcessCluster {
  urls: string[];
  redisUrl: string;
  redis: RedisServer;
  nodes: NodeProcess[];
  /** Stops node `index` with `signal` (SIGKILL by default); resolves with its exit code. */
  kill(index: number, signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts node `index` again, on the same port and with the same NODE_ID. */
  restart(index: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a redis-server and `nodes` chat node processes from dist/ (run `npm run build` first),
 * each on a fixed free port so that a restarted node comes back at the same URL.
 */
export async function startProcessCluster(options: {
  nodes: number;
  env?: Record<string, string>;
  redisArgs?: string[];
}): Promise<ProcessCluster> {
  const redis = await RedisServer.start(options.redisArgs);
  const prefix = uniquePrefix();
  const nodes: NodeProcess[] = [];
  for (let index = 0; index < options.nodes; index += 1) {
    nodes.push(
      new NodeProcess(await freePort(), {
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix,
        NODE_ID: `node-${index}`,
        HEARTBEAT_TTL_MS: "2000",
        ...options.env,
      }),
    );
  }
  const close = async () => {
    await Promise.all(nodes.map((node) => node.stop("SIGKILL")));
    await redis.stop();
  };
  try {
    await Promise.all(nodes.map((node) => node.start()));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    urls: nodes.map((node) => node.url),
    redisUrl: redis.url,
    redis,
    nodes,
    kill: (index, signal = "SIGKILL") => nodes[index]!.stop(signal),
    restart: (index) => nodes[index]!.start(),
    close,
  };
}
