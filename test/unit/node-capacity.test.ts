import type { FastifyBaseLogger } from "fastify";
import { describe, expect, it } from "vitest";
import { FULL_MESSAGE, nodeCapacity, ROOM_MESSAGE, type ReleasePlace } from "../../server/limits/node-capacity.js";

/** A logger that records its warn and info lines. */
function recordingLog() {
  const lines: { level: string; object: Record<string, unknown>; message: string }[] = [];
  const record = (level: string) => (object: Record<string, unknown>, message: string) =>
    lines.push({ level, object, message });
  const log = { warn: record("warn"), info: record("info") } as unknown as FastifyBaseLogger;
  return { log, lines };
}

describe("nodeCapacity", () => {
  it("refuses at the cap, and a place given back twice counts once", () => {
    const { log } = recordingLog();
    const capacity = nodeCapacity(2, log);
    const first = capacity.enter()!;
    const second = capacity.enter()!;
    expect(capacity.enter()).toBeUndefined();
    expect(capacity).toMatchObject({ open: 2, full: true });
    first();
    first();
    expect(capacity.open).toBe(1);
    second();
    expect(capacity).toMatchObject({ open: 0, full: false });
  });

  it("is full from the cap until 1 % of it has left, and logs each change once", () => {
    const { log, lines } = recordingLog();
    const capacity = nodeCapacity(200, log);
    const places: ReleasePlace[] = [];
    for (let index = 0; index < 200; index += 1) places.push(capacity.enter()!);
    for (let index = 0; index < 5; index += 1) expect(capacity.enter()).toBeUndefined();
    expect(lines).toEqual([
      { level: "warn", object: { connections: 200, maxConnections: 200 }, message: FULL_MESSAGE },
    ]);
    places.pop()!();
    // One place is free and taken again: still full, nothing logged (no flapping at the cap).
    expect(capacity.full).toBe(true);
    places.push(capacity.enter()!);
    places.pop()!();
    places.pop()!();
    expect(capacity.full).toBe(false);
    expect(lines.slice(1)).toEqual([
      { level: "info", object: { connections: 198, maxConnections: 200 }, message: ROOM_MESSAGE },
    ]);
    for (const release of places) release();
    expect(capacity.open).toBe(0);
    expect(lines).toHaveLength(2);
  });

  it("0 counts without a cap, never full", () => {
    const { log, lines } = recordingLog();
    const capacity = nodeCapacity(0, log);
    for (let index = 0; index < 1000; index += 1) expect(capacity.enter()).toBeTypeOf("function");
    expect(capacity).toMatchObject({ open: 1000, full: false });
    expect(lines).toEqual([]);
  });
});
