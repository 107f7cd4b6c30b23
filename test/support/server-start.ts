/** Starting the built server as a process, to see how a configuration stops it. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { within } from "./clients.js";

const MAIN = fileURLToPath(new URL("../../dist/server/main.js", import.meta.url));

/** How a server process ended, and everything it printed. */
export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the server with `env` on top of a clean, valid configuration (a free port on loopback, in
 * memory). Nothing else of this environment reaches it but PATH, so no variable the host sets can
 * change what is tested. A process that prints to stdout has started logging, so it is stopped
 * there: a bad value must stop it before it prints anything.
 */
export function runServer(env: Record<string, string>): Promise<Outcome> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    child.kill("SIGKILL");
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<Outcome>((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
  // A cold Node.js start on a busy machine can take a few seconds.
  return within(closed, `the server with ${JSON.stringify(env)} to exit`, 30_000).finally(() => child.kill("SIGKILL"));
}
