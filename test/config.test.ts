/**
 * The configuration: `loadConfig`'s defaults and bounds, and the promise that a bad value stops
 * the real process (dist/server/main.js) with one line on stderr naming the variable.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, configWarnings, loadConfig, type LimitsConfig } from "../server/config.js";
import { FALLBACK_MAX_CONNECTIONS, readMachineLimits } from "../server/limits/machine.js";
import { runServer } from "./support/server-start.js";

/** The README's defaults of the abuse limits: variable → [key in `config.limits`, default, min, max]. */
const LIMIT_DEFAULTS: Record<string, [keyof LimitsConfig, number, number, number]> = {
  RATE_LIMIT_PER_SECOND: ["sendsPerSecond", 20, 0, 1_000_000_000],
  RATE_LIMIT_BURST: ["sendBurst", 60, 1, 1_000_000_000],
  JOINS_PER_MINUTE: ["joinsPerMinute", 120, 0, 1_000_000_000],
  HISTORY_PER_MINUTE: ["historyPerMinute", 300, 0, 1_000_000_000],
  ROOMS_LIST_PER_MINUTE: ["roomsListPerMinute", 60, 0, 1_000_000_000],
  TYPING_PER_SECOND: ["typingPerSecond", 5, 0, 1_000_000_000],
  SOCKETS_PER_IP: ["socketsPerIp", 1000, 0, 1_000_000_000],
  HANDSHAKES_PER_IP_PER_MINUTE: ["handshakesPerIpPerMinute", 600, 0, 1_000_000_000],
  SOCKETS_PER_USER: ["socketsPerUser", 20, 0, 1_000_000_000],
  ROOMS_PER_SOCKET: ["roomsPerSocket", 100, 0, 1_000_000_000],
  JOIN_MEMBERS_LISTED: ["joinMembersListed", 100, 1, 100_000],
  PRESENCE_BATCH_ABOVE: ["presenceBatchAbove", 1000, 0, 1_000_000_000],
  PRESENCE_BATCH_MS: ["presenceBatchMs", 1000, 10, 60_000],
  DMS_HELD_PER_RECIPIENT: ["dmsHeldPerRecipient", 1000, 1, 1_000_000],
  DMS_HELD_PER_SENDER: ["dmsHeldPerSender", 200, 1, 1_000_000],
  CLIENT_QUEUE_BYTES: ["clientQueueBytes", 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024],
  CLIENT_STALL_MS: ["clientStallMs", 45_000, 1000, 3_600_000],
  PENDING_REQUESTS_PER_SOCKET: ["pendingRequestsPerSocket", 256, 1, 100_000],
  ADMIN_FAILURES_PER_MINUTE: ["adminFailuresPerMinute", 10, 0, 1_000_000_000],
};

describe("a bad configuration value stops the process with one line naming the variable", () => {
  const cases: [variable: string, value: string][] = [
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["HISTORY_SIZE", "0"],
    ["REDIS_URL", "http://x"],
    ["LOG_LEVEL", "loud"],
    ["NODE_ID", "a b"],
    ["REDIS_CLUSTER", "yes"],
    ["SHUTDOWN_TIMEOUT_MS", "5"],
    ["BRIDGE_TIME_ZONE", "Mars/Olympus"],
    ["SEED_BRIDGE", "maybe"],
    ["REDIS_TLS_CA", "not a certificate"],
    ["REDIS_TLS_REJECT_UNAUTHORIZED", "no"],
    ["WEB_CONCURRENCY", "two"],
    ["MAX_CONNECTIONS", "-1"],
    ["LISTEN_BACKLOG", "0"],
  ];
  for (const [variable, value] of cases) {
    it(`${variable}=${JSON.stringify(value)}`, async () => {
      const outcome = await runServer({ [variable]: value });
      expect(outcome.stdout).toBe("");
      expect(outcome.code).toBe(1);
      const lines = outcome.stderr.split("\n");
      // Exactly one line (and its newline).
      expect(lines).toHaveLength(2);
      expect(lines[1]).toBe("");
      expect(lines[0]).toMatch(new RegExp(`^roomcast: invalid ${variable}: \\S`));
    });
  }

  it("quotes the value it refused, as the README's example shows", async () => {
    const outcome = await runServer({ PORT: "abc" });
    expect(outcome).toEqual({
      code: 1,
      stdout: "",
      stderr: 'roomcast: invalid PORT: expected a whole number, got "abc"\n',
    });
  });

  it("does not print the password of a REDIS_URL it cannot parse", async () => {
    const outcome = await runServer({ REDIS_URL: "redis://user:hunter2-secret@host:notaport" });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/^roomcast: invalid REDIS_URL: .*\n$/);
    expect(outcome.stderr).not.toContain("hunter2-secret");
  });
});

