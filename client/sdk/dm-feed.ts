import { ErrorCode, LIMITS, type DirectMessage } from "../../protocol/index.js";
import type { BackoffOptions } from "./backoff.js";
import { ChatError } from "./errors.js";
import { untilAnswered } from "./retry.js";
import { RoomStream } from "./room-stream.js";
import { call, type ChatSocket } from "./transport.js";

/** A DM at its place in the user's DM feed, as the stream orders it. */
interface FeedEntry {
  id: string;
  prev: string;
  dm: DirectMessage;
}

const entryOf = (dm: DirectMessage & { feedId: string }): FeedEntry => ({
  id: dm.feedId,
  prev: dm.feedPrev ?? "",
  dm,
});

/** What the feed needs of its client. */
export interface DirectFeedOptions {
  /** The `feedId` of the last DM an earlier run of the app handled; undefined to start fresh. */
  since: string | undefined;
  /** The current connection, if any. */
  current(): ChatSocket | undefined;
  /** Resolves with the connection once there is one; rejects when `signal` aborts. */
  whenConnected(signal: AbortSignal): Promise<ChatSocket>;
  ackTimeoutMs: number;
  backoff: BackoffOptions;
  gapWaitMs: number;
  /** Aborted when the client closes. */
  signal: AbortSignal;
  /** Hands over DMs in feed order, each once. */
  deliver(dm: DirectMessage): void;
  /** The feed no longer reached back to `since`, the last DM delivered: DMs after it were lost. */
  reset(since: string | undefined): void;
  /** The server keeps no feed for this client (its name is not proven): only live DMs come. */
  refused(error: ChatError): void;
  /** `dm:sync` failed for good otherwise (e.g. a `since` the server does not take). */
  failed(error: ChatError): void;
}

/**
 * The user's DM feed, kept whole across reconnects as a room is: on every connection it asks
 * `dm:sync` for what came after the last DM delivered, and fills a gap that live DMs show (a
 * `feedPrev` that is not the last one delivered). Every DM once, in feed order.
 */
export class DirectFeed {
  readonly #stream: RoomStream<FeedEntry>;
  /** The connection the latest `dm:sync` was answered on. */
  #syncedOn: ChatSocket | undefined;
  /** The latest answer was a full page: more may follow it. */
  #more = false;
  #syncing = false;
  #refused = false;
  #gapTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: DirectFeedOptions) {
    this.#stream = new RoomStream<FeedEntry>(options.since);
  }

  /** The `feedId` of the last DM delivered; undefined before the first sync. */
  get last(): string | undefined {
    return this.#stream.last || undefined;
  }

  /** Whether the server refused to serve the feed: DMs then come live only. */
  get refused(): boolean {
    return this.#refused;
  }

  /** A live DM with its feed place (from an event or a `dm:send` ack). */
  receive(dm: DirectMessage & { feedId: string }): void {
    if (this.#refused) {
      this.options.deliver(dm);
      return;
    }
    for (const entry of this.#stream.receive(entryOf(dm))) this.options.deliver(entry.dm);
    this.#watchGap();
  }

  /** Reads what the feed holds after the last DM delivered, unless that is under way. */
  sync(): void {
    if (this.#syncing || this.#refused) return;
    this.#syncing = true;
    clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
    void this.#syncLoop();
  }

  /** Stops the gap timer (the client closed). */
  stop(): void {
    clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
  }

  async #syncLoop(): Promise<void> {
    const { signal } = this.options;
    const stream = this.#stream;
    const needsSync = () =>
      !signal.aborted && (this.#syncedOn !== this.options.current() || this.#more || stream.waiting);
    try {
      while (needsSync()) {
        let requested: string | undefined;
        let waitingFor: string | undefined;
        let socket!: ChatSocket;
        const answer = await untilAnswered({
          ready: () => this.options.whenConnected(signal),
          attempt: (current) => {
            socket = current;
            requested = stream.last;
            waitingFor = stream.earliestWaiting;
            const since = stream.since;
            return call(current, "dm:sync", since === undefined ? {} : { since }, this.options.ackTimeoutMs);
          },
          backoff: this.options.backoff,
          signal,
        });
        const entries = answer.messages.flatMap((dm) =>
          dm.feedId === undefined ? [] : [entryOf({ ...dm, feedId: dm.feedId })],
        );
        const { messages, reset } = stream.load({ history: entries, recovered: answer.recovered }, requested);
        this.#syncedOn = socket;
        // A full page may have more after it (unless it brought nothing new: no point asking again).
        this.#more = entries.length >= LIMITS.maxHistoryPage && stream.last !== requested;
        if (reset) this.options.reset(requested || undefined);
        for (const entry of messages) this.options.deliver(entry.dm);
        if (!this.#more && stream.gapOutlived(waitingFor)) {
          this.options.reset(this.last);
          for (const entry of stream.skipGap()) this.options.deliver(entry.dm);
        }
      }
    } catch (error) {
      if (signal.aborted || !(error instanceof ChatError)) return;
      // Refused (no feed for an unproven name) or unreadable: deliver what waits, and live DMs from now on.
      this.#refused = true;
      for (const entry of stream.skipGap()) this.options.deliver(entry.dm);
      if (error.code === ErrorCode.Forbidden) this.options.refused(error);
      else this.options.failed(error);
    } finally {
      this.#syncing = false;
    }
    this.#watchGap();
  }

  /** Fills a gap that a late DM did not close within `gapWaitMs`. */
  #watchGap(): void {
    if (!this.#stream.waiting || this.options.signal.aborted) {
      this.stop();
      return;
    }
    if (this.#gapTimer !== undefined || this.#syncing) return;
    this.#gapTimer = setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.#stream.waiting) this.sync();
    }, this.options.gapWaitMs);
  }
}
