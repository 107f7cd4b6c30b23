import type { FastifyBaseLogger } from "fastify";
import { describe, expect, it } from "vitest";
import { FailureLog } from "../../server/chat/failure-log.js";

/** A logger that records its error lines. */
function recordingLog() {
  const lines: { object: Record<string, unknown>; message: string }[] = [];
  const log = {
    error: (object: Record<string, unknown>, message: string) => lines.push({ object, message }),
  } as unknown as FastifyBaseLogger;
  return { log, lines };
}

describe("FailureLog", () => {
  it("logs the first failure of a window whole, counts the rest, and sums them up once", () => {
    let now = 1_000_000;
    const { log, lines } = recordingLog();
    const failures = new FailureLog(log, () => now);
    const boom = new Error("boom");

    for (let k = 0; k < 1000; k++) failures.report(boom, { event: k % 2 ? "room:send" : "room:join", socket: "s1" });
    expect(lines).toEqual([
      { object: { err: boom, event: "room:join", socket: "s1" }, message: "event handler failed" },
    ]);

    now += 10_000;
    failures.report(boom, { event: "typing", socket: "s2" });
    expect(lines).toHaveLength(3);
    expect(lines[1]).toEqual({
      object: { failures: 999, byEvent: { "room:send": 500, "room:join": 499 }, windowMs: 10_000 },
      message: "more event handlers failed (logged once per window)",
    });
    expect(lines[2]!.object).toMatchObject({ event: "typing", socket: "s2" });
  });

  it("flush logs what is left, and nothing when nothing is", () => {
    const { log, lines } = recordingLog();
    const failures = new FailureLog(log, () => 0);
    failures.flush();
    expect(lines).toEqual([]);
    failures.report(new Error("a"), { event: "typing", socket: "s" });
    failures.report(new Error("b"), { event: "typing", socket: "s" });
    failures.flush();
    failures.flush();
    expect(lines.map((line) => line.message)).toEqual([
      "event handler failed",
      "more event handlers failed (logged once per window)",
    ]);
  });
});
