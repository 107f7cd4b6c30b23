import { createPublicKey, X509Certificate } from "node:crypto";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import proxyAddr from "@fastify/proxy-addr";
import { defaultMaxConnections, readMachineLimits, type MachineLimits } from "./limits/machine.js";
import { readMetricsConfig, type MetricsConfig } from "./metrics/config.js";

/** Log levels pino understands. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The whole server configuration, read once at start-up. */
export interface Config {
  /** TCP port; 0 picks a free one (tests). @default 3000 */
  port: number;
  /** Interface to bind. @default "0.0.0.0" */
  host: string;
  /**
   * LISTEN_BACKLOG: connections the kernel queues for `accept` (a connect storm waits there), at
   * most the kernel's `net.core.somaxconn`. @default 4096
   */
  listenBacklog: number;
  /** LISTEN_BACKLOG as set, when above `somaxconn` and so lowered to it (a start-up warning). */
  requestedListenBacklog?: number;
  /**
   * MAX_CONNECTIONS: client connections (Socket.IO and seed-bridge sockets) this node holds. Past
   * it the node refuses new ones (`unavailable`, "node full") and `/readyz` answers 503; 0 means
   * no cap. @default the open-files limit less a reserve (`defaultMaxConnections`)
   */
  maxConnections: number;
  /** What the machine allowed at start: the defaults above derive from it. */
  machine: MachineLimits;
  /**
   * Redis seed URLs. Empty: one node with in-memory state. Several URLs, or `redisCluster`,
   * mean a Redis Cluster.
   */
  redisUrls: string[];
  /** Treat `redisUrls` as Redis Cluster seeds even when there is only one. @default false */
  redisCluster: boolean;
  /** Prefix of every Redis key and pub/sub channel, so that deployments can share a Redis. @default "rc" */
  redisPrefix: string;
  /** How rediss:// connections check the server's certificate. */
  redisTls: RedisTlsConfig;
  /** This node's name in the cluster; must be unique among live nodes. @default hostname-pid */
  nodeId: string;
  /**
   * WEB_CONCURRENCY: roomcast nodes this process runs, sharing its port through `node:cluster`.
   * Above 1 this process is only their primary; each worker is a node of the cluster (it needs
   * REDIS_URL). @default 1
   */
  webConcurrency: number;
  /** WEB_CONCURRENCY as set; more than `webConcurrency` when it was ignored (no REDIS_URL). */
  requestedWebConcurrency: number;
  /**
   * The NODE_ID of each worker when `webConcurrency` is above 1, `<NODE_ID or hostname>-<index>`
   * (a restarted worker keeps its index, so its name); empty otherwise.
   */
  workerNodeIds: string[];
  /** Origins allowed to open a socket; empty means the server's own origin only. */
  allowedOrigins: string[];
  /** Messages kept per room and per DM pair. @default 1000 */
  historySize: number;
  /** Longest message text in characters. @default 2000 */
  maxMessageLength: number;
  logLevel: LogLevel;
  /** Bearer token of the /admin endpoints, at least 32 characters; empty disables them. */
  adminToken: string;
  /**
   * Clients of the HTTP API at /api/v1 (API_TOKENS), with ADMIN_TOKEN among them as the admin-scope
   * client "admin". Empty: the API answers 404 (its OpenAPI document and docs are still served).
   */
  apiTokens: ApiToken[];
  /**
   * This deployment's public origin (e.g. `https://chat.example.com`). When set, and
   * ALLOWED_ORIGINS is not, it is the only origin allowed to open a socket.
   */
  publicUrl?: string;
  /** Which proxies' `X-Forwarded-For` is believed, as Fastify's `trustProxy` takes it. @default false */
  trustProxy: TrustProxy;
  /** Every abuse limit; each 0 turns that limit off. */
  limits: LimitsConfig;
  /** Rooms and DM logs expire this long after their last message. @default 30 days */
  historyTtlMs: number;
  /** How long a node's heartbeat lives; a node silent this long is presumed dead. @default 8000 */
  heartbeatTtlMs: number;
  /** How long SIGTERM may take before the process exits anyway. @default 25000 */
  shutdownTimeoutMs: number;
  /** Folder of the built browser page; the page is not served when it does not exist. */
  publicDir: string;
  /** How handshakes prove who they are: signed tokens, or open mode with name claims. */
  auth: AuthConfig;
  /** The original demo's plain WebSocket protocol, served beside Socket.IO. */
  bridge: BridgeConfig;
  /** METRICS and METRICS_TOKEN: what the node counts, and who may read `GET /metrics`. */
  metrics: MetricsConfig;
  /**
   * FAST_BROADCAST: write a broadcast's pre-encoded WebSocket frame straight to the connections
   * that can take it now, past engine.io's queue (`plugins/fast-broadcast.ts`); `0` leaves every
   * write to engine.io (the bench compares both). @default true
   */
  fastBroadcast: boolean;
}

