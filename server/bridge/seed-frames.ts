import type { ChatMessage, Notice } from "../../protocol/index.js";

/** What the original demo sends for every message in a room. */
export interface SeedFrame {
  sender: string;
  msg: string;
  /** `MM月dd日 HH:mm:ss`, as the demo's SimpleDateFormat wrote it. */
  date: string;
}

/** The text the original demo sends when a connection opens. */
export const SEED_WELCOME = "连接成功";

/**
 * The `sender` of a notice. It cannot be a user's name (`[` and `]` are not allowed in names), so a
 * notice never passes for a member's message.
 */
export const NOTICE_SENDER = "[notice]";

export interface SeedFramesOptions {
  /** IANA time zone of `date`; undefined means the server's. */
  timeZone?: string;
  /** Escape `sender` and `msg` for the original page, which puts them in with innerHTML. */
  escapeHtml: boolean;
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes the five characters that can start markup or leave an attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

/**
 * Formats epoch milliseconds as the demo's `MM月dd日 HH:mm:ss` in a time zone.
 *
 * @example
 * seedDateFormatter("Asia/Shanghai")(Date.UTC(2026, 0, 2, 16, 4, 5)) // "01月03日 00:04:05"
 */
export function seedDateFormatter(timeZone?: string): (ts: number) => string {
  const format = new Intl.DateTimeFormat("en-US", {
    ...(timeZone !== undefined ? { timeZone } : {}),
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  return (ts) => {
    const part: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
    for (const { type, value } of format.formatToParts(ts)) part[type] = value;
    return `${part.month}月${part.day}日 ${part.hour}:${part.minute}:${part.second}`;
  };
}

/**
 * Translates what Socket.IO broadcasts to a room into the demo's JSON text frames: a member's
 * message and a notice become `{ sender, msg, date }`; the events the demo never had (presence,
 * typing, DMs) become nothing.
 */
export function seedFrames(options: SeedFramesOptions) {
  const date = seedDateFormatter(options.timeZone);
  const text = options.escapeHtml ? escapeHtml : (value: string) => value;
  const frame = (sender: string, msg: string, ts: number): string =>
    JSON.stringify({ sender: text(sender), msg: text(msg), date: date(ts) } satisfies SeedFrame);
  return {
    /**
     * The frame for a broadcast event of a room the member is in, or undefined for an event the
     * demo has no frame for (or one of another room).
     */
    fromEvent(event: unknown, payload: unknown, room: string): string | undefined {
      if (event === "room:message") {
        const message = payload as ChatMessage;
        return message.room === room ? frame(message.from, message.text, message.ts) : undefined;
      }
      if (event === "notice") {
        const notice = payload as Notice;
        return notice.room === undefined || notice.room === room
          ? frame(NOTICE_SENDER, notice.text, notice.ts)
          : undefined;
      }
      return undefined;
    },
  };
}
