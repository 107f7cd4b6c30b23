import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode } from "../../protocol/index.js";
import type { ApiScope, ApiToken } from "../config.js";
import { RateLimitedError } from "../errors.js";
import type { Limit } from "../limits/limits.js";
import { sendError } from "./errors.js";

/** The API client a request proved it is. */
export interface ApiClient {
  name: string;
  scope: ApiScope;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The scope a route of /api/v1 needs; `admin` tokens may call every route. */
    scope?: ApiScope;
  }
  interface FastifyRequest {
    /** Set on /api/v1 once the bearer token matched a configured client. */
    apiClient?: ApiClient;
  }
}

const BEARER = "bearer ";

const digest = (secret: string): Buffer => createHash("sha256").update(secret).digest();

/**
 * The configured API tokens, matched in constant time: a given token is hashed, and its digest
 * compared with every client's, so that neither which client matched nor any token's length shows
 * in the time taken.
 */
export class ApiTokens {
  private readonly clients: { client: ApiClient; digest: Buffer }[];

  constructor(tokens: readonly ApiToken[]) {
    this.clients = tokens.map(({ name, scope, token }) => ({ client: { name, scope }, digest: digest(token) }));
  }

  /** Whether any token is configured; without one the API is off. */
  get any(): boolean {
    return this.clients.length > 0;
  }

  /** The client whose token `given` is, or undefined. */
  match(given: string): ApiClient | undefined {
    const candidate = digest(given);
    let found: ApiClient | undefined;
    for (const { client, digest } of this.clients) {
      // No early exit: every comparison runs whatever matched before.
      const same = timingSafeEqual(candidate, digest);
      found = same ? client : found;
    }
    return found;
  }
}

/** Whether a client of `scope` may call a route that needs `required`. */
export function allows(scope: ApiScope, required: ApiScope): boolean {
  return scope === "admin" || scope === required;
}

export interface ApiGuardOptions {
  tokens: ApiTokens;
  /** Failed sign-ins per client address, shared with /admin: over it, every attempt gets 429. */
  failures: Limit;
  addressOf: (req: IncomingMessage) => string;
}

/**
 * The `onRequest` hook of /api/v1: 404 while no token is configured (as /admin without
 * ADMIN_TOKEN); 401 without a valid bearer token, counted against the address's failed sign-ins
 * (429 with `Retry-After` past the limit, even with the right token, so that guessing goes no
 * faster than the limit); 403 for a client whose scope the route does not allow. The client's
 * name, never its token, goes on the request's log.
 */
export function apiGuard(options: ApiGuardOptions) {
  const { tokens, failures, addressOf } = options;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!tokens.any) {
      return sendError(reply, 404, ErrorCode.NotFound, "the API is off: this deployment has no API_TOKENS");
    }
    const header = request.headers.authorization ?? "";
    // The scheme is case-insensitive (RFC 9110); the token is taken exactly as it comes.
    const given = header.slice(0, BEARER.length).toLowerCase() === BEARER ? header.slice(BEARER.length) : "";
    const address = addressOf(request.raw);
    let client: ApiClient | undefined;
    try {
      await failures.check(address);
      client = given === "" ? undefined : tokens.match(given);
      if (client === undefined) await failures.take(address);
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      reply.header("retry-after", String(Math.ceil(error.retryAfterMs / 1000)));
      return sendError(reply, 429, error.toBody());
    }
    if (client === undefined) {
      return sendError(reply, 401, ErrorCode.Unauthorized, "a valid bearer token is required");
    }
    request.apiClient = client;
    request.log = request.log.child({ apiClient: client.name });
    const required = request.routeOptions.config.scope;
    if (required !== undefined && !allows(client.scope, required)) {
      return sendError(reply, 403, ErrorCode.Forbidden, `this route needs a token of scope ${required}`);
    }
  };
}