/** How rediss:// connections check the Redis server's certificate (PaaS add-ons often sign their own). */
export interface RedisTlsConfig {
  /**
   * REDIS_TLS_CA: PEM certificates to trust for Redis instead of Node's default CAs, e.g. the
   * self-signed CA of an add-on. Undefined: the default CAs.
   */
  ca?: string;
  /**
   * REDIS_TLS_REJECT_UNAUTHORIZED: refuse a server whose certificate does not verify. `false`
   * encrypts without knowing who answers; a warning is logged at start. @default true
   */
  rejectUnauthorized: boolean;
}

/** The bridge that serves the original demo's protocol on `/websocket/{room}/{user}`. */
export interface BridgeConfig {
  /** SEED_BRIDGE: whether the bridge is served. @default true */
  enabled: boolean;
  /** BRIDGE_TIME_ZONE: the IANA zone of the `date` field; undefined means the server's. */
  timeZone?: string;
  /** BRIDGE_ESCAPE_HTML: HTML-escape `sender` and `msg`, which the original page renders as HTML. @default true */
  escapeHtml: boolean;
}

/**
 * Which peers may tell the client's address in `X-Forwarded-For`: none (false), every one (true),
 * this many hops in front of the node, or these addresses and subnets.
 */
export type TrustProxy = boolean | number | string[];

/** The abuse limits. Per-user limits are summed over every socket of the user on every node. */
export interface LimitsConfig {
  /** Sustained `room:send` and `dm:send` per user, per second. @default 20 */
  sendsPerSecond: number;
  /** Sends a user may make at once before the sustained rate applies. @default 60 */
  sendBurst: number;
  /** `room:join` per user, per minute. @default 120 */
  joinsPerMinute: number;
  /** `room:history` per user, per minute. @default 300 */
  historyPerMinute: number;
  /** `rooms:list` per user, per minute. @default 60 */
  roomsListPerMinute: number;
  /** `typing` per user, per second. @default 5 */
  typingPerSecond: number;
  /** Concurrent sockets per client address, cluster-wide. @default 1000 */
  socketsPerIp: number;
  /** Handshakes per client address, per minute, cluster-wide. @default 600 */
  handshakesPerIpPerMinute: number;
  /** Concurrent sockets per user, cluster-wide. @default 20 */
  socketsPerUser: number;
  /** Rooms one socket may be in. @default 100 */
  roomsPerSocket: number;
  /** Members listed in a `room:join` answer; a larger room answers these and a count. @default 100 */
  joinMembersListed: number;
  /** Rooms with more members than this hear joins and leaves in `room:presence:batch`es. @default 1000 */
  presenceBatchAbove: number;
  /** How long a presence batch gathers events before it is sent, ms. @default 1000 */
  presenceBatchMs: number;
  /** DMs held for one offline user. @default 1000 */
  dmsHeldPerRecipient: number;
  /** DMs of one sender held in all inboxes together. @default 200 */
  dmsHeldPerSender: number;
  /** Bytes a connection may have waiting to be written to it before it is dropped. @default 1 MiB */
  clientQueueBytes: number;
  /**
   * A connection with bytes waiting and nothing written to it for this long reads nothing, and is
   * dropped (its pongs prove nothing). @default 45000, Socket.IO's ping interval plus timeout
   */
  clientStallMs: number;
  /** Requests of one connection still being answered before it is dropped (a reconnect rejoins every room at once). @default 256 */
  pendingRequestsPerSocket: number;
  /** Failed admin sign-ins per client address, per minute. @default 10 */
  adminFailuresPerMinute: number;
}

