/**
 * `npm run token -- --sub report-bot --ttl 1h [--rooms 'ops-*,lobby']`: mints a token for token
 * mode with AUTH_JWT_SECRET (and AUTH_JWT_ISSUER / AUTH_JWT_AUDIENCE when set), for operators and
 * bot authors. Prints the token alone on stdout.
 */
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { checkName } from "../../protocol/index.js";
import { ConfigError, loadConfig } from "../config.js";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90s", "15m", "1h", "30d" → seconds. */
function seconds(ttl: string): number {
  const match = /^(\d+)([smhd])$/.exec(ttl);
  if (!match) throw new Error(`--ttl must look like 90s, 15m, 1h or 30d, got "${ttl}"`);
  return Number(match[1]) * UNIT_SECONDS[match[2]!]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { sub: { type: "string" }, ttl: { type: "string", default: "1h" }, rooms: { type: "string" } },
  });
  const sub = checkName(values.sub ?? "", "user");
  if (!sub.ok) throw new Error(`--sub: ${sub.reason}`);
  const { auth } = loadConfig(process.env);
  if (auth.tokenKey?.kind !== "secret") throw new Error("set AUTH_JWT_SECRET: this tool signs with the shared secret");
  const rooms = values.rooms
    ?.split(",")
    .map((room) => room.trim())
    .filter((room) => room !== "");
  let jwt = new SignJWT(rooms ? { rooms } : {})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub.name)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds(values.ttl!));
  if (auth.issuer !== undefined) jwt = jwt.setIssuer(auth.issuer);
  if (auth.audience !== undefined) jwt = jwt.setAudience(auth.audience);
  process.stdout.write(`${await jwt.sign(new TextEncoder().encode(auth.tokenKey.secret))}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`roomcast token: ${message}\n`);
  process.exit(1);
});
