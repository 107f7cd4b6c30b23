import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./paths.js";

function packageVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as {
      version?: string;
    };
    return manifest.version ?? "unknown";
  } catch {
    return "missing";
  }
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/** The versions of everything measured, for the results file. */
export function versions(redisServer: string): Record<string, string> {
  const roomcast = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const commit = git(["rev-parse", "--short", "HEAD"]);
  const dirty = git(["status", "--porcelain", "--", "server", "protocol"]) !== "";
  return {
    roomcast: `${roomcast.version} (${commit || "no git"}${dirty ? ", uncommitted server changes" : ""})`,
    node: process.version,
    "redis-server": redisServer,
    "socket.io": packageVersion("socket.io"),
    "socket.io-client": packageVersion("socket.io-client"),
    "engine.io": packageVersion("engine.io"),
    "@socket.io/redis-adapter": packageVersion("@socket.io/redis-adapter"),
    redis: packageVersion("redis"),
    ws: packageVersion("ws"),
  };
}
