/** How the dashboard writes numbers, sizes and durations. */

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });

export const count = (value: number): string => integer.format(value);

/** 1.5 → "1.5", 0 → "0.0". */
export const rate = (value: number): string => decimal.format(value);

/** Bytes as MiB, e.g. "84.2 MiB". */
export const mebibytes = (bytes: number): string => `${decimal.format(bytes / 1024 / 1024)} MiB`;

export const milliseconds = (ms: number): string => `${decimal.format(ms)} ms`;

/** A duration in whole units, the two largest: "2 d 3 h", "4 h 12 min", "5 min 3 s", "42 s". */
export function duration(seconds: number): string {
  const units: [number, string][] = [
    [86_400, "d"],
    [3600, "h"],
    [60, "min"],
    [1, "s"],
  ];
  let rest = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [size, unit] of units) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0 || (parts.length === 0 && size === 1)) parts.push(`${amount} ${unit}`);
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** How long ago `then` was at `now`, e.g. "3 s ago". */
export const ago = (then: number, now: number): string => `${duration((now - then) / 1000)} ago`;
