import { readFileSync } from "node:fs";

/** What the machine allows this process, read from Linux's /proc; undefined where unreadable. */
export interface MachineLimits {
  /** The soft limit of open files (RLIMIT_NOFILE) of this process, as Node.js raised it at start. */
  openFiles?: number;
  /** `net.core.somaxconn`: the longest listen backlog the kernel grants. */
  somaxconn?: number;
}

/** A whole number read from `text` by `pattern`'s first group, or undefined ("unlimited", no match). */
function wholeNumber(text: string | undefined, pattern: RegExp): number | undefined {
  const match = text === undefined ? null : pattern.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Reads the open-files soft limit and `somaxconn`. Node.js has no API for either; off Linux (or
 * in a sandbox without /proc) both are undefined and the configuration falls back to fixed values.
 *
 * @example
 * readMachineLimits(); // { openFiles: 20000, somaxconn: 4096 }
 */
export function readMachineLimits(): MachineLimits {
  // "Max open files            20000                20000                files"
  const openFiles = wholeNumber(readText("/proc/self/limits"), /^Max open files\s+(\d+)\s/m);
  const somaxconn = wholeNumber(readText("/proc/sys/net/core/somaxconn"), /^\s*(\d+)\s*$/);
  return { ...(openFiles !== undefined ? { openFiles } : {}), ...(somaxconn !== undefined ? { somaxconn } : {}) };
}

/** MAX_CONNECTIONS when the open-files limit cannot be read (off Linux). */
export const FALLBACK_MAX_CONNECTIONS = 10_000;

/**
 * Open files a node keeps for everything but client connections: 5 % of its limit, at least 256.
 * They hold its Redis connections (a few, plus one per master of a Redis Cluster for sharded
 * pub/sub), HTTP requests (probes, scrapes, the API, long-polling), connections still in their
 * handshake or being refused (each holds a file until it closes, which a connect storm at the cap
 * multiplies), stdio and logs, and libuv's own files. 256 covers them on a small limit (1024 leaves
 * 768 connections); 5 % keeps a connect storm at a large one (1,000 of 20,000) from reaching EMFILE.
 */
export const reservedFiles = (openFiles: number): number => Math.max(256, Math.ceil(openFiles * 0.05));

/**
 * The default MAX_CONNECTIONS: the open-files limit less `reservedFiles`, at least 1, or
 * FALLBACK_MAX_CONNECTIONS when the limit is unknown.
 *
 * @example
 * defaultMaxConnections({ openFiles: 20_000 }); // 19000
 */
export function defaultMaxConnections(machine: MachineLimits): number {
  const { openFiles } = machine;
  if (openFiles === undefined) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(1, openFiles - reservedFiles(openFiles));
}
