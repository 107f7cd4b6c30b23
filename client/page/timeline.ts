import { avatar, h, hiddenText, placeInOrder, setChildren } from "./dom.js";
import { dayKey, dayLabel, fullLabel, timeLabel } from "./format.js";

/** What the timeline shows of a room message or a direct message. */
export interface TimelineMessage {
  id: string;
  from: string;
  text: string;
  ts: number;
  /** Deleted by a moderator: shown as such, without text. */
  deleted?: true;
}

/** What a deleted message shows instead of its text. */
export const DELETED_TEXT = "This message was deleted.";

/**
 * How a change should move the view:
 * - `incoming`: others' messages; follow them only when the reader is at the bottom;
 * - `quiet`: notices and status; follow when at the bottom, never announce;
 * - `own`: the reader just sent; always go to the bottom;
 * - `older`: history above; keep what the reader sees where it is;
 * - `reset`: everything changed; go to the bottom.
 */
export type Change = "incoming" | "quiet" | "own" | "older" | "reset";

/** The scrolling area a timeline is shown in. */
export interface TimelineHost {
  /** Called before a change, with the result handed to `settle` after it. */
  capture(): unknown;
  settle(captured: unknown, change: Change): void;
}

interface BaseEntry {
  /** Sort key: message ids, with notices and pending messages placed between them. */
  key: string;
  ts: number;
  element: HTMLLIElement;
}
interface MessageEntry extends BaseEntry {
  kind: "message";
  from: string;
}
interface PendingEntry extends BaseEntry {
  kind: "pending";
  from: string;
  text: string;
  status: HTMLSpanElement;
  failed: boolean;
}
interface NoticeEntry extends BaseEntry {
  kind: "notice";
}
type Entry = MessageEntry | PendingEntry | NoticeEntry;

/** Messages of one sender less than this apart are drawn as one group. */
const GROUP_GAP_MS = 5 * 60_000;

// "~" sorts after every character of a message id, "!" before all of them, and U+FFFF after all.
const AFTER_ID = "~";
const BEFORE_IDS = "!";
const AT_END = "\uffff";

export interface TimelineOptions {
  /** The signed-in user: their messages go on the right. */
  me: string;
  /** Accessible name of the list, e.g. "Messages in lobby". */
  label: string;
  /** Sends a failed message again (the timeline has already removed it). */
  onRetry?: (text: string) => void;
}

/**
 * One conversation's messages as an ordered list: day separators, sender groups, notices, and
 * messages still being sent. Messages are kept once each, in id order, however they arrive.
 */
export class Timeline {
  readonly list: HTMLOListElement;
  private readonly entries: Entry[] = [];
  private readonly messageIds = new Set<string>();
  private readonly separators = new Map<string, HTMLLIElement>();
  private host: TimelineHost | undefined;
  private sequence = 0;
  private connected = true;

  constructor(private readonly options: TimelineOptions) {
    this.list = h("ol", { class: "timeline", role: "list", "aria-label": options.label });
  }

  /** The oldest message shown, for paging back through history. */
  get oldestId(): string | undefined {
    return this.entries.find((entry) => entry.kind === "message")?.key;
  }

  /** The newest message shown. */
  get newestId(): string | undefined {
    return this.entries.findLast((entry) => entry.kind === "message")?.key;
  }

  /** Shows the timeline in `host`, which then keeps the scroll position across changes. */
  attach(host: TimelineHost | undefined): void {
    this.host = host;
  }

  /**
   * Adds messages not already shown, each in its place by id. A message of the user's own that
   * matches one still pending replaces it. Returns the messages that were new.
   */
  add(messages: readonly TimelineMessage[], change: Change = "incoming"): TimelineMessage[] {
    const added: TimelineMessage[] = [];
    let own = false;
    this.change(
      change,
      () => {
        for (const message of messages) {
          if (this.messageIds.has(message.id)) continue;
          this.messageIds.add(message.id);
          if (message.from === this.options.me) {
            own = true;
            this.removePendingLike(message.text);
          }
          const element = this.messageElement(message);
          this.insert({ kind: "message", key: message.id, ts: message.ts, from: message.from, element });
          added.push(message);
        }
      },
      () => (own && change === "incoming" ? "own" : change),
    );
    return added;
  }

  /** Shows a message as deleted (a moderator removed it): its text goes, its place stays. */
  markDeleted(id: string): void {
    const element = this.entries.find((entry) => entry.kind === "message" && entry.key === id)?.element;
    const text = element?.querySelector(".text");
    if (!element || !text) return;
    element.classList.add("deleted");
    text.textContent = DELETED_TEXT;
  }

  /** A line such as "ann joined", placed after the newest message shown now. */
  addNotice(text: string, ts: number = Date.now()): void {
    const newest = this.newestId;
    const key = `${newest === undefined ? BEFORE_IDS : newest + AFTER_ID}${this.nextSequence()}`;
    this.change("quiet", () => {
      this.insert({ kind: "notice", key, ts, element: h("li", { class: "entry notice" }, text) });
    });
  }