/** What an API token may do: `publish` messages, `read` state, or everything (`admin`). */
export const API_SCOPES = ["publish", "read", "admin"] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** One client of the HTTP API: its name (for logs), its scope, and its bearer token. */
export interface ApiToken {
  name: string;
  scope: ApiScope;
  token: string;
}

/** The key that verifies tokens; only one may be configured. */
export type TokenKey =
  { kind: "secret"; secret: string } | { kind: "public-key"; pem: string } | { kind: "jwks"; url: string };

export interface AuthConfig {
  /**
   * Token mode when set (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL): every handshake
   * needs a signed JWT. Unset: open mode, where a name may be claimed with a key.
   */
  tokenKey?: TokenKey;
  /** Checked against the token's `iss` when set. */
  issuer?: string;
  /** Checked against the token's `aud` when set. */
  audience?: string;
  /** A claimed name is released after this many days without a connection. @default 30 */
  nameClaimTtlDays: number;
}

/** A configuration value that stops start-up. Its message names the variable. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`invalid ${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(name, `expected ${min} to ${max}, got ${value}`);
  }
  return value;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** Whether a Redis URL asks for TLS (rediss://). */
export const isTlsUrl = (url: string): boolean => url.trim().toLowerCase().startsWith("rediss:");

/** A PEM in one environment variable often comes with its line breaks written as "\n". */
const pemFrom = (raw: string | undefined): string => (raw ?? "").replace(/\\n/g, "\n").trim();

function redisUrls(env: Env): string[] {
  const urls = list(env, "REDIS_URL");
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError("REDIS_URL", `"${redact(url)}" is not a URL`);
    }
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
      throw new ConfigError("REDIS_URL", `expected redis:// or rediss://, got "${parsed.protocol}"`);
    }
  }
  // The seeds are one Redis Cluster, whose nodes are all reached one way (node-redis applies one
  // socket setting to the nodes it discovers).
  if (new Set(urls.map(isTlsUrl)).size > 1) {
    throw new ConfigError("REDIS_URL", "expected every URL to be redis://, or every one rediss://");
  }
  return urls;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function redisTls(env: Env): RedisTlsConfig {
  const ca = pemFrom(env.REDIS_TLS_CA);
  if (ca !== "") {
    const certificates = ca.match(PEM_CERTIFICATE) ?? [];
    try {
      if (certificates.length === 0) throw new Error("no certificate");
      for (const certificate of certificates) new X509Certificate(certificate);
    } catch {
      throw new ConfigError("REDIS_TLS_CA", "expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)");
    }
  }
  return {
    ...(ca !== "" ? { ca } : {}),
    rejectUnauthorized: flag(env, "REDIS_TLS_REJECT_UNAUTHORIZED", true),
  };
}

function origins(env: Env): string[] {
  return list(env, "ALLOWED_ORIGINS").map((origin) => {
    if (origin === "*") return origin;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError("ALLOWED_ORIGINS", `"${origin}" is not an origin like https://chat.example.com`);
    }
    return parsed.origin;
  });
}

function flag(env: Env, name: string, fallback = false): boolean {
  const raw = (env[name] ?? "").trim().toLowerCase();
  if (raw === "") return fallback;
  if (raw === "0" || raw === "false") return false;
  if (raw === "1" || raw === "true") return true;
  throw new ConfigError(name, `expected 1, 0, true or false, got "${raw}"`);
}

function trustProxy(env: Env): TrustProxy {
  const raw = (env.TRUST_PROXY ?? "").trim();
  if (raw === "" || raw === "false" || raw === "0") return false;
  if (raw === "true") return true;
  if (/^\d+$/.test(raw)) return integer(env, "TRUST_PROXY", 0, 0, 100);
  const addresses = list(env, "TRUST_PROXY");
  try {
    proxyAddr.compile(addresses);
  } catch (error) {
    throw new ConfigError("TRUST_PROXY", `expected true, a hop count, or addresses and subnets: ${String(error)}`);
  }
  return addresses;
}

