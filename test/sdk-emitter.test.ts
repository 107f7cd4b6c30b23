import { describe, expect, it, vi } from "vitest";
import { TypedEmitter } from "../client/sdk/emitter.js";

class Ticker extends TypedEmitter<{ tick: number; name: string }> {
  fire<K extends "tick" | "name">(event: K, payload: { tick: number; name: string }[K]) {
    this.emit(event, payload);
  }
}

describe("TypedEmitter", () => {
  it("calls listeners in order until removed by off or by the returned function", () => {
    const ticker = new Ticker();
    const seen: string[] = [];
    const first = (n: number) => seen.push(`first ${n}`);
    ticker.on("tick", first);
    const stop = ticker.on("tick", (n) => seen.push(`second ${n}`));
    ticker.fire("tick", 1);
    ticker.off("tick", first);
    ticker.fire("tick", 2);
    stop();
    ticker.fire("tick", 3);
    expect(seen).toEqual(["first 1", "second 1", "second 2"]);
  });

  it("calls a once listener a single time, and off removes it before that", () => {
    const ticker = new Ticker();
    const once = vi.fn();
    ticker.once("name", once);
    ticker.fire("name", "a");
    ticker.fire("name", "b");
    expect(once.mock.calls).toEqual([["a"]]);
    const never = vi.fn();
    ticker.once("name", never);
    ticker.off("name", never);
    ticker.fire("name", "c");
    expect(never).not.toHaveBeenCalled();
  });

  it("keeps calling the other listeners when one throws, and rethrows the error on its own", async () => {
    const ticker = new Ticker();
    const after = vi.fn();
    ticker.on("tick", () => {
      throw new Error("listener bug");
    });
    ticker.on("tick", after);
    const uncaught = new Promise<unknown>((resolve) => {
      const original = globalThis.queueMicrotask;
      vi.spyOn(globalThis, "queueMicrotask").mockImplementationOnce((task) =>
        original(() => {
          try {
            task();
          } catch (error) {
            resolve(error);
          }
        }),
      );
    });
    ticker.fire("tick", 7);
    expect(after).toHaveBeenCalledWith(7);
    expect(await uncaught).toEqual(new Error("listener bug"));
    vi.restoreAllMocks();
  });
});
