import { describe, expect, it } from "vitest";
import { parseSaved, toSaved } from "../client/page/outbox-store.js";

describe("what the page keeps of its unsent messages", () => {
  it("keeps what it needs to send an entry again, and nothing of its attempts", () => {
    const room = { kind: "room", room: "lobby", text: "hi", clientId: "c-1", queuedAt: 5, attempts: 2 } as const;
    const dm = {
      kind: "dm",
      to: "bob",
      text: "yo",
      clientId: "c-2",
      queuedAt: 6,
      attempts: 0,
      lastError: "timeout",
    } as const;
    const saved = [toSaved(room), toSaved(dm)];
    expect(saved).toEqual([
      { kind: "room", room: "lobby", text: "hi", clientId: "c-1", queuedAt: 5 },
      { kind: "dm", to: "bob", text: "yo", clientId: "c-2", queuedAt: 6 },
    ]);
    expect(parseSaved(JSON.stringify(saved))).toEqual(saved);
  });

  it("drops what another version or a hand-edited item left that cannot be sent", () => {
    for (const text of [null, "", "not json", "{}", "42", '"text"']) expect(parseSaved(text)).toEqual([]);
    const good = { kind: "room", room: "lobby", text: "ok", clientId: "c-1", queuedAt: 1 };
    const bad = [
      null,
      "entry",
      { ...good, kind: "channel" },
      { ...good, room: undefined },
      { ...good, text: 3 },
      { ...good, clientId: "" },
      { ...good, clientId: "x".repeat(65) },
      { ...good, queuedAt: "1" },
      { kind: "dm", text: "no recipient", clientId: "c-2", queuedAt: 2 },
    ];
    expect(parseSaved(JSON.stringify([...bad, good]))).toEqual([good]);
  });
});
