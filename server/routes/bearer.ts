import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode } from "../../protocol/index.js";
import { RateLimitedError } from "../errors.js";
import type { Limit } from "../limits/limits.js";

export interface BearerOptions {
  /** The secret the `Authorization: Bearer` header must carry. */
  token: string;
  /** Counts failed attempts per client address; over it, every attempt is refused for a while. */
  failures: Limit;
  addressOf: (req: IncomingMessage) => string;
}

/** Compares in constant time, so that the answer's timing tells nothing about the secret. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An `onRequest` hook that lets a request through only with the right bearer token: 401 with the
 * error body otherwise, and 429 with `Retry-After` once the address failed too often (then even
 * the right token is refused, so guessing goes no faster than the limit).
 */
export function bearerGuard(options: BearerOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? "";
    const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    const address = options.addressOf(request.raw);
    try {
      await options.failures.check(address);
      if (sameSecret(token, options.token)) return;
      await options.failures.take(address);
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      reply.header("retry-after", String(Math.ceil(error.retryAfterMs / 1000)));
      return reply.code(429).send({ ok: false, error: error.toBody() });
    }
    return reply
      .code(401)
      .send({ ok: false, error: { code: ErrorCode.Unauthorized, message: "a valid bearer token is required" } });
  };
}
