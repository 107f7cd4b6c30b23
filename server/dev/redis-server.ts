import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { within } from "./deadline.js";
import { freePort } from "./ports.js";

/** Starts the redis-server process; the bench passes one that registers the child for cleanup. */
export type Spawner = (command: string, args: string[]) => ChildProcess;

const spawnQuietly: Spawner = (command, args) => spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });

/** Printed at the default log level once the server accepts connections. */
const READY_LINE = "Ready to accept connections";

/**
 * A redis-server of our own, on a free loopback port, without persistence unless `args` ask for it.
 * It can be killed and started again on the same port with the same data directory. Tests, the
 * bench and `npm run cluster` all start Redis through this.
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  /** Its working directory (cluster config, append-only files), removed by `stop`. */
  readonly dir = mkdtempSync(join(tmpdir(), "roomcast-redis-"));

  private constructor(
    readonly port: number,
    private readonly args: readonly string[],
    private readonly spawner: Spawner,
  ) {}

  /**
   * Starts a redis-server and resolves once it accepts connections.
   *
   * @param args extra configuration, e.g. `["--appendonly", "yes"]`; it comes last, so it wins.
   *   Leave `--loglevel` at its default: readiness is read from the log.
   * @param options.spawn how to start the process (default: stdout piped, stderr inherited).
   */
  static async start(args: readonly string[] = [], options: { spawn?: Spawner } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), args, options.spawn ?? spawnQuietly);
    try {
      await server.restart();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running process, if any (for its pid, or to watch it exit). */
  get process(): ChildProcess | undefined {
    return this.child;
  }

  /** Starts the server again on the same port (after `kill`), keeping its data directory. */
  async restart(): Promise<void> {
    const child = this.spawner("redis-server", [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.dir,
      ...this.args,
    ]);
    this.child = child;
    await within(
      new Promise<void>((resolve, reject) => {
        let output = "";
        child.stdout!.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes(READY_LINE)) resolve();
        });
        child.once("error", reject);
        child.once("exit", (code, signal) => reject(new Error(`redis-server exited (${signal ?? code}): ${output}`)));
      }),
      `redis-server on port ${this.port}`,
    );
    // Keep draining its log, so that a full pipe never blocks it.
    child.stdout!.resume();
  }

  /** Kills the server (SIGKILL by default) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await within(exited, "redis-server to exit");
  }

  /** Kills the server and removes its data directory. */
  async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    try {
      await this.kill(signal);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
