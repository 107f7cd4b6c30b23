/**
 * The text of a benchmark chat message: the intended send time (monotonic ms, see clock.ts) and a
 * sequence number, padded to a fixed length, e.g. `1234567.125 42 xxxx…`. Receivers read the latency
 * off the message itself, so it is measured from the moment the open-loop schedule meant to send it.
 */
export function encodeText(intendedAt: number, seq: number, length: number): string {
  const head = `${intendedAt.toFixed(3)} ${seq} `;
  return head.length >= length ? head : head + "x".repeat(length - head.length);
}

/** The intended send time carried by a text, or NaN when it is not a benchmark message. */
export function intendedAtOf(text: unknown): number {
  if (typeof text !== "string") return Number.NaN;
  return Number.parseFloat(text);
}

/** The text of a flooder's message (scenario 7): it carries no send time, so no receiver measures it. */
export function encodeFloodText(seq: number, length: number): string {
  const head = `flood ${seq} `;
  return head.length >= length ? head : head + "x".repeat(length - head.length);
}
