/**
 * API_TOKENS: how `loadConfig` reads it (with ADMIN_TOKEN as the admin client "admin"), and that
 * a bad entry stops the real process with one line naming the variable and the entry, never a token.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../server/config.js";
import { runServer } from "./support/server-start.js";

const TOKEN = "t0ken-of-billing-0123456789abcdefXYZ";
const OTHER = "an0ther-token-0123456789abcdef_~+/==";

/** The message `loadConfig` throws for `env`. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("API_TOKENS", () => {
  it('reads name:scope:token entries, and adds ADMIN_TOKEN as the admin client "admin"', () => {
    const config = loadConfig({
      API_TOKENS: ` billing:publish:${TOKEN} , support.tool:read:${OTHER}`,
      ADMIN_TOKEN: "x".repeat(32),
    });
    expect(config.apiTokens).toEqual([
      { name: "billing", scope: "publish", token: TOKEN },
      { name: "support.tool", scope: "read", token: OTHER },
      { name: "admin", scope: "admin", token: "x".repeat(32) },
    ]);
    expect(loadConfig({}).apiTokens).toEqual([]);
    expect(loadConfig({ API_TOKENS: `admin:admin:${TOKEN}` }).apiTokens).toEqual([
      { name: "admin", scope: "admin", token: TOKEN },
    ]);
  });

  const bad: [label: string, value: string, env: Record<string, string>, says: RegExp][] = [
    ["no scope", TOKEN, {}, /entry 1 is not name:scope:token/],
    ["a fourth part", `a:read:${TOKEN}:x`, {}, /entry 1 is not name:scope:token/],
    ["an empty name", `:read:${TOKEN}`, {}, /entry 1: the name must be/],
    ["a name with a space", `bill ing:read:${TOKEN}`, {}, /entry 1: the name must be/],
    ["an unknown scope", `billing:write:${TOKEN}`, {}, /"billing": the scope must be publish, read, admin/],
    ["scope and token swapped", `billing:${TOKEN}:read`, {}, /"billing": the scope must be/],
    ["a short token", "billing:read:short-token-0123456789abcdef", {}, /"billing": the token must be at least 32/],
    ["a token a header cannot carry", `billing:read:${TOKEN}é`, {}, /"billing": the token may hold only/],
    ["a token with = inside", `billing:read:abc=${TOKEN}`, {}, /"billing": the token may hold only/],
    ["a name twice", `a:read:${TOKEN},a:publish:${OTHER}`, {}, /"a" names more than one entry/],
    ["one token for two names", `a:read:${TOKEN},b:publish:${TOKEN}`, {}, /"a" and "b" have the same token/],
    [
      "ADMIN_TOKEN's name",
      `admin:read:${TOKEN}`,
      { ADMIN_TOKEN: "x".repeat(32) },
      /"admin" is the name of ADMIN_TOKEN/,
    ],
    [
      "ADMIN_TOKEN's token",
      `ops:read:${"x".repeat(32)}`,
      { ADMIN_TOKEN: "x".repeat(32) },
      /"ops" and "admin" have the same token/,
    ],
    ["the second entry", `a:read:${TOKEN},b:nope:${OTHER}`, {}, /"b": the scope must be/],
  ];
  for (const [label, value, env, says] of bad) {
    it(`refuses ${label}, naming the entry and never a token`, () => {
      const message = refusal({ ...env, API_TOKENS: value });
      expect(message).toMatch(/^invalid API_TOKENS: /);
      expect(message).toMatch(says);
      for (const token of [TOKEN, OTHER, "x".repeat(32), "short-token-0123456789abcdef"]) {
        expect(message).not.toContain(token);
      }
    });
  }

  it("a bad entry stops the process with one line on stderr, without the token", async () => {
    const outcome = await runServer({ API_TOKENS: `billing:write:${TOKEN}` });
    expect(outcome).toEqual({
      code: 1,
      stdout: "",
      stderr: 'roomcast: invalid API_TOKENS: "billing": the scope must be publish, read, admin\n',
    });
  });
});
