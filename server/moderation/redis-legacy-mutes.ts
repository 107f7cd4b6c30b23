import type { FastifyBaseLogger } from "fastify";
import type { RedisConnection } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";

/** Every key matching a SCAN pattern, in batches, from every master. */
export type KeyScanner = (pattern: string) => AsyncIterable<string[]>;

/** The room and user a legacy mute key names, or undefined for a key of another shape. */
function parseLegacyMute(key: string, keys: RedisKeys): { room: string; user: string } | undefined {
  // Names hold neither braces nor colons (protocol's NAME_CHARS), so the split is unambiguous.
  const [start, middle] = keys.legacyMutePattern().split("*");
  if (!key.startsWith(start!)) return undefined;
  const rest = key.slice(start!.length);
  const at = rest.indexOf(middle!);
  if (at <= 0 || at + middle!.length >= rest.length) return undefined;
  const room = rest.slice(0, at);
  const user = rest.slice(at + middle!.length);
  return keys.legacyMute(room, user) === key ? { room, user } : undefined;
}

/**
 * Moves the mutes that earlier versions kept in a room's presence slot (`RedisKeys.legacyMute`)
 * to `RedisKeys.mute`, in the slot of the room's log, where the send script checks them; each
 * keeps its end. Runs once per deployment: the first node of this version to start takes a
 * marker and SCANs every master, so the others pay one SET. A failure drops the marker, so that
 * the next start tries again.
 *
 * @returns how many mutes were moved (0 when another node has done it); one replaced by a newer
 *   mute is dropped, not counted.
 */
export async function moveLegacyMutes(
  redis: RedisConnection,
  scan: KeyScanner,
  keys: RedisKeys,
  nodeId: string,
): Promise<number> {
  const marker = keys.legacyMutesMoved();
  if ((await redis.command<string | null>(marker, ["SET", marker, nodeId, "NX"])) === null) return 0;
  let moved = 0;
  try {
    for await (const batch of scan(keys.legacyMutePattern())) {
      const counts = await Promise.all(batch.map((key) => moveOne(redis, keys, key)));
      moved += counts.reduce((sum, count) => sum + count, 0);
    }
  } catch (error) {
    await redis.command(marker, ["DEL", marker]).catch(() => undefined);
    throw error;
  }
  return moved;
}

async function moveOne(redis: RedisConnection, keys: RedisKeys, legacyKey: string): Promise<number> {
  const names = parseLegacyMute(legacyKey, keys);
  if (names === undefined) return 0;
  const [until, ttlMs] = await Promise.all([
    redis.command<string | null>(legacyKey, ["GET", legacyKey]),
    redis.command<number>(legacyKey, ["PTTL", legacyKey]),
  ]);
  if (until === null || ttlMs <= 0) return 0;
  const key = keys.mute(names.room, names.user);
  // NX: a mute made since, through this version, is newer.
  const set = await redis.command<string | null>(key, ["SET", key, until, "PX", String(ttlMs), "NX"]);
  await redis.command(legacyKey, ["DEL", legacyKey]);
  return set === null ? 0 : 1;
}

/** Runs `moveLegacyMutes` at a node's start and logs what it did; a failure is logged, not thrown. */
export async function moveLegacyMutesAtStart(
  redis: RedisConnection,
  scan: KeyScanner,
  keys: RedisKeys,
  nodeId: string,
  log: FastifyBaseLogger,
): Promise<void> {
  try {
    const moved = await moveLegacyMutes(redis, scan, keys, nodeId);
    if (moved > 0) log.info({ moved }, "moved mutes from the key layout of earlier versions");
  } catch (error) {
    log.warn({ err: error }, "could not move the mutes of earlier versions; the next start tries again");
  }
}
