import { createClient } from "redis";
import { HOST, freePort, waitForPort } from "./net.js";
import { launch, type Spawned } from "./processes.js";

/** A redis-server of the benchmark's own, on a free loopback port, without persistence. */
export interface BenchRedis {
  port: number;
  url: string;
  pid: number;
  /** Key and channel prefix for the systems under test, unique to this run. */
  prefix: string;
  version: string;
  /** Drops every key, so that one trial's history does not weigh on the next. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts redis-server and waits until it answers PING. */
export async function startRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const process_: Spawned = launch("redis", "redis-server", [
    "--port", String(port),
    "--bind", HOST,
    "--save", "",
    "--appendonly", "no",
    "--protected-mode", "yes",
    "--loglevel", "warning",
  ]);
  try {
    await waitForPort(port, 10_000, process_.alive);
  } catch (error) {
    await process_.stop();
    throw new Error(`redis-server did not start: ${(error as Error).message}\n${process_.tail()}`);
  }
  const url = `redis://${HOST}:${port}`;
  const admin = createClient({ url });
  admin.on("error", () => {}); // Reported by the command that fails.
  await admin.connect();
  const info = await admin.info("server");
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
  return {
    port,
    url,
    pid: process_.pid,
    prefix: `bench${process.pid}`,
    version,
    flush: async () => {
      await admin.flushAll();
    },
    async stop() {
      await admin.quit().catch(() => undefined);
      await process_.stop();
    },
  };
}
