/**
 * `npm run cluster -- --nodes 3`: a local cluster for trying roomcast out. Starts a redis-server
 * on a free port (unless REDIS_URL is set) and N nodes on consecutive ports from PORT (3000), then
 * prints their URLs. Open two of them in two browser tabs to watch cross-node chat. Ctrl-C stops all.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { nodes: { type: "string", default: "3" }, port: { type: "string", default: process.env.PORT ?? "3000" } },
});
const nodes = Number(values.nodes);
const basePort = Number(values.port);
if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) throw new Error("--nodes must be 1 to 16");
if (!Number.isInteger(basePort) || basePort < 1 || basePort + nodes > 65535) throw new Error("--port must be a port number");

const children: ChildProcess[] = [];
let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill("SIGTERM");
  process.exitCode = code;
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function watch(child: ChildProcess, name: string): void {
  children.push(child);
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the cluster`);
      stopAll(1);
    }
  });
}

async function startRedis(): Promise<string> {
  const port = await freePort();
  const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  watch(redis, "redis-server");
  await new Promise<void>((resolve, reject) => {
    redis.once("error", reject);
    redis.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("Ready to accept connections")) resolve();
    });
  });
  redis.stdout!.resume();
  return `redis://127.0.0.1:${port}`;
}

/** Resolves once the node answers /readyz, checking every 100 ms for up to 60 s. */
async function ready(url: string): Promise<void> {
  for (let attempt = 0; attempt < 600 && !stopping; attempt += 1) {
    const answered = await fetch(`${url}/readyz`).then((response) => response.ok, () => false);
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become ready`);
}

const redisUrl = process.env.REDIS_URL || (await startRedis());
const main = fileURLToPath(new URL("../main.js", import.meta.url));
const urls: string[] = [];
for (let index = 0; index < nodes; index += 1) {
  const port = basePort + index;
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, REDIS_URL: redisUrl, PORT: String(port), NODE_ID: `node-${index + 1}`, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn" },
    stdio: "inherit",
  });
  watch(child, `node-${index + 1}`);
  urls.push(`http://localhost:${port}`);
}
try {
  await Promise.all(urls.map(ready));
} catch (error) {
  console.error((error as Error).message);
  stopAll(1);
}
if (!stopping) {
  urls.forEach((url, index) => console.log(`node-${index + 1}: ${url}`));
  console.log(`Redis: ${redisUrl.replace(/\/\/[^@/]*@/, "//***@")}  (Ctrl-C stops everything)`);
}
