/**
 * `npm run cluster -- --nodes 3`: a local cluster for trying roomcast out. Starts a redis-server
 * on a free port (unless REDIS_URL is set) and N nodes, from the build in dist/, on consecutive
 * ports from PORT (3000), then prints their URLs. Open two of them in two browser tabs to watch
 * cross-node chat. Ctrl-C stops all.
 *
 * Runs from source with tsx; it is not part of the shipped build.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RedisServer } from "./redis-server.js";

const MAIN = fileURLToPath(new URL("../../dist/server/main.js", import.meta.url));
/** A node that is not ready after this long will not be. */
const READY_DEADLINE_MS = 60_000;
const READY_POLL_MS = 100;

const { values } = parseArgs({
  options: { nodes: { type: "string", default: "3" }, port: { type: "string", default: process.env.PORT ?? "3000" } },
});
const nodes = Number(values.nodes);
const basePort = Number(values.port);
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) throw new Error("--nodes must be 1 to 16");
if (!Number.isInteger(basePort) || basePort < 1 || basePort + nodes > 65535)
  throw new Error("--port must be a port number");
if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);

const children: ChildProcess[] = [];
let redis: RedisServer | undefined;
let stopping = false;

/** Stops the nodes (SIGTERM, so they leave in order), then the Redis this script started. */
async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  const exited = running.map((child) => new Promise((resolve) => child.once("exit", resolve)));
  for (const child of running) child.kill("SIGTERM");
  await Promise.all(exited);
  await redis?.stop("SIGTERM");
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

/** Stops the whole cluster when `child` exits on its own. */
function watch(child: ChildProcess, name: string): void {
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the cluster`);
      void stopAll(1);
    }
  });
}

/** Resolves once the node answers /readyz; no event announces that, so it asks every 100 ms. */
async function ready(url: string): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < deadline && !stopping) {
    const answered = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  throw new Error(`${url} did not become ready`);
}

let redisUrl = process.env.REDIS_URL ?? "";
if (redisUrl === "") {
  // In a process group of its own, so that Ctrl-C reaches only the nodes and this script: Redis
  // must outlive the nodes' orderly shutdown, and `stopAll` stops it after them.
  redis = await RedisServer.start([], {
    spawn: (command, args) => spawn(command, args, { stdio: ["ignore", "pipe", "inherit"], detached: true }),
  });
  const redisProcess = redis.process!;
  watch(redisProcess, "redis-server");
  // Whatever ends this script, it takes its Redis with it.
  process.on("exit", () => redisProcess.kill("SIGKILL"));
  redisUrl = redis.url;
}
const urls: string[] = [];
for (let index = 0; index < nodes; index += 1) {
  const port = basePort + index;
  const name = `node-${index + 1}`;
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      PORT: String(port),
      NODE_ID: name,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    },
    stdio: "inherit",
  });
  children.push(child);
  watch(child, name);
  urls.push(`http://localhost:${port}`);
}
try {
  await Promise.all(urls.map(ready));
} catch (error) {
  console.error((error as Error).message);
  void stopAll(1);
}
if (!stopping) {
  urls.forEach((url, index) => console.log(`node-${index + 1}: ${url}`));
  console.log(`Redis: ${redisUrl.replace(/\/\/[^@/]*@/, "//***@")}  (Ctrl-C stops everything)`);
}
