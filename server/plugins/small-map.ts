/** SameValueZero, how a Map compares keys: NaN is NaN, and -0 is 0. */
const sameKey = (a: unknown, b: unknown): boolean => a === b || (a !== a && b !== b);

/**
 * A Map for tables that mostly hold no entry or one: Socket.IO keeps three per connection (a
 * client's sockets and namespaces, a socket's pending acks), and an empty or one-entry Map costs
 * about 240 bytes of hash table. This holds one entry in two fields, and moves to a real Map only
 * at a second. It has the Map methods Socket.IO uses, and the rest of the Map API too, so that any
 * caller sees a Map's behaviour: insertion order, `size`, iteration while entries are deleted.
 */
export class SmallMap<K, V> implements Map<K, V> {
  #key: K | undefined;
  #value: V | undefined;
  #hasOne = false;
  #map: Map<K, V> | undefined;

  /** A SmallMap holding the entries of `entries`, in their order. */
  constructor(entries?: Iterable<readonly [K, V]>) {
    if (entries) for (const [key, value] of entries) this.set(key, value);
  }

  get size(): number {
    return this.#map?.size ?? (this.#hasOne ? 1 : 0);
  }

  get(key: K): V | undefined {
    if (this.#map) return this.#map.get(key);
    return this.#hasOne && sameKey(this.#key, key) ? this.#value : undefined;
  }

  has(key: K): boolean {
    if (this.#map) return this.#map.has(key);
    return this.#hasOne && sameKey(this.#key, key);
  }

  set(key: K, value: V): this {
    if (this.#map) {
      this.#map.set(key, value);
    } else if (!this.#hasOne || sameKey(this.#key, key)) {
      // A Map keeps -0 as 0.
      this.#key = (key === 0 ? 0 : key) as K;
      this.#value = value;
      this.#hasOne = true;
    } else {
      this.#map = new Map([[this.#key as K, this.#value as V]]);
      this.#map.set(key, value);
      this.#forgetOne();
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.#map) return this.#map.delete(key);
    if (!this.#hasOne || !sameKey(this.#key, key)) return false;
    this.#forgetOne();
    return true;
  }

  clear(): void {
    this.#map = undefined;
    this.#forgetOne();
  }

  forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this) callback.call(thisArg, value, key, this);
  }

  *entries(): MapIterator<[K, V]> {
    if (this.#map) {
      yield* this.#map.entries();
    } else if (this.#hasOne) {
      yield [this.#key as K, this.#value as V];
    }
  }

  *keys(): MapIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "SmallMap";
  }

  #forgetOne(): void {
    this.#key = undefined;
    this.#value = undefined;
    this.#hasOne = false;
  }
}