/** The message `loadConfig(env)` throws, or undefined when it accepts `env`. */
function refusal(env: Record<string, string>): string | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

describe("loadConfig", () => {
  it("has the README's defaults when nothing is set", () => {
    const config = loadConfig({});
    // Each variable of the README's table; settings added later have tests of their own.
    expect(config).toMatchObject({
      port: 3000,
      host: "0.0.0.0",
      redisUrls: [],
      redisCluster: false,
      redisPrefix: "rc",
      nodeId: `${hostname()}-${process.pid}`,
      allowedOrigins: [],
      historySize: 1000,
      maxMessageLength: 2000,
      logLevel: "info",
      adminToken: "",
      trustProxy: false,
      historyTtlMs: 30 * 24 * 60 * 60 * 1000,
      heartbeatTtlMs: 8000,
      shutdownTimeoutMs: 25_000,
      publicDir: expect.stringMatching(/[/\\]public[/\\]?$/),
    });
    expect(config.publicUrl).toBeUndefined();
    expect(config.limits).toEqual(
      Object.fromEntries(Object.values(LIMIT_DEFAULTS).map(([key, fallback]) => [key, fallback])),
    );
  });

  it("treats an empty or blank number, HOST or NODE_ID as unset", () => {
    for (const blank of ["", "  "]) {
      const config = loadConfig({
        PORT: blank,
        HISTORY_SIZE: blank,
        SHUTDOWN_TIMEOUT_MS: blank,
        HOST: blank,
        NODE_ID: blank,
      });
      expect(config, JSON.stringify(blank)).toMatchObject({
        port: 3000,
        historySize: 1000,
        shutdownTimeoutMs: 25_000,
        host: "0.0.0.0",
        nodeId: `${hostname()}-${process.pid}`,
      });
    }
  });

  const integers: [variable: string, key: string, min: number, max: number][] = [
    ["PORT", "port", 0, 65_535],
    ["HISTORY_SIZE", "historySize", 1, 1_000_000],
    ["MAX_MESSAGE_LENGTH", "maxMessageLength", 1, 60_000],
    ["HEARTBEAT_TTL_MS", "heartbeatTtlMs", 500, 600_000],
    ["SHUTDOWN_TIMEOUT_MS", "shutdownTimeoutMs", 1000, 600_000],
  ];
  for (const [variable, [key, , min, max]] of Object.entries(LIMIT_DEFAULTS)) {
    it(`${variable}: a whole number from ${min} to ${max}`, () => {
      expect(loadConfig({ [variable]: String(min) }).limits[key]).toBe(min);
      expect(loadConfig({ [variable]: ` ${max} ` }).limits[key]).toBe(max);
      if (min > 0) expect(refusal({ [variable]: String(min - 1) })).toMatch(new RegExp(`^invalid ${variable}: `));
      expect(refusal({ [variable]: String(max + 1) })).toMatch(new RegExp(`^invalid ${variable}: `));
      expect(refusal({ [variable]: "ten" })).toBe(`invalid ${variable}: expected a whole number, got "ten"`);
    });
  }

  it("HISTORY_TTL_DAYS: whole days from 1 to 3650", () => {
    expect(loadConfig({ HISTORY_TTL_DAYS: "2" }).historyTtlMs).toBe(2 * 24 * 60 * 60 * 1000);
    expect(refusal({ HISTORY_TTL_DAYS: "0" })).toMatch(/^invalid HISTORY_TTL_DAYS: /);
  });

  it("TRUST_PROXY: unset or false, true, a hop count, or addresses and subnets", () => {
    for (const off of ["", "false", "0"]) expect(loadConfig({ TRUST_PROXY: off }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "true" }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, loopback" }).trustProxy).toEqual(["10.0.0.0/8", "loopback"]);
    expect(refusal({ TRUST_PROXY: "not-an-address" })).toMatch(/^invalid TRUST_PROXY: /);
  });

  it("PUBLIC_URL: an http(s) URL, kept as its origin", () => {
    expect(loadConfig({ PUBLIC_URL: "https://chat.example.com/app/" }).publicUrl).toBe("https://chat.example.com");
    expect(loadConfig({ PUBLIC_URL: "https://chat.example.com:443" }).publicUrl).toBe("https://chat.example.com");
    expect(refusal({ PUBLIC_URL: "chat.example.com" })).toMatch(/^invalid PUBLIC_URL: /);
    expect(refusal({ PUBLIC_URL: "ftp://chat.example.com" })).toMatch(/^invalid PUBLIC_URL: /);
  });

  it("ADMIN_TOKEN: none, or at least 32 characters", () => {
    expect(refusal({ ADMIN_TOKEN: "s3cret" })).toBe("invalid ADMIN_TOKEN: expected at least 32 characters (or none)");
    expect(refusal({ ADMIN_TOKEN: "t".repeat(31) })).toMatch(/^invalid ADMIN_TOKEN: /);
    expect(loadConfig({ ADMIN_TOKEN: "t".repeat(32) }).adminToken).toBe("t".repeat(32));
  });

  for (const [variable, key, min, max] of integers) {
    it(`${variable}: a whole number from ${min} to ${max}`, () => {
      expect(loadConfig({ [variable]: String(min) })).toMatchObject({ [key]: min });
      expect(loadConfig({ [variable]: ` ${max} ` })).toMatchObject({ [key]: max });
      if (min > 0) {
        expect(refusal({ [variable]: String(min - 1) })).toBe(
          `invalid ${variable}: expected ${min} to ${max}, got ${min - 1}`,
        );
      }
      expect(refusal({ [variable]: String(max + 1) })).toBe(
        `invalid ${variable}: expected ${min} to ${max}, got ${max + 1}`,
      );
      for (const bad of ["-1", "1.5", "1e3", "0x10", "ten", "12abc"]) {
        expect(refusal({ [variable]: bad }), bad).toBe(`invalid ${variable}: expected a whole number, got "${bad}"`);
      }
    });
  }

  it("REDIS_URL: redis:// or rediss://, a comma-separated list of seeds, the password never echoed", () => {
    expect(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).redisUrls).toEqual(["redis://127.0.0.1:6379"]);
    expect(loadConfig({ REDIS_URL: " rediss://a:1 , rediss://b:2,, " }).redisUrls).toEqual([
      "rediss://a:1",
      "rediss://b:2",
    ]);
    // Seeds of one Redis Cluster are all reached the same way.
    expect(refusal({ REDIS_URL: "rediss://a:1,redis://b:2" })).toBe(
      "invalid REDIS_URL: expected every URL to be redis://, or every one rediss://",
    );
    expect(refusal({ REDIS_URL: "http://x" })).toBe('invalid REDIS_URL: expected redis:// or rediss://, got "http:"');
    expect(refusal({ REDIS_URL: "redis://a:1,http://b" })).toMatch(/^invalid REDIS_URL: /);
    const unparsable = refusal({ REDIS_URL: "redis://user:s3cret@host:notaport" });
    expect(unparsable).toBe('invalid REDIS_URL: "redis://***@host:notaport" is not a URL');
  });

  it("REDIS_CLUSTER and FAST_BROADCAST: 1, 0, true or false; only FAST_BROADCAST is on by default", () => {
    expect(loadConfig({})).toMatchObject({ redisCluster: false, fastBroadcast: true });
    for (const [raw, value] of [
      ["1", true],
      ["true", true],
      ["TRUE", true],
      ["0", false],
      ["false", false],
    ] as const) {
      expect(loadConfig({ REDIS_CLUSTER: raw }).redisCluster, raw).toBe(value);
      expect(loadConfig({ FAST_BROADCAST: raw }).fastBroadcast, raw).toBe(value);
    }
    expect(refusal({ REDIS_CLUSTER: "yes" })).toBe('invalid REDIS_CLUSTER: expected 1, 0, true or false, got "yes"');
    expect(refusal({ FAST_BROADCAST: "off" })).toBe('invalid FAST_BROADCAST: expected 1, 0, true or false, got "off"');
  });

  it("REDIS_PREFIX and NODE_ID: a limited alphabet and length", () => {
    expect(loadConfig({ REDIS_PREFIX: "deploy-1:chat" }).redisPrefix).toBe("deploy-1:chat");
    expect(loadConfig({ REDIS_PREFIX: "p".repeat(32) }).redisPrefix).toBe("p".repeat(32));
    for (const bad of ["p".repeat(33), "has space", "{tag}", "ünï"]) {
      expect(refusal({ REDIS_PREFIX: bad }), bad).toMatch(/^invalid REDIS_PREFIX: /);
    }
    expect(loadConfig({ NODE_ID: " web.1_a-b " }).nodeId).toBe("web.1_a-b");
    expect(loadConfig({ NODE_ID: "n".repeat(64) }).nodeId).toBe("n".repeat(64));
    for (const bad of ["n".repeat(65), "a b", "a:b", "a/b"]) {
      expect(refusal({ NODE_ID: bad }), bad).toMatch(/^invalid NODE_ID: /);
    }
  });

  it("LOG_LEVEL: one of pino's levels", () => {
    for (const level of ["fatal", "error", "warn", "info", "debug", "trace", "silent"]) {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    }
    for (const bad of ["loud", "INFO"]) {
      expect(refusal({ LOG_LEVEL: bad }), bad).toMatch(/^invalid LOG_LEVEL: /);
    }
  });

  it("ALLOWED_ORIGINS: origins (reduced to scheme, host and port) or *", () => {
    expect(
      loadConfig({ ALLOWED_ORIGINS: "https://chat.example.com/path, http://localhost:3000" }).allowedOrigins,
    ).toEqual(["https://chat.example.com", "http://localhost:3000"]);
    expect(loadConfig({ ALLOWED_ORIGINS: "*" }).allowedOrigins).toEqual(["*"]);
    expect(refusal({ ALLOWED_ORIGINS: "chat.example.com" })).toMatch(/^invalid ALLOWED_ORIGINS: "chat\.example\.com"/);
  });

  it("SEED_BRIDGE, BRIDGE_TIME_ZONE and BRIDGE_ESCAPE_HTML: the bridge on, escaping, in the server's zone by default", () => {
    expect(loadConfig({}).bridge).toEqual({ enabled: true, escapeHtml: true });
    expect(loadConfig({ SEED_BRIDGE: " " }).bridge.enabled).toBe(true);
    for (const [raw, value] of [
      ["0", false],
      ["false", false],
      ["1", true],
      ["TRUE", true],
    ] as const) {
      expect(loadConfig({ SEED_BRIDGE: raw }).bridge.enabled, raw).toBe(value);
      expect(loadConfig({ BRIDGE_ESCAPE_HTML: raw }).bridge.escapeHtml, raw).toBe(value);
    }
    expect(refusal({ SEED_BRIDGE: "off" })).toBe('invalid SEED_BRIDGE: expected 1, 0, true or false, got "off"');
    expect(refusal({ BRIDGE_ESCAPE_HTML: "no" })).toBe(
      'invalid BRIDGE_ESCAPE_HTML: expected 1, 0, true or false, got "no"',
    );
    expect(loadConfig({ BRIDGE_TIME_ZONE: " Asia/Shanghai " }).bridge.timeZone).toBe("Asia/Shanghai");
    expect(loadConfig({ BRIDGE_TIME_ZONE: "UTC" }).bridge.timeZone).toBe("UTC");
    expect(refusal({ BRIDGE_TIME_ZONE: "Mars/Olympus" })).toBe(
      'invalid BRIDGE_TIME_ZONE: expected an IANA time zone like Asia/Shanghai, got "Mars/Olympus"',
    );
  });

  it("HOST, ADMIN_TOKEN and PUBLIC_DIR are taken as given, trimmed", () => {
    const token = "a".repeat(40);
    const config = loadConfig({ HOST: " 127.0.0.1 ", ADMIN_TOKEN: ` ${token} `, PUBLIC_DIR: " /srv/page " });
    expect(config).toMatchObject({ host: "127.0.0.1", adminToken: token, publicDir: "/srv/page" });
  });
});

