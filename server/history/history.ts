/** A message as a history log keeps it; the chat layer adds `room` or `to`. */
export interface StoredMessage {
  id: string;
  from: string;
  text: string;
  ts: number;
  /** Id of the message before this one in its log, "" for the first. */
  prev: string;
}

export interface AppendResult {
  message: StoredMessage;
  /** The clientId was seen before: `message` is the original, nothing new was stored. */
  duplicate: boolean;
}

export interface AfterResult {
  /** Messages after the given id, oldest first. */
  messages: StoredMessage[];
  /** False when the log no longer reaches back to the given id, so messages may be missing. */
  complete: boolean;
}

/**
 * Bounded, ordered logs of messages, one per room and one per DM pair, named by `log`.
 * Ids sort as strings in append order within a log.
 */
export interface History {
  /**
   * Appends a message, or with a `clientId` already used by `from` in this log, returns the
   * message that id produced the first time.
   */
  append(log: string, entry: { from: string; text: string; clientId?: string }): Promise<AppendResult>;
  /** The newest `limit` messages, oldest first. */
  latest(log: string, limit: number): Promise<StoredMessage[]>;
  /** Every message the log still holds after `id`, oldest first (the log itself is bounded). */
  after(log: string, id: string): Promise<AfterResult>;
  /** Up to `limit` messages before `id`, oldest first. */
  before(log: string, id: string, limit: number): Promise<StoredMessage[]>;
  close(): Promise<void>;
}

/** How long a clientId is remembered for deduplication. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
