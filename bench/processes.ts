import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { within } from "../server/dev/deadline.js";

/** A child process of the benchmark. Every one is stopped when the benchmark ends, however it ends. */
export interface Spawned {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Whether the process is still running. */
  alive(): boolean;
  /** The last few KiB of its stdout and stderr, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Spawned>();
const TAIL_BYTES = 8192;

export interface LaunchOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Opens an IPC channel (Node children only). @default false */
  ipc?: boolean;
}

/** Starts a child process and registers it for cleanup. */
export function launch(name: string, command: string, args: string[], options: LaunchOptions = {}): Spawned {
  const stdio: StdioOptions = options.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"];
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  // A failed spawn or a send on a closed IPC channel: kept for the error message, never a crash.
  child.on("error", (error) => keep(Buffer.from(`\n[${name}] ${error.message}\n`)));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      live.delete(spawned);
      resolve();
    });
  });
  const spawned: Spawned = {
    name,
    pid: child.pid,
    child,
    alive: () => !exited,
    tail: () => tail,
    async stop(graceMs = 5000) {
      if (exited) return;
      child.kill("SIGTERM");
      try {
        await within(exit, `${name} to exit`, graceMs);
      } catch {
        child.kill("SIGKILL");
        await within(exit, `${name} to die`, 5000);
      }
    },
  };
  live.add(spawned);
  return spawned;
}

/** Every live child's process id: the benchmark's own load, for the busy check. */
export function livePids(): number[] {
  return [...live].map((spawned) => spawned.pid);
}

/** Stops every live child, in parallel. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((spawned) => spawned.stop(3000)));
}

/** Kills every live child at once; for the last moment of the process, when nothing can be awaited. */
function killAllNow(): void {
  for (const spawned of live) {
    try {
      spawned.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/**
 * Makes sure no server, Redis or load generator outlives the benchmark: on a normal exit, an error,
 * Ctrl-C or SIGTERM. (A SIGKILL of this process cannot be caught: the Node children then exit when
 * their IPC channel closes, see targets/probe.mjs; a Redis would remain.)
 */
export function stopChildrenOnExit(): void {
  process.on("exit", killAllNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      void stopAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
}
