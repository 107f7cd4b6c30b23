import { createClient } from "redis";
import { RedisServer } from "../server/dev/redis-server.js";
import { launch, type Spawned } from "./processes.js";

/** A redis-server of the benchmark's own, on a free loopback port, without persistence. */
export interface BenchRedis {
  port: number;
  url: string;
  pid: number;
  /** Key and channel prefix for the systems under test, unique to this run. */
  prefix: string;
  version: string;
  /**
   * CPU-seconds Redis has used so far: used_cpu_user + used_cpu_sys of `INFO cpu` (getrusage, in
   * microseconds; /proc/<pid>/stat counts in 10 ms ticks).
   */
  cpuSeconds(): Promise<number>;
  /** Drops every key, so that one trial's history does not weigh on the next. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts redis-server and waits until it accepts connections. */
export async function startRedis(): Promise<BenchRedis> {
  // Launched as a child of the benchmark: stopped with it, and its CPU counted as the bench's own.
  let spawned: Spawned | undefined;
  let server: RedisServer;
  try {
    server = await RedisServer.start(["--protected-mode", "yes"], {
      spawn: (command, args) => (spawned = launch("redis", command, args)).child,
    });
  } catch (error) {
    throw new Error(`redis-server did not start: ${(error as Error).message}\n${spawned?.tail() ?? ""}`, {
      cause: error,
    });
  }
  const admin = createClient({ url: server.url });
  admin.on("error", () => {}); // Reported by the command that fails.
  await admin.connect();
  const info = await admin.info("server");
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
  return {
    port: server.port,
    url: server.url,
    pid: spawned!.pid,
    prefix: `bench${process.pid}`,
    version,
    cpuSeconds: async () => {
      const info = await admin.info("cpu");
      const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? Number.NaN);
      return field("used_cpu_user") + field("used_cpu_sys");
    },
    flush: async () => {
      await admin.flushAll();
    },
    async stop() {
      await admin.quit().catch(() => undefined);
      await server.stop("SIGTERM");
    },
  };
}
