import type { FastifyBaseLogger } from "fastify";
import { loadConfig } from "../../server/config.js";
import type { PresenceLog } from "../../server/presence/redis.js";
import { openRedis, type RedisHandles } from "../../server/redis/connection.js";
import type { RedisServer } from "../support/redis-server.js";

/** Upper bound of one wait in these tests (a deadline, not a sleep). */
export const DEADLINE_MS = 10_000;

const ignore = (): void => {};

/** A Fastify logger that writes nothing, for the Redis connection under test. */
export const silentLog: FastifyBaseLogger = {
  level: "silent",
  fatal: ignore,
  error: ignore,
  warn: ignore,
  info: ignore,
  debug: ignore,
  trace: ignore,
  silent: ignore,
  child: () => silentLog,
};

/** One call a store made to its log. */
export interface LogLine {
  level: keyof PresenceLog;
  object: Record<string, unknown>;
  message: string;
}

/** A presence log that keeps every line, so that a test can count them. */
export class RecordingLog implements PresenceLog {
  readonly lines: LogLine[] = [];
  readonly error = this.recorder("error");
  readonly warn = this.recorder("warn");
  readonly info = this.recorder("info");
  readonly debug = this.recorder("debug");

  /** Lines of `level` whose message starts with `prefix`. */
  count(level: keyof PresenceLog, prefix: string): number {
    return this.lines.filter((line) => line.level === level && line.message.startsWith(prefix)).length;
  }

  private recorder(level: keyof PresenceLog) {
    return (object: object, message: string): void => {
      this.lines.push({ level, object: object as Record<string, unknown>, message });
    };
  }
}

/** Opens Redis the way a node does: `openRedis` with a configuration read by `loadConfig`. */
export function openTestRedis(server: RedisServer, prefix: string, nodeId: string): Promise<RedisHandles> {
  const config = loadConfig({ REDIS_URL: server.url, REDIS_PREFIX: prefix, NODE_ID: nodeId, LOG_LEVEL: "silent" });
  return openRedis(config, silentLog);
}
