import { CLIENT_EVENTS, ErrorCode } from "../../protocol/index.js";
import { ACK_BUCKETS, DurationHistogram, REDIS_BUCKETS } from "./histogram.js";

/** Counts by a label whose values are few and known in advance (error codes, limit names). */
export class CountsByLabel {
  private readonly counts = new Map<string, number>();

  inc(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }

  get(label: string): number {
    return this.counts.get(label) ?? 0;
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }
}

/** Event label of anything a client sends that is not a protocol event, so that names cannot grow the series. */
const OTHER_EVENT = "other";
/** Outcome of an event the client sent without an ack callback: the server does the work, but answers nothing. */
const NO_ACK = "no_ack";

/** `event` label values: the protocol's client events, then "other". */
export const EVENT_LABELS: readonly string[] = [...CLIENT_EVENTS, OTHER_EVENT];
/** `outcome` label values: "ok", every error code, then "no_ack". */
export const OUTCOME_LABELS: readonly string[] = ["ok", ...Object.values(ErrorCode), NO_ACK];

const EVENT_SLOTS = new Map<unknown, number>(EVENT_LABELS.map((event, slot) => [event, slot]));
const OUTCOME_SLOTS = new Map<unknown, number>(OUTCOME_LABELS.map((outcome, slot) => [outcome, slot]));
const OK = 0;
const INTERNAL = OUTCOME_SLOTS.get(ErrorCode.Internal)!;
const UNANSWERED = OUTCOME_SLOTS.get(NO_ACK)!;

/**
 * Client events by event and outcome, and their ack latency by event: typed arrays indexed by
 * slot, so that counting one event is an array increment.
 */
export class ClientEventTally {
  private readonly counts = new Float64Array(EVENT_LABELS.length * OUTCOME_LABELS.length);
  /** Ack latency per event slot. */
  readonly latency = EVENT_LABELS.map(() => new DurationHistogram(ACK_BUCKETS));

  /** The slot of an event name as a client sent it (anything unknown is "other"). */
  slotOf(event: unknown): number {
    return EVENT_SLOTS.get(event) ?? EVENT_SLOTS.get(OTHER_EVENT)!;
  }

  /** An event was answered with `answer` (an `Ack`), `seconds` after it arrived. */
  answered(slot: number, answer: unknown, seconds: number): void {
    this.counts[slot * OUTCOME_LABELS.length + outcomeOf(answer)]! += 1;
    this.latency[slot]!.observe(seconds);
  }

  /** An event came without an ack callback. */
  unacknowledged(slot: number): void {
    this.counts[slot * OUTCOME_LABELS.length + UNANSWERED]! += 1;
  }

  /** Every (event, outcome) counted at least once. */
  *entries(): Generator<[event: string, outcome: string, count: number]> {
    for (let slot = 0; slot < EVENT_LABELS.length; slot += 1) {
      for (let outcome = 0; outcome < OUTCOME_LABELS.length; outcome += 1) {
        const count = this.counts[slot * OUTCOME_LABELS.length + outcome]!;
        if (count > 0) yield [EVENT_LABELS[slot]!, OUTCOME_LABELS[outcome]!, count];
      }
    }
  }

  count(event: string, outcome: string): number {
    const slot = EVENT_SLOTS.get(event);
    const column = OUTCOME_SLOTS.get(outcome);
    return slot === undefined || column === undefined ? 0 : this.counts[slot * OUTCOME_LABELS.length + column]!;
  }
}

/** The outcome slot of an ack: "ok", the error's code, or "internal" for a shape the protocol does not have. */
function outcomeOf(answer: unknown): number {
  const ack = answer as { ok?: unknown; error?: { code?: unknown } } | null | undefined;
  if (ack?.ok === true) return OK;
  return OUTCOME_SLOTS.get(ack?.error?.code) ?? INTERNAL;
}

/**
 * What a node counts, as plain numbers that the hot paths bump. Prometheus reads them when it
 * scrapes (see `metricsRegistry`), and the admin dashboard's sampler reads the message count.
 */
export class Tallies {
  readonly events = new ClientEventTally();
  /** Messages appended to a room's log (repeats of a clientId are not). */
  roomMessages = 0;
  /** DMs appended to their conversation's log. */
  directMessages = 0;
  /** Socket.IO packets written to clients' connections. */
  framesDelivered = 0;
  /** Messages the Socket.IO adapter published to Redis, and received from it. */
  adapterPublished = 0;
  adapterReceived = 0;
  /** Refused Socket.IO handshakes, by error code. */
  readonly handshakesRefused = new CountsByLabel();
  /** Requests refused by a rate limit, by the limit's name. */
  readonly rateLimited = new CountsByLabel();
  /** Presence entries taken back from dead nodes: users' node entries and room memberships. */
  reapedUsers = 0;
  reapedRoomMembers = 0;
  /** Redis command latency, by command ("script" for a Lua script). */
  readonly redisLatency = new Map<string, DurationHistogram>();

  /** The latency histogram of one Redis command, made on its first use. */
  redisCommand(command: string): DurationHistogram {
    let histogram = this.redisLatency.get(command);
    if (!histogram) this.redisLatency.set(command, (histogram = new DurationHistogram(REDIS_BUCKETS)));
    return histogram;
  }

  /** Messages appended so far, rooms and DMs together. */
  get messages(): number {
    return this.roomMessages + this.directMessages;
  }
}
