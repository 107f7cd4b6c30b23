import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode, type ErrorBody } from "../../protocol/index.js";
import { CodedError, RateLimitedError } from "../errors.js";

/**
 * The HTTP status of each error code. `too_long` is a 400 like every other bad field (413 is kept
 * for a request body over Fastify's limit); `not_joined` cannot happen here (no route needs a join).
 */
export const STATUS_OF: Record<ErrorCode, number> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.NotJoined]: 400,
  [ErrorCode.TooLong]: 400,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Internal]: 500,
  [ErrorCode.NotFound]: 404,
};

/** Answers `{ ok: false, error }` with `status`. */
export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply;
export function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply;
export function sendError(
  reply: FastifyReply,
  status: number,
  codeOrBody: ErrorCode | ErrorBody,
  message?: string,
): FastifyReply {
  const error = typeof codeOrBody === "string" ? { code: codeOrBody, message: message ?? "" } : codeOrBody;
  return reply.code(status).send({ ok: false, error });
}

/** Throws a `not_found` error: a ban, a message, … that does not exist. */
export const notFound = (message: string): CodedError => new CodedError(ErrorCode.NotFound, message);

/**
 * The error handler of /api/v1: every failure becomes the catalogue's `{ ok: false, error }`.
 * A CodedError keeps its code (and `Retry-After` for `rate_limited`); a body that fails its schema
 * or is not JSON is `bad_request`, naming the field; anything else is `unavailable` while a store
 * is down (retry) and otherwise `internal`, logged with the request.
 */
export function apiErrorHandler(storesUp: () => boolean) {
  return async (error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    if (error instanceof RateLimitedError) {
      reply.header("retry-after", String(Math.ceil(error.retryAfterMs / 1000)));
    }
    if (error instanceof CodedError) return sendError(reply, STATUS_OF[error.code], error.toBody());
    if (error.validation !== undefined) return sendError(reply, 400, ErrorCode.BadRequest, error.message);
    const status = error.statusCode ?? 500;
    // Fastify's own refusals: a body over its limit, a body that is not JSON, a wrong content type.
    if (status === 413) return sendError(reply, 413, ErrorCode.TooLong, error.message);
    if (status >= 400 && status < 500) return sendError(reply, 400, ErrorCode.BadRequest, error.message);
    if (!storesUp()) {
      return sendError(reply, 503, ErrorCode.Unavailable, "the chat store is unavailable, try again");
    }
    request.log.error({ err: error }, "an API request failed");
    return sendError(reply, 500, ErrorCode.Internal, "internal error");
  };
}
