/**
 * Whether a token's `rooms` claim lets its user join `room`. Each entry is an exact room name, or
 * a prefix written `team-*`; `*` alone allows every room, and so does a token without the claim.
 *
 * @example
 * roomAllowed(["lobby", "team-*"], "team-red") // true
 * roomAllowed(["lobby", "team-*"], "random")   // false
 */
export function roomAllowed(patterns: readonly string[] | undefined, room: string): boolean {
  if (patterns === undefined) return true;
  return patterns.some((raw) => {
    // Room names are NFKC-normalized; so are the patterns, so that they compare alike.
    const pattern = raw.normalize("NFKC");
    return pattern.endsWith("*") ? room.startsWith(pattern.slice(0, -1)) : room === pattern;
  });
}
