/**
 * The most recent ids seen, to deliver each at most once; the oldest are forgotten past
 * `capacity`.
 *
 * @example
 * const seen = new SeenIds(1000);
 * seen.add("0001700000000000-000000"); // true: new
 * seen.add("0001700000000000-000000"); // false: a duplicate
 */
export class SeenIds {
  readonly #ids = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  /** Remembers `id`; false when it was already remembered. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.capacity) {
      const oldest = this.#ids.values().next();
      if (!oldest.done) this.#ids.delete(oldest.value);
    }
    return true;
  }
}
