/** Dates and times as the reader's locale writes them. */

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const dayWithYearFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  year: "numeric",
  month: "long",
  day: "numeric",
});

/** The local calendar day of a timestamp, e.g. "2026-11-25": equal keys mean the same day. */
export function dayKey(ts: number): string {
  const date = new Date(ts);
  const month = String(date.getMonth() + 1).padStart(2, "0");
  const day = String(date.getDate()).padStart(2, "0");
  return `${date.getFullYear()}-${month}-${day}`;
}

/** "Today", "Yesterday", or the date ("Monday, November 23"; with the year when not this year). */
export function dayLabel(ts: number, now: number = Date.now()): string {
  const key = dayKey(ts);
  if (key === dayKey(now)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (key === dayKey(yesterday.getTime())) return "Yesterday";
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear();
  return (sameYear ? dayFormat : dayWithYearFormat).format(ts);
}

/** "14:03" (or "2:03 PM"), for beside a message. */
export function timeLabel(ts: number): string {
  return timeFormat.format(ts);
}

/** The full date and time, for a tooltip. */
export function fullLabel(ts: number): string {
  return fullFormat.format(ts);
}

/** Names in a sentence: "ann", "ann and bob", "ann, bob and cy". */
export function listNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** The reason an SDK or server error gives, for showing to a person. */
export function reasonOf(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === "string" && message !== "") return message;
  }
  return typeof error === "string" && error !== "" ? error : "something went wrong";
}