describe("Redis over TLS: REDIS_TLS_CA and REDIS_TLS_REJECT_UNAUTHORIZED", () => {
  let dir: string;
  /** Two self-signed certificates, as PEM text. */
  let first: string;
  let second: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "roomcast-config-"));
    const certificate = (name: string) => {
      const file = join(dir, `${name}.pem`);
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, `${name}.key`)].concat([
          "-out",
          file,
          "-days",
          "1",
          "-subj",
          `/CN=${name}`,
        ]),
        { stdio: "ignore" },
      );
      return readFileSync(file, "utf8");
    };
    first = certificate("first");
    second = certificate("second");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("verifies with the default CAs unless told otherwise", () => {
    expect(loadConfig({}).redisTls).toEqual({ rejectUnauthorized: true });
  });

  it("REDIS_TLS_CA: PEM certificates, with real line breaks or \\n for them", () => {
    expect(loadConfig({ REDIS_TLS_CA: first }).redisTls.ca).toBe(first.trim());
    const escaped = first.trim().split("\n").join("\\n");
    expect(escaped).not.toContain("\n");
    expect(loadConfig({ REDIS_TLS_CA: escaped }).redisTls.ca).toBe(first.trim());
    // A bundle of several.
    expect(loadConfig({ REDIS_TLS_CA: first + second }).redisTls.ca).toBe((first + second).trim());
    expect(loadConfig({ REDIS_TLS_CA: "  " }).redisTls).toEqual({ rejectUnauthorized: true });
  });

  it("REDIS_TLS_CA: anything but certificates is refused, naming the variable", () => {
    const publicKey = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    const damaged = first.replace(/\n[A-Za-z0-9+/]{20}/, "\n" + "A".repeat(20));
    for (const bad of [
      "not a certificate",
      publicKey,
      damaged,
      first + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    ]) {
      expect(refusal({ REDIS_TLS_CA: bad })).toBe(
        "invalid REDIS_TLS_CA: expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)",
      );
    }
  });

  it("REDIS_TLS_REJECT_UNAUTHORIZED: 1, 0, true or false", () => {
    for (const [raw, value] of [
      ["0", false],
      ["false", false],
      ["1", true],
      ["true", true],
    ] as const) {
      expect(loadConfig({ REDIS_TLS_REJECT_UNAUTHORIZED: raw }).redisTls.rejectUnauthorized, raw).toBe(value);
    }
    expect(refusal({ REDIS_TLS_REJECT_UNAUTHORIZED: "no" })).toBe(
      'invalid REDIS_TLS_REJECT_UNAUTHORIZED: expected 1, 0, true or false, got "no"',
    );
  });

  it("warns (without refusing) about skipped verification, and about REDIS_TLS_* with no rediss:// URL", () => {
    const warned = (env: Record<string, string>) => configWarnings(loadConfig(env)).map((warning) => warning.variable);
    expect(warned({})).toEqual([]);
    expect(warned({ REDIS_URL: "rediss://a:1", REDIS_TLS_CA: first })).toEqual([]);
    expect(warned({ REDIS_URL: "rediss://a:1", REDIS_TLS_REJECT_UNAUTHORIZED: "1" })).toEqual([]);
    expect(warned({ REDIS_URL: "redis://a:1", REDIS_TLS_REJECT_UNAUTHORIZED: "1" })).toEqual([]);
    expect(warned({ REDIS_URL: "rediss://a:1,rediss://b:2", REDIS_TLS_REJECT_UNAUTHORIZED: "0" })).toEqual([
      "REDIS_TLS_REJECT_UNAUTHORIZED",
    ]);
    expect(warned({ REDIS_URL: "redis://a:1", REDIS_TLS_REJECT_UNAUTHORIZED: "0" })).toEqual([
      "REDIS_TLS_REJECT_UNAUTHORIZED",
    ]);
    expect(warned({ REDIS_TLS_CA: first })).toEqual(["REDIS_TLS_CA"]);
    const [ignored] = configWarnings(loadConfig({ REDIS_URL: "redis://a:1", REDIS_TLS_CA: first }));
    expect(ignored?.message).toBe("ignored: it applies to rediss:// connections, and REDIS_URL is not rediss://");
    const [skipped] = configWarnings(loadConfig({ REDIS_URL: "rediss://a:1", REDIS_TLS_REJECT_UNAUTHORIZED: "0" }));
    expect(skipped?.message).toMatch(/^the Redis server's certificate is not verified/);
  });
});

