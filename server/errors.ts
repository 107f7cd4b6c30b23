import { ErrorCode, type ErrorBody } from "../protocol/index.js";

/** An error whose code comes from the protocol's catalogue; its message is safe to show a client. */
export class CodedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** What the body says besides the code and message: how long to wait, until when. */
    private readonly details: Pick<ErrorBody, "retryAfterMs" | "until"> = {},
  ) {
    super(message);
    this.name = "CodedError";
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** A backing store could not be reached; the client may retry. */
export class UnavailableError extends CodedError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unavailable, `${what} is unavailable, try again`);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** A limit was reached; the body says how long to wait before trying again. */
export class RateLimitedError extends CodedError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(ErrorCode.RateLimited, message, { retryAfterMs });
  }
}

export const badRequest = (message: string) => new CodedError(ErrorCode.BadRequest, message);
