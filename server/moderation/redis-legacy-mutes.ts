import type { FastifyBaseLogger } from "fastify";
import type { RedisConnection } from "../redis/connection.js";
import type { RedisKeys } from "../redis/keys.js";

/** Every key matching a SCAN pattern, in batches, from every master. */
export type KeyScanner = (pattern: string) => AsyncIterable<string[]>;

/**
 * Reads the room and user back from a legacy mute key: undefined for a key of another shape.
 * Names hold neither braces nor colons (protocol's NAME_CHARS), so the split is unambiguous.
 */
function legacyMuteParser(keys: RedisKeys): (key: string) => { room: string; user: string } | undefined {
  const [start = "", middle = ""] = keys.legacyMutePattern().split("*");
  return (key) => {
    const at = key.indexOf(middle, start.length);
    if (!key.startsWith(start) || at <= start.length) return undefined;
    const room = key.slice(start.length, at);
    const user = key.slice(at + middle.length);
    return user !== "" && keys.legacyMute(room, user) === key ? { room, user } : undefined;
  };
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
  const parse = legacyMuteParser(keys);
  let moved = 0;
  try {
    for await (const batch of scan(keys.legacyMutePattern())) {
      const counts = await Promise.all(batch.map((key) => moveOne(redis, keys, key, parse(key))));
      moved += counts.reduce((sum, count) => sum + count, 0);
    }
  } catch (error) {
    await redis.command(marker, ["DEL", marker]).catch(() => undefined);
    throw error;
  }
  return moved;
}

async function moveOne(
  redis: RedisConnection,
  keys: RedisKeys,
  legacyKey: string,
  names: { room: string; user: string } | undefined,
): Promise<number> {
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