function publicUrl(env: Env): string | undefined {
  const raw = (env.PUBLIC_URL ?? "").trim();
  if (raw === "") return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError("PUBLIC_URL", `"${raw}" is not a URL like https://chat.example.com`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new ConfigError("PUBLIC_URL", `expected https:// or http://, got "${parsed.protocol}"`);
  }
  return parsed.origin;
}

/** Shortest admin token accepted: a short one can be guessed, whatever limits attempts. */
const MIN_ADMIN_TOKEN_LENGTH = 32;

function adminToken(env: Env): string {
  const token = (env.ADMIN_TOKEN ?? "").trim();
  if (token !== "" && token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError("ADMIN_TOKEN", `expected at least ${MIN_ADMIN_TOKEN_LENGTH} characters (or none)`);
  }
  return token;
}

/** An API client's name: it appears in logs. */
const API_CLIENT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** RFC 6750's b64token: what an `Authorization: Bearer` header can carry as it is. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * API_TOKENS, `name:scope:token,...`, with ADMIN_TOKEN added as the admin-scope client "admin".
 * A refusal names the entry (by its name, or by its position when it has none) but never quotes
 * a token.
 */
function apiTokens(env: Env, adminToken: string): ApiToken[] {
  const tokens: ApiToken[] = list(env, "API_TOKENS").map((entry, index) => {
    const parts = entry.split(":").map((part) => part.trim());
    if (parts.length !== 3) {
      throw new ConfigError("API_TOKENS", `entry ${index + 1} is not name:scope:token`);
    }
    const [name, scope, token] = parts as [string, string, string];
    if (!API_CLIENT_NAME.test(name)) {
      throw new ConfigError(
        "API_TOKENS",
        `entry ${index + 1}: the name must be 1 to 64 characters of A-Z a-z 0-9 _ . -`,
      );
    }
    if (!(API_SCOPES as readonly string[]).includes(scope)) {
      throw new ConfigError("API_TOKENS", `"${name}": the scope must be ${API_SCOPES.join(", ")}`);
    }
    if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
      throw new ConfigError("API_TOKENS", `"${name}": the token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
    }
    if (!BEARER_TOKEN.test(token)) {
      throw new ConfigError(
        "API_TOKENS",
        `"${name}": the token may hold only A-Z a-z 0-9 - . _ ~ + / (and = at its end)`,
      );
    }
    return { name, scope: scope as ApiScope, token };
  });
  if (adminToken !== "") {
    if (tokens.some((client) => client.name === "admin")) {
      throw new ConfigError("API_TOKENS", `"admin" is the name of ADMIN_TOKEN's client: pick another`);
    }
    tokens.push({ name: "admin", scope: "admin", token: adminToken });
  }
  const seen = new Map<string, string>();
  for (const { name, token } of tokens) {
    if (tokens.filter((client) => client.name === name).length > 1) {
      throw new ConfigError("API_TOKENS", `"${name}" names more than one entry`);
    }
    const twin = seen.get(token);
    // One token for two names would leave the logs unable to say which client called.
    if (twin !== undefined) throw new ConfigError("API_TOKENS", `"${twin}" and "${name}" have the same token`);
    seen.set(token, name);
  }
  return tokens;
}

const MAX = 1_000_000_000;

function limitsConfig(env: Env): LimitsConfig {
  return {
    sendsPerSecond: integer(env, "RATE_LIMIT_PER_SECOND", 20, 0, MAX),
    sendBurst: integer(env, "RATE_LIMIT_BURST", 60, 1, MAX),
    joinsPerMinute: integer(env, "JOINS_PER_MINUTE", 120, 0, MAX),
    historyPerMinute: integer(env, "HISTORY_PER_MINUTE", 300, 0, MAX),
    roomsListPerMinute: integer(env, "ROOMS_LIST_PER_MINUTE", 60, 0, MAX),
    typingPerSecond: integer(env, "TYPING_PER_SECOND", 5, 0, MAX),
    socketsPerIp: integer(env, "SOCKETS_PER_IP", 1000, 0, MAX),
    handshakesPerIpPerMinute: integer(env, "HANDSHAKES_PER_IP_PER_MINUTE", 600, 0, MAX),
    socketsPerUser: integer(env, "SOCKETS_PER_USER", 20, 0, MAX),
    roomsPerSocket: integer(env, "ROOMS_PER_SOCKET", 100, 0, MAX),
    joinMembersListed: integer(env, "JOIN_MEMBERS_LISTED", 100, 1, 100_000),
    presenceBatchAbove: integer(env, "PRESENCE_BATCH_ABOVE", 1000, 0, MAX),
    presenceBatchMs: integer(env, "PRESENCE_BATCH_MS", 1000, 10, 60_000),
    dmsHeldPerRecipient: integer(env, "DMS_HELD_PER_RECIPIENT", 1000, 1, 1_000_000),
    dmsHeldPerSender: integer(env, "DMS_HELD_PER_SENDER", 200, 1, 1_000_000),
    clientQueueBytes: integer(env, "CLIENT_QUEUE_BYTES", 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    clientStallMs: integer(env, "CLIENT_STALL_MS", 45_000, 1000, 3_600_000),
    pendingRequestsPerSocket: integer(env, "PENDING_REQUESTS_PER_SOCKET", 256, 1, 100_000),
    adminFailuresPerMinute: integer(env, "ADMIN_FAILURES_PER_MINUTE", 10, 0, MAX),
  };
}

/** A setting that is allowed but that an operator should hear about. */
export interface ConfigWarning {
  variable: string;
  message: string;
}

/**
 * What `config` allows but an operator should be told once at start-up; the node logs these
 * (reading the configuration prints nothing).
 *
 * REDIS_TLS_* without a rediss:// URL is a warning, not an error: it weakens nothing, and a
 * one-click deploy that sets REDIS_TLS_REJECT_UNAUTHORIZED=0 for its add-on must still start on a
 * plan that hands out a redis:// URL.
 */
export function configWarnings(config: Config): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const { ca, rejectUnauthorized } = config.redisTls;
  const tls = config.redisUrls.some(isTlsUrl);
  if (tls && !rejectUnauthorized) {
    warnings.push({
      variable: "REDIS_TLS_REJECT_UNAUTHORIZED",
      message:
        "the Redis server's certificate is not verified: the connection is encrypted, but anyone on " +
        "the network path could pose as Redis (set REDIS_TLS_CA to its CA instead, where the provider gives it)",
    });
  }
  if (config.requestedWebConcurrency > config.webConcurrency) {
    warnings.push({
      variable: "WEB_CONCURRENCY",
      message:
        `ignored: ${config.requestedWebConcurrency} processes need REDIS_URL to share their state; ` +
        "without it this process runs one node",
    });
  }
  if (config.requestedListenBacklog !== undefined) {
    warnings.push({
      variable: "LISTEN_BACKLOG",
      message:
        `lowered from ${config.requestedListenBacklog} to ${config.listenBacklog}, the kernel's net.core.somaxconn ` +
        "(raise it with sysctl for a longer backlog)",
    });
  }
  const withReserve = defaultMaxConnections(config.machine);
  if (config.machine.openFiles !== undefined && config.maxConnections > withReserve) {
    warnings.push({
      variable: "MAX_CONNECTIONS",
      message:
        `${config.maxConnections} leaves too few of the ${config.machine.openFiles} files this process may open ` +
        `for Redis, HTTP and logs: past ${withReserve} connections, new ones may fail with EMFILE instead of "node full"`,
    });
  }
  if (!tls && (ca !== undefined || !rejectUnauthorized)) {
    warnings.push({
      variable: ca !== undefined ? "REDIS_TLS_CA" : "REDIS_TLS_REJECT_UNAUTHORIZED",
      message: "ignored: it applies to rediss:// connections, and REDIS_URL is not rediss://",
    });
  }
  return warnings;
}

/** Hides the password of a Redis URL, so that it can be logged. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}

/** How long a name claim lasts without a connection, in milliseconds. */
export const claimTtlMs = (config: Pick<Config, "auth">): number => config.auth.nameClaimTtlDays * 24 * 60 * 60 * 1000;

/** Shortest HMAC secret accepted: a guessable secret would let anyone mint tokens. */
const MIN_SECRET_LENGTH = 32;

function tokenKey(env: Env): TokenKey | undefined {
  const secret = env.AUTH_JWT_SECRET ?? "";
  const pem = pemFrom(env.AUTH_JWT_PUBLIC_KEY);
  const jwksUrl = (env.AUTH_JWKS_URL ?? "").trim();
  const given = [secret !== "", pem !== "", jwksUrl !== ""].filter(Boolean).length;
  if (given > 1) {
    throw new ConfigError("AUTH_JWT_SECRET", "set only one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY and AUTH_JWKS_URL");
  }
  if (secret !== "") {
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new ConfigError("AUTH_JWT_SECRET", `expected at least ${MIN_SECRET_LENGTH} characters`);
    }
    return { kind: "secret", secret };
  }
  if (pem !== "") {
    try {
      createPublicKey(pem);
    } catch {
      throw new ConfigError("AUTH_JWT_PUBLIC_KEY", "expected a PEM public key (-----BEGIN PUBLIC KEY-----)");
    }
    return { kind: "public-key", pem };
  }
  if (jwksUrl !== "") {
    let parsed: URL;
    try {
      parsed = new URL(jwksUrl);
    } catch {
      throw new ConfigError("AUTH_JWKS_URL", `"${jwksUrl}" is not a URL`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw new ConfigError("AUTH_JWKS_URL", `expected https:// or http://, got "${parsed.protocol}"`);
    }
    return { kind: "jwks", url: parsed.href };
  }
  return undefined;
}

function authConfig(env: Env): AuthConfig {
  const issuer = (env.AUTH_JWT_ISSUER ?? "").trim();
  const audience = (env.AUTH_JWT_AUDIENCE ?? "").trim();
  return {
    tokenKey: tokenKey(env),
    ...(issuer !== "" ? { issuer } : {}),
    ...(audience !== "" ? { audience } : {}),
    nameClaimTtlDays: integer(env, "NAME_CLAIM_TTL_DAYS", 30, 1, 3650),
  };
}

function bridgeConfig(env: Env): BridgeConfig {
  const timeZone = (env.BRIDGE_TIME_ZONE ?? "").trim();
  if (timeZone !== "") {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone });
    } catch {
      throw new ConfigError("BRIDGE_TIME_ZONE", `expected an IANA time zone like Asia/Shanghai, got "${timeZone}"`);
    }
  }
  return {
    enabled: flag(env, "SEED_BRIDGE", true),
    ...(timeZone !== "" ? { timeZone } : {}),
    escapeHtml: flag(env, "BRIDGE_ESCAPE_HTML", true),
  };
}

