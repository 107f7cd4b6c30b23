import { compareMessageIds, formatMessageId, type ChatMessage } from "../../protocol/index.js";

/** The smallest message id: a `since` that asks for a room's whole log. */
export const BEGINNING = formatMessageId(0, 0);

/** What a stream orders: anything with an id that sorts, and the id of the one before it. */
export interface Sequenced {
  id: string;
  /** Id of the entry before this one in its log ("" for the first). */
  prev: string;
}

/** What a join answer (first join, resume, or gap fill) brought. */
export interface LoadResult<M extends Sequenced = ChatMessage> {
  /** New messages to deliver, in id order. */
  messages: M[];
  /** The log no longer reaches back to where this client stopped: messages were lost to it. */
  reset: boolean;
}

/** A join answer, as `RoomStream.load` takes it. */
export interface JoinAnswer<M extends Sequenced = ChatMessage> {
  history: readonly M[];
  recovered: boolean;
}

const byId = (a: Sequenced, b: Sequenced) => compareMessageIds(a.id, b.id);

/**
 * The delivery order of one room (or of any log whose entries chain by `prev`, such as a user's
 * DM feed): every message once, in id order, with nothing skipped.
 *
 * It remembers the last id delivered. A live message whose `prev` is that id is delivered at
 * once; one that arrived ahead of a missing one waits (`waiting` turns true) until a join answer
 * fills the gap. Anything at or below the last id is a duplicate and is dropped. Pure: no I/O,
 * no timers.
 *
 * @example
 * const stream = new RoomStream();
 * stream.load({ history: [m1], recovered: true }, undefined); // { messages: [m1], reset: false }
 * stream.receive(m3); // [] — m2 is missing, stream.waiting is true
 * stream.load({ history: [m2, m3], recovered: true }, stream.last); // { messages: [m2, m3], ... }
 */
export class RoomStream<M extends Sequenced = ChatMessage> {
  #last: string | undefined;
  /** Messages that arrived ahead of their predecessor, by `prev`. */
  readonly #early = new Map<string, M>();
  /**
   * A reset brought no messages: the log still does not reach back to `last`, so the next answer
   * that brings some is where delivery goes on, not another reset.
   */
  #unanchored = false;

  /**
   * @param last the id of the last message an earlier run delivered, to go on after it (as if a
   *   join answer had delivered up to it); undefined to start with a first join.
   */
  constructor(last?: string) {
    this.#last = last;
  }

  /**
   * Id of the last message delivered; "" when the room's log was empty at the first join;
   * `undefined` until the first join answer.
   */
  get last(): string | undefined {
    return this.#last;
  }

  /** The `since` of the next join: `undefined` for a first join, else "everything after `last`". */
  get since(): string | undefined {
    return this.#last === "" ? BEGINNING : this.#last;
  }

  /** Messages wait for a missing one: a join with `since` must fill the gap. */
  get waiting(): boolean {
    return this.#last !== undefined && this.#early.size > 0;
  }

  /** The smallest id among the messages waiting for a gap to be filled. */
  get earliestWaiting(): string | undefined {
    let earliest: string | undefined;
    for (const message of this.#early.values()) {
      if (earliest === undefined || compareMessageIds(message.id, earliest) < 0) earliest = message.id;
    }
    return earliest;
  }

  /**
   * Whether a load whose request was sent while `waitingFor` (the `earliestWaiting` then) waited
   * left it waiting: the log, read after that message arrived, does not hold what comes before
   * it, so the gap cannot be filled (see `skipGap`).
   */
  gapOutlived(waitingFor: string | undefined): boolean {
    const still = this.earliestWaiting;
    return waitingFor !== undefined && still !== undefined && compareMessageIds(still, waitingFor) <= 0;
  }

  /**
   * A live message. Returns what can be delivered now, in order: nothing for a duplicate or for
   * one that is ahead of a gap (kept until the gap is filled).
   */
  receive(message: M): M[] {
    if (this.#last !== undefined && compareMessageIds(message.id, this.#last) <= 0) return [];
    if (this.#last === undefined || message.prev !== this.#last) {
      this.#early.set(message.prev, message);
      return [];
    }
    this.#last = message.id;
    return [message, ...this.#drain()];
  }

  /**
   * A join answer whose request carried `since` = `requested` (`undefined` for a first join).
   * `history` is a run of the log after `requested`, oldest first.
   */
  load(answer: JoinAnswer<M>, requested: string | undefined): LoadResult<M> {
    const history = [...answer.history].sort(byId);
    const continues = history.length === 0 ? requested === "" : history[0]!.prev === requested;
    // The server compares against the log's retained range; a run that starts right after
    // `requested` proves nothing is missing even where it cannot tell (e.g. `since` = BEGINNING).
    const reset = requested !== undefined && !answer.recovered && !continues && !this.#unanchored;
    const messages: M[] = [];
    for (const message of history) {
      if (this.#last !== undefined && compareMessageIds(message.id, this.#last) <= 0) continue;
      messages.push(message);
      this.#last = message.id;
    }
    this.#last ??= "";
    this.#unanchored = messages.length === 0 && (reset || this.#unanchored);
    messages.push(...this.#drain());
    return { messages, reset };
  }

  /**
   * Gives up on a gap that joins could not fill: delivers the waiting messages in id order.
   */
  skipGap(): M[] {
    const waiting = [...this.#early.values()]
      .filter((message) => this.#last === undefined || compareMessageIds(message.id, this.#last) > 0)
      .sort(byId);
    this.#early.clear();
    const last = waiting[waiting.length - 1];
    if (last) this.#last = last.id;
    return waiting;
  }

  /** Delivers the waiting messages that now follow on, and drops those already delivered. */
  #drain(): M[] {
    const next: M[] = [];
    for (let message = this.#early.get(this.#last!); message; message = this.#early.get(this.#last!)) {
      this.#early.delete(message.prev);
      next.push(message);
      this.#last = message.id;
    }
    for (const [prev, message] of this.#early) {
      if (compareMessageIds(message.id, this.#last!) <= 0) this.#early.delete(prev);
    }
    return next;
  }
}
