/**
 * app.json, Heroku's one-click deploy manifest, against the configuration the server reads: every
 * variable it names must be one `server/config.ts` reads (found in its source, so that the two
 * cannot drift), and what it sets must be a configuration that starts.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configWarnings, loadConfig } from "../server/config.js";

interface EnvEntry {
  description?: string;
  value?: string;
  required?: boolean;
  generator?: string;
}

interface AppJson {
  name: string;
  buildpacks: { url: string }[];
  formation: Record<string, { quantity?: number }>;
  addons: ({ plan: string; as?: string } | string)[];
  env: Record<string, EnvEntry>;
}

const appJson = JSON.parse(readFileSync(new URL("../app.json", import.meta.url), "utf8")) as AppJson;
const configSource = readFileSync(new URL("../server/config.ts", import.meta.url), "utf8");

/** The variables config.ts reads: `env.NAME`, and helpers called as `helper(env, "NAME", ...)`. */
const readByConfig = new Set(
  [...configSource.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|,\s*"([A-Z][A-Z0-9_]*)")/g)].map(
    (match) => match[1] ?? match[2]!,
  ),
);

describe("app.json", () => {
  it("reads the configuration's variables from config.ts (the check below is not vacuous)", () => {
    for (const name of ["PORT", "REDIS_URL", "ADMIN_TOKEN", "TRUST_PROXY", "WEB_CONCURRENCY", "REDIS_TLS_CA"]) {
      expect(readByConfig.has(name), name).toBe(true);
    }
  });

  it("names only variables the server reads, each with a description", () => {
    for (const [name, entry] of Object.entries(appJson.env)) {
      expect(readByConfig.has(name), `${name} is not read by server/config.ts`).toBe(true);
      expect(entry.description?.length ?? 0, `${name} has no description`).toBeGreaterThan(20);
    }
  });

  it("leaves PORT to the platform and REDIS_URL to the Redis add-on", () => {
    expect(Object.keys(appJson.env)).not.toContain("PORT");
    expect(Object.keys(appJson.env)).not.toContain("REDIS_URL");
    const plans = appJson.addons.map((addon) => (typeof addon === "string" ? addon : addon.plan));
    expect(plans.some((plan) => plan.split(":")[0] === "heroku-redis")).toBe(true);
  });

  it("runs web dynos of the Node.js buildpack, as the Procfile says", () => {
    expect(appJson.buildpacks).toEqual([{ url: "heroku/nodejs" }]);
    expect(appJson.formation.web?.quantity).toBeGreaterThanOrEqual(1);
    const procfile = readFileSync(new URL("../Procfile", import.meta.url), "utf8");
    expect(procfile).toMatch(/^web: node dist\/server\/main\.js$/m);
  });

  it("sets a production configuration that starts: a generated admin token, the router trusted, Heroku Redis's chain", () => {
    expect(appJson.env.ADMIN_TOKEN).toMatchObject({ generator: "secret" });
    // What Heroku would set: the values, a generated secret (64 hex characters), the add-on's URL.
    const env: Record<string, string> = { PORT: "5000", REDIS_URL: "rediss://:secret@ec2-1-2-3-4.example.com:6380" };
    for (const [name, entry] of Object.entries(appJson.env)) {
      if (entry.generator === "secret") env[name] = randomBytes(32).toString("hex");
      else if (entry.value !== undefined) env[name] = entry.value;
    }
    const config = loadConfig(env);
    expect(config).toMatchObject({ trustProxy: 1, redisTls: { rejectUnauthorized: false }, webConcurrency: 1 });
    expect(config.adminToken).toHaveLength(64);
    // The one warning is the deliberate one: Heroku Redis's certificate cannot be verified.
    expect(configWarnings(config).map((warning) => warning.variable)).toEqual(["REDIS_TLS_REJECT_UNAUTHORIZED"]);
  });
});