describe("WEB_CONCURRENCY: nodes in one process, named NODE_ID-<index>", () => {
  const redis = { REDIS_URL: "redis://127.0.0.1:6379" };

  it("is 1 by default: one node, no workers", () => {
    expect(loadConfig({})).toMatchObject({ webConcurrency: 1, workerNodeIds: [] });
    expect(loadConfig({ ...redis, WEB_CONCURRENCY: "1", NODE_ID: "web" })).toMatchObject({
      webConcurrency: 1,
      workerNodeIds: [],
      nodeId: "web",
    });
  });

  it("names each worker after NODE_ID, or the hostname, and its index", () => {
    expect(loadConfig({ ...redis, WEB_CONCURRENCY: "3", NODE_ID: "web" }).workerNodeIds).toEqual([
      "web-0",
      "web-1",
      "web-2",
    ]);
    expect(loadConfig({ ...redis, WEB_CONCURRENCY: " 2 " }).workerNodeIds).toEqual([
      `${hostname()}-0`,
      `${hostname()}-1`,
    ]);
  });

  it("runs one node without REDIS_URL (embedded state cannot be shared), and warns", () => {
    const config = loadConfig({ WEB_CONCURRENCY: "2" });
    expect(config).toMatchObject({ webConcurrency: 1, requestedWebConcurrency: 2 });
    expect(configWarnings(config)).toEqual([
      { variable: "WEB_CONCURRENCY", message: expect.stringMatching(/^ignored: 2 processes need REDIS_URL/) },
    ]);
  });

  it("a whole number from 1 to 256", () => {
    expect(loadConfig({ ...redis, WEB_CONCURRENCY: "256" }).workerNodeIds).toHaveLength(256);
    expect(refusal({ ...redis, WEB_CONCURRENCY: "0" })).toBe("invalid WEB_CONCURRENCY: expected 1 to 256, got 0");
    expect(refusal({ ...redis, WEB_CONCURRENCY: "257" })).toBe("invalid WEB_CONCURRENCY: expected 1 to 256, got 257");
    expect(refusal({ ...redis, WEB_CONCURRENCY: "two" })).toBe(
      'invalid WEB_CONCURRENCY: expected a whole number, got "two"',
    );
  });

  it("refuses a NODE_ID that leaves no room for the index", () => {
    expect(loadConfig({ ...redis, WEB_CONCURRENCY: "10", NODE_ID: "n".repeat(62) }).workerNodeIds[9]).toBe(
      `${"n".repeat(62)}-9`,
    );
    expect(refusal({ ...redis, WEB_CONCURRENCY: "11", NODE_ID: "n".repeat(62) })).toBe(
      "invalid NODE_ID: with WEB_CONCURRENCY=11 each worker is named NODE_ID-<index> (or hostname-<index>): " +
        "expected at most 61 characters of A-Z a-z 0-9 _ . -",
    );
  });
});

