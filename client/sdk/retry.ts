import { ErrorCode, type Ack, type ErrorBody } from "../../protocol/index.js";
import { Backoff, delay, type BackoffOptions } from "./backoff.js";
import { ChatError } from "./errors.js";
import { TransportError } from "./transport.js";

/** One request the SDK keeps making until the server answers it for good. */
export interface RetryPlan<C, T extends object> {
  /** Resolves when the request may be made, with what `attempt` needs (the socket to use). */
  ready(): Promise<C>;
  /** Makes the request once; rejects with a `TransportError` when it got no answer. */
  attempt(context: C): Promise<Ack<T>>;
  backoff: BackoffOptions;
  /** Aborting it stops the retries: the call rejects with `signal.reason`. */
  signal: AbortSignal;
  /** Called before each wait for a retry, with why. */
  onRetry?(reason: ChatError | TransportError): void;
}

/** Reads an ack defensively: an answer of the wrong shape counts as the server's bug. */
function readAck<T extends object>(answer: unknown): Ack<T> {
  if (typeof answer === "object" && answer !== null && "ok" in answer) {
    if (answer.ok === true) return answer as Ack<T>;
    const error =
      "error" in answer ? (answer.error as { code?: unknown; message?: unknown; retryAfterMs?: unknown }) : undefined;
    if (answer.ok === false && typeof error?.code === "string") {
      const body: ErrorBody = { code: error.code as ErrorCode, message: String(error.message ?? error.code) };
      if (typeof error.retryAfterMs === "number" && error.retryAfterMs > 0) body.retryAfterMs = error.retryAfterMs;
      return { ok: false, error: body };
    }
  }
  return { ok: false, error: { code: ErrorCode.Internal, message: "the server answered with a malformed ack" } };
}

/**
 * Makes a request until it is answered: retries with backoff after a retryable error code, an ack
 * timeout or a dropped connection; resolves with the `{ ok: true, ... }` ack; rejects with a
 * `ChatError` on a code retrying cannot fix, or with `signal.reason` once aborted.
 *
 * @example
 * const ack = await untilAnswered({
 *   ready: () => whenConnected(),
 *   attempt: (socket) => call(socket, "rooms:list", {}, 10_000),
 *   backoff: DEFAULT_BACKOFF,
 *   signal,
 * });
 */
export async function untilAnswered<C, T extends object>(plan: RetryPlan<C, T>): Promise<{ ok: true } & T> {
  const backoff = new Backoff(plan.backoff);
  for (;;) {
    plan.signal.throwIfAborted();
    const context = await plan.ready();
    plan.signal.throwIfAborted();
    let ack: Ack<T>;
    try {
      ack = readAck<T>(await plan.attempt(context));
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      plan.onRetry?.(error);
      await delay(backoff.next(), plan.signal);
      continue;
    }
    if (ack.ok) return ack;
    const error = ChatError.fromBody(ack.error);
    if (!error.retryable) throw error;
    plan.onRetry?.(error);
    // A rate limit says how long to wait: retrying sooner would only be refused again.
    await delay(Math.max(backoff.next(), error.retryAfterMs ?? 0), plan.signal);
  }
}
