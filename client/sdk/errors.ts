import { RETRYABLE_ERROR_CODES, type ErrorBody, type ErrorCode } from "../../protocol/index.js";

/**
 * Codes the SDK raises itself. They live apart from the server's catalogue and never overlap it.
 *
 * @example
 * if (error.code === ClientErrorCode.Closed) return; // we closed the client ourselves
 */
export const ClientErrorCode = {
  /** The client was closed with `close()` before the call completed. */
  Closed: "closed",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Every code a `ChatError` can carry: the server's catalogue and the SDK's own. */
export type ChatErrorCode = ErrorCode | ClientErrorCode;

/**
 * Whether resending the same request may succeed after this code.
 *
 * @example
 * isRetryable("rate_limited") // true
 * isRetryable("too_long")     // false
 */
export function isRetryable(code: ChatErrorCode): boolean {
  return (RETRYABLE_ERROR_CODES as ReadonlySet<string>).has(code);
}

/**
 * A failed call, typed by its code. The SDK rejects with it only when retrying cannot help.
 *
 * @example
 * try {
 *   await client.send("lobby", text);
 * } catch (error) {
 *   if (error instanceof ChatError && error.code === "too_long") showTooLong();
 * }
 */
export class ChatError extends Error {
  override readonly name = "ChatError";

  /**
   * @example
   * new ChatError("not_joined", 'join "lobby" first')
   */
  constructor(
    /**
     * What went wrong, from the protocol's `ErrorCode` catalogue or `ClientErrorCode`.
     *
     * @example
     * if (error.code === "forbidden") signIn();
     */
    readonly code: ChatErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /**
   * With `rate_limited`: how long the server asked to wait before trying again, in milliseconds.
   * The SDK waits at least this long before its own retries.
   */
  readonly retryAfterMs?: number;

  /**
   * Whether the same request may succeed later (the SDK has already retried those it owns).
   *
   * @example
   * new ChatError("unavailable", "try again").retryable // true
   */
  get retryable(): boolean {
    return isRetryable(this.code);
  }

  /**
   * The error of a `{ ok: false, error }` ack or of a `connect_error`'s `data`.
   *
   * @example
   * if (!ack.ok) throw ChatError.fromBody(ack.error);
   */
  static fromBody(body: ErrorBody): ChatError {
    return new ChatError(
      body.code,
      body.message,
      body.retryAfterMs === undefined ? undefined : { retryAfterMs: body.retryAfterMs },
    );
  }
}

/** The error every call still waiting rejects with once the client is closed. */
export const closedError = (): ChatError => new ChatError(ClientErrorCode.Closed, "the chat client was closed");
