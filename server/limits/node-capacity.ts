import type { FastifyBaseLogger } from "fastify";
import { ErrorCode } from "../../protocol/index.js";
import { CodedError } from "../errors.js";

/** Gives back the place of one connection; calling it again does nothing. */
export type ReleasePlace = () => void;

/** What a full node logs once, when it becomes full and when it has room again. */
export const FULL_MESSAGE = "node full: refusing new connections";
export const ROOM_MESSAGE = "node has room again: admitting new connections";

/**
 * The node's cap on open client connections (MAX_CONNECTIONS): Socket.IO sockets and seed-bridge
 * sockets, counted here, on this node only, with no I/O.
 */
export interface NodeCapacity {
  /**
   * Takes a place for one connection: the function that gives it back, or undefined when the
   * node is full (the caller refuses the connection, see `nodeFullError`).
   */
  enter(): ReleasePlace | undefined;
  /** Connections holding a place now. */
  readonly open: number;
  /** The cap; 0 means none. */
  readonly max: number;
  /**
   * Whether the node counts as full (`/readyz` says so): from the moment it reaches the cap until
   * 1 % of the cap (at least one connection) has left, so that a node at its cap does not flap
   * between full and not full, in its log and its readiness, at every connection that comes and goes.
   */
  readonly full: boolean;
}

/** The refusal of a connection to a full node: `unavailable`, which clients retry on another node. */
export const nodeFullError = (max: number): CodedError =>
  new CodedError(ErrorCode.Unavailable, `node full: it holds ${max} connections, try another node`);

/**
 * Counts this node's client connections against `max` (0: counts, never refuses), and logs once
 * when the node becomes full (warn) and once when it has room again (info), never per refusal.
 *
 * @example
 * const release = capacity.enter();
 * if (!release) throw nodeFullError(capacity.max);
 * socket.once("close", release);
 */
export function nodeCapacity(max: number, log: FastifyBaseLogger): NodeCapacity {
  const roomMark = max - Math.max(1, Math.floor(max / 100));
  let open = 0;
  let full = false;

  function leave(): void {
    open -= 1;
    if (full && open <= roomMark) {
      full = false;
      log.info({ connections: open, maxConnections: max }, ROOM_MESSAGE);
    }
  }

  return {
    enter() {
      if (max !== 0 && open >= max) return undefined;
      open += 1;
      if (max !== 0 && open >= max && !full) {
        full = true;
        log.warn({ connections: open, maxConnections: max }, FULL_MESSAGE);
      }
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        leave();
      };
    },
    get open() {
      return open;
    },
    max,
    get full() {
      return full;
    },
  };
}
