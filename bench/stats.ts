/** The median of the finite-or-infinite numbers given; undefined when there are none. */
export function median(values: ReadonlyArray<number | undefined>): number | undefined {
  const sorted = values
    .filter((value): value is number => value !== undefined && !Number.isNaN(value))
    .sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle];
  const low = sorted[middle - 1]!;
  const high = sorted[middle]!;
  return low === high ? low : (low + high) / 2;
}

/** `a / b`, or undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return undefined;
  return a / b;
}

/** The sum of `values`. */
export const total = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0);