/** LISTEN_BACKLOG's default: a connect storm of thousands of handshakes waits in the kernel, not refused. */
const DEFAULT_LISTEN_BACKLOG = 4096;

/** LISTEN_BACKLOG, lowered to `somaxconn` (the kernel would lower it silently); the value set when it was. */
function listenBacklog(env: Env, machine: MachineLimits): Pick<Config, "listenBacklog" | "requestedListenBacklog"> {
  const requested = integer(env, "LISTEN_BACKLOG", DEFAULT_LISTEN_BACKLOG, 1, MAX);
  const granted = Math.min(requested, machine.somaxconn ?? requested);
  // Only a value the operator set is worth a warning: the default follows the machine quietly.
  const set = (env.LISTEN_BACKLOG ?? "").trim() !== "";
  return granted < requested && set
    ? { listenBacklog: granted, requestedListenBacklog: requested }
    : { listenBacklog: granted };
}

/** What a node id may be: it appears in Redis keys and logs. */
const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** Most processes one dyno may run; Heroku's buildpack sets WEB_CONCURRENCY from the dyno's memory. */
const MAX_WEB_CONCURRENCY = 256;

function workerNodeIds(env: Env, workers: number): string[] {
  if (workers === 1) return [];
  // The index, not the pid: a worker restarted in the same place comes back under the same name.
  const base = (env.NODE_ID ?? "").trim() || hostname();
  const ids = Array.from({ length: workers }, (_, index) => `${base}-${index}`);
  if (!ids.every((id) => NODE_ID.test(id))) {
    throw new ConfigError(
      "NODE_ID",
      `with WEB_CONCURRENCY=${workers} each worker is named NODE_ID-<index> (or hostname-<index>): ` +
        `expected at most ${64 - `-${workers - 1}`.length} characters of A-Z a-z 0-9 _ . -`,
    );
  }
  return ids;
}