describe("MAX_CONNECTIONS and LISTEN_BACKLOG: what the machine allows", () => {
  const machine = readMachineLimits();

  it("reads the open-files limit and somaxconn from /proc (this is Linux)", () => {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    expect(machine.openFiles).toBe(Number(soft));
    expect(machine.somaxconn).toBe(Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim()));
  });

  it("MAX_CONNECTIONS defaults to the open-files limit less 5 % (at least 256) for Redis, HTTP and logs", () => {
    const openFiles = machine.openFiles!;
    expect(loadConfig({}).maxConnections).toBe(openFiles - Math.max(256, Math.ceil(openFiles * 0.05)));
    expect(loadConfig({}, { openFiles: 20_000 }).maxConnections).toBe(19_000);
    expect(loadConfig({}, { openFiles: 1024 }).maxConnections).toBe(768);
    expect(loadConfig({}, { openFiles: 100 }).maxConnections).toBe(1);
    expect(loadConfig({}, {}).maxConnections).toBe(FALLBACK_MAX_CONNECTIONS);
  });

  it("MAX_CONNECTIONS: a whole number, 0 for no cap; above the default it warns", () => {
    expect(loadConfig({ MAX_CONNECTIONS: "0" }).maxConnections).toBe(0);
    expect(loadConfig({ MAX_CONNECTIONS: " 3 " }).maxConnections).toBe(3);
    expect(refusal({ MAX_CONNECTIONS: "-1" })).toBe('invalid MAX_CONNECTIONS: expected a whole number, got "-1"');
    expect(refusal({ MAX_CONNECTIONS: "lots" })).toBe('invalid MAX_CONNECTIONS: expected a whole number, got "lots"');
    expect(refusal({ MAX_CONNECTIONS: "1000000001" })).toMatch(/^invalid MAX_CONNECTIONS: expected 0 to /);
    const warned = (env: Record<string, string>) =>
      configWarnings(loadConfig(env, { openFiles: 20_000, somaxconn: 4096 })).map((warning) => warning.variable);
    expect(warned({})).toEqual([]);
    expect(warned({ MAX_CONNECTIONS: "19000" })).toEqual([]);
    expect(warned({ MAX_CONNECTIONS: "0" })).toEqual([]);
    expect(warned({ MAX_CONNECTIONS: "19001" })).toEqual(["MAX_CONNECTIONS"]);
  });

  it("LISTEN_BACKLOG: 4096 by default, at most somaxconn; a value set above it is lowered with a warning", () => {
    expect(loadConfig({}).listenBacklog).toBe(Math.min(4096, machine.somaxconn ?? 4096));
    expect(loadConfig({}, { somaxconn: 65_535 }).listenBacklog).toBe(4096);
    expect(loadConfig({}, {}).listenBacklog).toBe(4096);
    // The default follows a small somaxconn quietly.
    const quiet = loadConfig({}, { somaxconn: 128 });
    expect(quiet.listenBacklog).toBe(128);
    expect(configWarnings(quiet)).toEqual([]);
    const lowered = loadConfig({ LISTEN_BACKLOG: "8192" }, { somaxconn: 4096 });
    expect(lowered).toMatchObject({ listenBacklog: 4096, requestedListenBacklog: 8192 });
    expect(configWarnings(lowered)).toEqual([
      { variable: "LISTEN_BACKLOG", message: expect.stringMatching(/^lowered from 8192 to 4096, the kernel's/) },
    ]);
    expect(loadConfig({ LISTEN_BACKLOG: "511" }, { somaxconn: 4096 }).listenBacklog).toBe(511);
    expect(refusal({ LISTEN_BACKLOG: "0" })).toMatch(/^invalid LISTEN_BACKLOG: expected 1 to /);
    expect(refusal({ LISTEN_BACKLOG: "many" })).toBe('invalid LISTEN_BACKLOG: expected a whole number, got "many"');
  });
});
