import { ConfigError } from "../config.js";

/** The Prometheus endpoint and the counting behind it. */
export interface MetricsConfig {
  /**
   * METRICS: whether the node counts anything and serves `GET /metrics`. `0` turns the registry
   * and every hook off (the bench compares both). @default true
   */
  enabled: boolean;
  /**
   * METRICS_TOKEN: when set, `GET /metrics` needs `Authorization: Bearer <token>`; unset, it is
   * open (scrapers usually reach nodes on a private network). At least 32 characters.
   */
  token?: string;
}

/** Shortest scrape token accepted, as for ADMIN_TOKEN: a short one can be guessed. */
const MIN_TOKEN_LENGTH = 32;

type Env = Record<string, string | undefined>;

/**
 * Reads METRICS and METRICS_TOKEN.
 *
 * @throws ConfigError naming the variable when a value is not allowed.
 * @example
 * readMetricsConfig({ METRICS: "0" }); // { enabled: false }
 */
export function readMetricsConfig(env: Env): MetricsConfig {
  const raw = (env.METRICS ?? "").trim().toLowerCase();
  if (!["", "0", "1", "true", "false"].includes(raw)) {
    throw new ConfigError("METRICS", `expected 1, 0, true or false, got "${raw}"`);
  }
  const enabled = raw !== "0" && raw !== "false";
  const token = (env.METRICS_TOKEN ?? "").trim();
  if (token !== "" && token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError("METRICS_TOKEN", `expected at least ${MIN_TOKEN_LENGTH} characters (or none)`);
  }
  return token === "" ? { enabled } : { enabled, token };
}