/**
 * Reads and validates the configuration from environment variables.
 *
 * @param machine What the machine allows (read from /proc by default): MAX_CONNECTIONS and
 *   LISTEN_BACKLOG derive from it.
 * @throws ConfigError naming the first bad variable.
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Env = process.env, machine: MachineLimits = readMachineLimits()): Config {
  const logLevel = (env.LOG_LEVEL ?? "info").trim() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", `expected one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const nodeId = (env.NODE_ID ?? "").trim() || `${hostname()}-${process.pid}`;
  if (!NODE_ID.test(nodeId)) {
    throw new ConfigError("NODE_ID", "expected 1 to 64 characters of A-Z a-z 0-9 _ . -");
  }
  const urls = redisUrls(env);
  const requestedWebConcurrency = integer(env, "WEB_CONCURRENCY", 1, 1, MAX_WEB_CONCURRENCY);
  // Heroku's buildpack sets WEB_CONCURRENCY from the dyno's memory: an app without Redis must still
  // start, as the one node it can be (embedded state cannot be shared), and say so (configWarnings).
  const webConcurrency = urls.length === 0 ? 1 : requestedWebConcurrency;
  const redisPrefix = (env.REDIS_PREFIX ?? "rc").trim();
  if (!/^[A-Za-z0-9_.:-]{1,32}$/.test(redisPrefix)) {
    throw new ConfigError("REDIS_PREFIX", "expected 1 to 32 characters of A-Z a-z 0-9 _ . : -");
  }
  return {
    port: integer(env, "PORT", 3000, 0, 65535),
    host: (env.HOST ?? "").trim() || "0.0.0.0",
    ...listenBacklog(env, machine),
    maxConnections: integer(env, "MAX_CONNECTIONS", defaultMaxConnections(machine), 0, MAX),
    machine,
    redisUrls: urls,
    redisCluster: flag(env, "REDIS_CLUSTER"),
    redisPrefix,
    redisTls: redisTls(env),
    nodeId,
    webConcurrency,
    requestedWebConcurrency,
    workerNodeIds: workerNodeIds(env, webConcurrency),
    allowedOrigins: origins(env),
    historySize: integer(env, "HISTORY_SIZE", 1000, 1, 1_000_000),
    maxMessageLength: integer(env, "MAX_MESSAGE_LENGTH", 2000, 1, 60_000),
    logLevel,
    adminToken: adminToken(env),
    apiTokens: apiTokens(env, adminToken(env)),
    ...(publicUrl(env) !== undefined ? { publicUrl: publicUrl(env) } : {}),
    trustProxy: trustProxy(env),
    limits: limitsConfig(env),
    historyTtlMs: integer(env, "HISTORY_TTL_DAYS", 30, 1, 3650) * 24 * 60 * 60 * 1000,
    heartbeatTtlMs: integer(env, "HEARTBEAT_TTL_MS", 8000, 500, 600_000),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 25_000, 1000, 600_000),
    // The page is built next to the compiled server: dist/public beside dist/server.
    publicDir: (env.PUBLIC_DIR ?? "").trim() || fileURLToPath(new URL("../public/", import.meta.url)),
    auth: authConfig(env),
    bridge: bridgeConfig(env),
    metrics: readMetricsConfig(env),
    fastBroadcast: flag(env, "FAST_BROADCAST", true),
  };
}