  /**
   * Shows the user's message as pending, at the end; returns its key for `confirm` or `fail`.
   * `ts` is when it was written (earlier than now for one kept across a reload).
   */
  addPending(text: string, ts: number = Date.now()): string {
    const key = AT_END + this.nextSequence();
    const status = h("span", { class: "status" }, this.pendingLabel());
    const element = h(
      "li",
      { class: "entry message own pending" },
      h(
        "div",
        { class: "body" },
        h("span", { class: "author visually-hidden" }, "You"),
        h("p", { class: "bubble" }, h("span", { class: "text" }, text), status),
      ),
    );
    this.change("own", () => {
      const { me } = this.options;
      this.insert({ kind: "pending", key, ts, from: me, text, status, failed: false, element });
    });
    return key;
  }

  /** The pending message was delivered as `message`. */
  confirm(pendingKey: string, message: TimelineMessage): void {
    this.change("quiet", () => this.remove(pendingKey));
    this.add([message], "quiet");
  }

  /** The pending message was refused: say why, and offer to send it again or drop it. */
  fail(pendingKey: string, reason: string): void {
    const entry = this.entries.find((candidate) => candidate.key === pendingKey);
    if (entry?.kind !== "pending") return;
    entry.failed = true;
    entry.element.classList.add("failed");
    const retry = h("button", { type: "button", class: "link-button" }, "Retry");
    const discard = h("button", { type: "button", class: "link-button" }, "Discard");
    retry.addEventListener("click", () => {
      this.change("quiet", () => this.remove(pendingKey));
      this.options.onRetry?.(entry.text);
    });
    discard.addEventListener("click", () => this.change("quiet", () => this.remove(pendingKey)));
    const sentence = `Not sent: ${reason.replace(/\.$/, "")}. `;
    this.change("quiet", () => setChildren(entry.status, sentence, retry, " ", discard));
  }

  /** Pending messages say whether they are on their way or waiting for the connection. */
  setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const entry of this.entries) {
      if (entry.kind === "pending" && !entry.failed) entry.status.textContent = this.pendingLabel();
    }
  }

  private pendingLabel(): string {
    return this.connected ? "Sending…" : "Waiting for the connection…";
  }

  private nextSequence(): string {
    this.sequence += 1;
    return String(this.sequence).padStart(8, "0");
  }

  private removePendingLike(text: string): void {
    const pending = this.entries.find((entry) => entry.kind === "pending" && !entry.failed && entry.text === text);
    if (pending) this.remove(pending.key);
  }

  private remove(key: string): void {
    const index = this.entries.findIndex((entry) => entry.key === key);
    if (index >= 0) this.entries.splice(index, 1);
  }

  private insert(entry: Entry): void {
    // Binary search for the first entry with a larger key; new entries mostly go last.
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.entries[middle]?.key ?? "") <= entry.key) low = middle + 1;
      else high = middle;
    }
    this.entries.splice(low, 0, entry);
  }

  /** Runs `work`, redraws what changed, and lets the host keep or move the scroll position. */
  private change(change: Change, work: () => void, finalChange: () => Change = () => change): void {
    const captured = this.host?.capture();
    work();
    this.render();
    this.host?.settle(captured, finalChange());
  }

  /** Brings the list in line with the entries, moving only the elements that are out of place. */
  private render(): void {
    const wanted: HTMLLIElement[] = [];
    let previousDay = "";
    let previous: Entry | undefined;
    for (const entry of this.entries) {
      const day = dayKey(entry.ts);
      if (day !== previousDay) {
        wanted.push(this.separator(day, entry.ts));
        previousDay = day;
        previous = undefined;
      }
      const grouped =
        entry.kind !== "notice" &&
        previous !== undefined &&
        previous.kind !== "notice" &&
        previous.from === entry.from &&
        entry.ts - previous.ts < GROUP_GAP_MS;
      entry.element.classList.toggle("continued", grouped);
      wanted.push(entry.element);
      previous = entry;
    }
    placeInOrder(this.list, wanted);
  }

  private separator(day: string, ts: number): HTMLLIElement {
    let element = this.separators.get(day);
    if (!element) {
      element = h("li", { class: "day" }, h("span", {}));
      this.separators.set(day, element);
    }
    // Relabel on every redraw: "Today" becomes "Yesterday" after midnight.
    const label = element.firstElementChild;
    const text = dayLabel(ts);
    if (label && label.textContent !== text) label.textContent = text;
    return element;
  }

  private messageElement(message: TimelineMessage): HTMLLIElement {
    const own = message.from === this.options.me;
    const time = h(
      "time",
      { datetime: new Date(message.ts).toISOString(), title: fullLabel(message.ts) },
      timeLabel(message.ts),
    );
    return h(
      "li",
      { class: `entry message ${own ? "own" : "other"}${message.deleted ? " deleted" : ""}`, "data-id": message.id },
      own ? null : avatar(message.from),
      h(
        "div",
        { class: "body" },
        own ? h("span", { class: "author visually-hidden" }, "You") : h("span", { class: "author" }, message.from),
        h(
          "p",
          { class: "bubble" },
          h("span", { class: "text" }, message.deleted ? DELETED_TEXT : message.text),
          hiddenText(" at "),
          time,
        ),
      ),
    );
  }
}
