import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { ErrorCode } from "../../protocol/index.js";
import { CodedError, RateLimitedError } from "../errors.js";

/** A bridge upgrade refused before the WebSocket opens: an HTTP status and a reason in plain text. */
export class BridgeRefusal extends Error {
  constructor(
    readonly status: number,
    reason: string,
    /** With 429: how long to wait, in milliseconds (sent as `Retry-After`, in seconds). */
    readonly retryAfterMs?: number,
  ) {
    super(reason);
    this.name = "BridgeRefusal";
  }
}

/** The HTTP status of each protocol error code, for a refused upgrade. */
const STATUS_OF: Record<ErrorCode, number> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.NotJoined]: 403,
  [ErrorCode.TooLong]: 413,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Internal]: 500,
};

/**
 * Turns a failure of the upgrade's checks into its refusal. A CodedError's message is safe to show
 * a client; anything else is a bug or a store failure, reported without its details.
 */
export function toRefusal(error: unknown, storesUp: boolean): BridgeRefusal {
  if (error instanceof BridgeRefusal) return error;
  if (error instanceof RateLimitedError) return new BridgeRefusal(429, error.message, error.retryAfterMs);
  if (error instanceof CodedError) return new BridgeRefusal(STATUS_OF[error.code], error.message);
  return storesUp
    ? new BridgeRefusal(500, "the server failed, try again")
    : new BridgeRefusal(503, "the chat store is unavailable, try again");
}

/** Answers an upgrade request with the refusal and closes the connection. */
export function refuseUpgrade(socket: Duplex, refusal: BridgeRefusal): void {
  if (socket.destroyed) return;
  const body = Buffer.from(`${refusal.message}\n`);
  const retryAfter =
    refusal.retryAfterMs === undefined ? "" : `Retry-After: ${Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))}\r\n`;
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ""}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${body.length}\r\n${retryAfter}\r\n${body.toString()}`,
  );
}
