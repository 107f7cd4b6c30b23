import { checkName } from "../../protocol/index.js";
import { BridgeRefusal } from "./refusal.js";

/** Where the original demo's clients connect: `/websocket/{room}/{user}`. */
export const SEED_PATH_PREFIX = "/websocket/";

/** The room and user a bridge client asked for, normalized and checked like any other name. */
export interface SeedTarget {
  room: string;
  user: string;
  /** The `token` query parameter (token mode); undefined when absent. */
  token?: string;
}

function decodeSegment(segment: string, kind: "room" | "user"): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BridgeRefusal(400, `the ${kind} in the path is not percent-encoded UTF-8`);
  }
}

/**
 * Reads `/websocket/{room}/{user}[?token=...]` as the original demo wrote it: each name
 * percent-encoded (Chinese names are common), then checked with the protocol's `checkName`.
 *
 * @throws BridgeRefusal 404 for another path, 400 for a name that is not valid, saying why.
 * @example
 * parseSeedPath("/websocket/%E6%88%BF%E9%97%B41/alice") // { room: "房间1", user: "alice" }
 */
export function parseSeedPath(url: string): SeedTarget {
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  const segments = path.slice(SEED_PATH_PREFIX.length).split("/");
  if (!path.startsWith(SEED_PATH_PREFIX) || segments.length !== 2) {
    throw new BridgeRefusal(404, "expected /websocket/{room}/{user}");
  }
  const room = checkName(decodeSegment(segments[0]!, "room"), "room");
  if (!room.ok) throw new BridgeRefusal(400, room.reason);
  const user = checkName(decodeSegment(segments[1]!, "user"), "user");
  if (!user.ok) throw new BridgeRefusal(400, user.reason);
  const token = query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get("token");
  return { room: room.name, user: user.name, ...(token !== null ? { token } : {}) };
}
