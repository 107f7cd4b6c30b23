/**
 * SmallMap (server/plugins/small-map.ts) behaves as a Map: the same answers to every call, in the
 * same order, through runs of random operations on few keys, and while iterating and deleting.
 */
import { describe, expect, it } from "vitest";
import { SmallMap } from "../server/plugins/small-map.js";

/** A small deterministic generator (mulberry32), so that a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const snapshot = (map: Map<unknown, unknown>) => ({
  size: map.size,
  entries: [...map],
  keys: [...map.keys()],
  values: [...map.values()],
  forEach: (() => {
    const seen: unknown[] = [];
    map.forEach((value, key, self) => seen.push([key, value, self === map]));
    return seen;
  })(),
});

describe("SmallMap", () => {
  it("answers every call as a Map does, through random runs on 0 to 3 keys", () => {
    const keys = ["a", "b", "c", NaN, 0, -0];
    for (let seed = 1; seed <= 200; seed += 1) {
      const next = random(seed);
      const map = new Map<unknown, number>();
      const small = new SmallMap<unknown, number>();
      for (let step = 0; step < 40; step += 1) {
        const key = keys[Math.floor(next() * 4) + (next() < 0.2 ? 2 : 0)];
        const operation = Math.floor(next() * 5);
        const label = `seed ${seed}, step ${step}, operation ${operation}, key ${String(key)}`;
        if (operation === 0) expect(small.set(key, step), label).toBe(small);
        if (operation === 0) map.set(key, step);
        if (operation === 1) expect(small.delete(key), label).toBe(map.delete(key));
        if (operation === 2) expect(small.get(key), label).toBe(map.get(key));
        if (operation === 3) expect(small.has(key), label).toBe(map.has(key));
        if (operation === 4 && next() < 0.1) {
          small.clear();
          map.clear();
        }
        expect(snapshot(small), label).toEqual(snapshot(map));
      }
    }
  });

  it("lets a loop delete the entry it is at, as Socket.IO's client does when it closes its sockets", () => {
    for (const count of [1, 2, 3]) {
      const small = new SmallMap<string, number>(Array.from({ length: count }, (_, index) => [`k${index}`, index]));
      const seen: number[] = [];
      for (const value of small.values()) {
        seen.push(value);
        small.delete(`k${value}`);
      }
      expect(seen).toEqual(Array.from({ length: count }, (_, index) => index));
      expect(small.size).toBe(0);
    }
  });

  it("starts from the entries it is given, and says what it is", () => {
    const small = new SmallMap([["x", 1]]);
    expect([...small]).toEqual([["x", 1]]);
    expect(Object.prototype.toString.call(small)).toBe("[object SmallMap]");
  });
});
