import { within } from "../../server/dev/deadline.js";
import { freePort } from "../../server/dev/ports.js";
import { HOST, waitForPort } from "../net.js";
import { benchPath } from "../paths.js";
import { launch, type Spawned } from "../processes.js";

/** `process.memoryUsage()` of a server after forced full GCs, as targets/probe.mjs reports it. */
export interface MemoryReport {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Whether the GCs really ran (the process had --expose-gc). */
  gc: boolean;
}

/** One server process of a target. */
export interface ServerNode {
  name: string;
  url: string;
  port: number;
  process: Spawned;
  /** Forces GC in the process and reports its memory. */
  memory(): Promise<MemoryReport>;
  /** CPU-seconds the process has used so far, user + system of `process.cpuUsage()` (microsecond resolution). */
  cpuSeconds(): Promise<number>;
  /**
   * Starts the same server again, with the same settings on the same port, once this process has
   * exited (scenario 6's restart); resolves once it serves.
   */
  relaunch(): Promise<ServerNode>;
}

export interface ServerNodeOptions {
  name: string;
  /** Node flags and the script, e.g. `["--import", "tsx", "bench/references/stock-server.ts"]`. */
  args: string[];
  /** Environment on top of this process's; PORT and HOST are set here. */
  env: Record<string, string>;
  cwd: string;
  /** Extra modules to preload (levers such as targets/cork.mjs). */
  preloads?: string[];
  /** Extra Node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Resolves once the node serves (after its port accepts connections). */
  ready?: (url: string) => Promise<void>;
  /** The port to listen on; default: a free one. */
  port?: number;
}

const PROBE = benchPath("targets/probe.mjs");

/**
 * Starts one server process on a free loopback port, with --expose-gc and the probe preloaded (the
 * same for every target), and waits until it serves.
 */
export async function startServerNode(options: ServerNodeOptions): Promise<ServerNode> {
  const port = options.port ?? (await freePort(HOST));
  const preloads = [PROBE, ...(options.preloads ?? [])].flatMap((module) => ["--import", module]);
  const spawned = launch(
    options.name,
    process.execPath,
    ["--expose-gc", ...(options.nodeFlags ?? []), ...preloads, ...options.args],
    {
      cwd: options.cwd,
      ipc: true,
      env: { ...process.env, ...options.env, PORT: String(port), HOST },
    },
  );
  const url = `http://${HOST}:${port}`;
  try {
    await waitForPort(port, 60_000, spawned.alive);
    await options.ready?.(url);
  } catch (error) {
    await spawned.stop();
    throw new Error(`${options.name} did not start: ${(error as Error).message}\n${spawned.tail()}`, {
      cause: error,
    });
  }
  return {
    name: options.name,
    url,
    port,
    process: spawned,
    memory: () => askProbe<MemoryReport>(spawned, "bench:memory", 30_000),
    cpuSeconds: async () => {
      const { user, system } = await askProbe<NodeJS.CpuUsage>(spawned, "bench:cpu", 10_000);
      return (user + system) / 1e6;
    },
    relaunch: () => startServerNode({ ...options, port }),
  };
}

let requests = 0;

/** Asks the process's probe (targets/probe.mjs) over IPC and resolves with its answer to this request. */
function askProbe<T>(spawned: Spawned, type: string, timeoutMs: number): Promise<T> {
  if (!spawned.child.connected) return Promise.reject(new Error(`${spawned.name} is gone`));
  const id = ++requests;
  let onMessage: (message: unknown) => void = () => {};
  const answer = new Promise<T>((resolve) => {
    onMessage = (message: unknown) => {
      const { type: answered, id: of } = (message ?? {}) as { type?: unknown; id?: unknown };
      if (answered === type && of === id) resolve(message as T);
    };
    spawned.child.on("message", onMessage);
  });
  spawned.child.send({ type, id });
  return within(answer, `the ${type} answer of ${spawned.name}`, timeoutMs).finally(() =>
    spawned.child.off("message", onMessage),
  );
}
