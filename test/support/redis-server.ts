import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { within } from "./clients.js";

/** Finds a free TCP port on 127.0.0.1 (the OS picks it; we release it for the child). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server process of a test's own, on an ephemeral port, that it can kill and restart. */
export class RedisServer {
  private process: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), "roomcast-redis-"));

  private constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  /** Starts a redis-server; `args` are extra config (e.g. ["--appendonly", "yes"]). */
  static async start(args: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), args);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server again on the same port (after `kill`), keeping its data dir. */
  async restart(): Promise<void> {
    const child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir, ...this.args],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    this.process = child;
    await within(
      new Promise<void>((resolve, reject) => {
        let output = "";
        child.stdout!.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes("Ready to accept connections")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
      }),
      `redis-server on port ${this.port}`,
    );
    child.stdout!.resume();
  }

  /** Kills the server (SIGKILL by default) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await within(exited, "redis-server to exit");
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let prefixes = 0;
/** A key prefix no other test uses, so tests may share a Redis. */
export function uniquePrefix(): string {
  prefixes += 1;
  return `t${process.pid}x${prefixes}x${Date.now().toString(36)}`;
}
