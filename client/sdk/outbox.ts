import type { Ack, DirectSendResult, SendResult } from "../../protocol/index.js";
import type { BackoffOptions } from "./backoff.js";
import { untilAnswered } from "./retry.js";

/**
 * What the outbox sends: a room message or a direct message.
 *
 * @example
 * const request: OutboxRequest = { kind: "dm", to: "bob", text: "hi" };
 */
export type OutboxRequest = { kind: "room"; room: string; text: string } | { kind: "dm"; to: string; text: string };

/**
 * A message in the outbox, not yet acknowledged by the server.
 *
 * @example
 * client.on("pending", (pending) => showPending(pending.map((entry) => entry.clientId)));
 */
export type PendingEntry = Readonly<
  OutboxRequest & {
    /** Idempotency key: every attempt of this entry carries it, so the server stores it once. */
    clientId: string;
    /** When it was queued, epoch ms. */
    queuedAt: number;
    /** How many times it was sent so far. */
    attempts: number;
    /** Why the last attempt did not succeed: an error code, "timeout" or "disconnected". */
    lastError?: string;
  }
>;

/**
 * The identity of an entry queued before, by this client or an earlier one (say, a page before
 * it reloaded): sent again under it, so that the server stores the message once.
 *
 * @example
 * outbox.add({ kind: "room", room: "lobby", text: "hi" }, { clientId: saved.clientId, queuedAt: saved.queuedAt });
 */
export interface Requeued {
  clientId: string;
  /** When it was first queued, epoch ms. */
  queuedAt: number;
}

/** What an entry resolves with: `SendResult` for a room message, `DirectSendResult` for a DM. */
export type Delivery<R extends OutboxRequest> = R extends { kind: "room" } ? SendResult : DirectSendResult;

export interface OutboxOptions<C> {
  /** Resolves when `entry` may be sent, with what `transmit` needs (the socket to use). */
  ready(entry: PendingEntry): Promise<C>;
  /** Sends `entry` once; rejects with a `TransportError` when it got no answer. */
  transmit(entry: PendingEntry, context: C): Promise<Ack<SendResult | DirectSendResult>>;
  backoff: BackoffOptions;
  /** Aborting it rejects every entry with `signal.reason`. */
  signal: AbortSignal;
  /** Called whenever the pending list changes. */
  onChange?(pending: readonly PendingEntry[]): void;
  /** @default newClientId */
  clientId?: () => string;
  /** @default Date.now */
  now?: () => number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Item {
  entry: Mutable<PendingEntry>;
  resolve(result: SendResult | DirectSendResult): void;
  reject(error: unknown): void;
}

/**
 * A fresh idempotency key: a UUID, or 32 random hex digits where `crypto.randomUUID` is missing
 * (browser pages served over plain http).
 *
 * @example
 * newClientId() // "3b241101-e2bb-4255-8caf-4136c566a962"
 */
export function newClientId(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Sends messages in the order they were queued, one at a time, each until the server
 * acknowledges it: retried with backoff after retryable codes, ack timeouts and dropped
 * connections, always with the same `clientId`. An entry is given up only on a code retrying
 * cannot fix, and its promise rejects with that `ChatError`; the next entry goes on.
 *
 * One at a time keeps the log in queue order even across retries, at one round trip per message.
 *
 * @example
 * const outbox = new Outbox({ ready, transmit, backoff: DEFAULT_BACKOFF, signal });
 * const { message } = await outbox.add({ kind: "room", room: "lobby", text: "hi" });
 */
export class Outbox<C> {
  readonly #queue: Item[] = [];
  #running = false;

  constructor(private readonly options: OutboxOptions<C>) {}

  /**
   * The entries not yet acknowledged, oldest first (the first one may be in flight).
   *
   * @example
   * outbox.pending.map((entry) => entry.text)
   */
  get pending(): readonly PendingEntry[] {
    return this.#queue.map((item) => Object.freeze({ ...item.entry }));
  }

  /**
   * Queues a message. Resolves with the server's result once acknowledged; rejects with a
   * `ChatError` on a code that retrying cannot fix, or with the abort reason. `requeued` keeps
   * the `clientId` and `queuedAt` of a message queued before; without it, the entry gets new ones.
   *
   * @example
   * const { message, online } = await outbox.add({ kind: "dm", to: "bob", text: "hi" });
   */
  add<R extends OutboxRequest>(request: R, requeued?: Requeued): Promise<Delivery<R>> {
    if (this.options.signal.aborted) return Promise.reject(this.options.signal.reason);
    return new Promise<Delivery<R>>((resolve, reject) => {
      const entry = {
        ...request,
        clientId: requeued?.clientId ?? (this.options.clientId ?? newClientId)(),
        queuedAt: requeued?.queuedAt ?? (this.options.now ?? Date.now)(),
        attempts: 0,
      } as Mutable<PendingEntry>;
      this.#queue.push({ entry, resolve: resolve as Item["resolve"], reject });
      this.#changed();
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    for (let item = this.#queue[0]; item; item = this.#queue[0]) {
      const { entry } = item;
      let settle: () => void;
      try {
        const { ok: _, ...result } = await untilAnswered({
          ready: () => this.options.ready(entry),
          attempt: (context) => {
            entry.attempts += 1;
            this.#changed();
            return this.options.transmit(entry, context);
          },
          backoff: this.options.backoff,
          signal: this.options.signal,
          onRetry: (reason) => {
            entry.lastError = "code" in reason ? reason.code : reason.reason;
            this.#changed();
          },
        });
        settle = () => item!.resolve(result);
      } catch (error) {
        settle = () => item!.reject(error);
      }
      this.#queue.shift();
      this.#changed();
      settle();
    }
    this.#running = false;
  }

  #changed(): void {
    this.options.onChange?.(this.pending);
  }
}
