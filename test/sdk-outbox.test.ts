import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ErrorCode, type Ack, type ChatMessage, type DirectSendResult, type SendResult } from "../protocol/index.js";
import { ChatError } from "../client/sdk/errors.js";
import { newClientId, Outbox, type OutboxOptions, type PendingEntry } from "../client/sdk/outbox.js";
import { TransportError } from "../client/sdk/transport.js";

const BACKOFF = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

type Answer = Ack<SendResult | DirectSendResult> | TransportError;

interface Attempt {
  at: number;
  entry: PendingEntry;
}

/** An outbox whose transport answers from `answers` (per text, in turn), recording every attempt. */
function harness(answers: Record<string, Answer[]> = {}, options: Partial<OutboxOptions<void>> = {}) {
  const attempts: Attempt[] = [];
  const controller = new AbortController();
  let ids = 0;
  const outbox = new Outbox<void>({
    ready: async () => {},
    transmit: async (entry) => {
      attempts.push({ at: Date.now(), entry: { ...entry } });
      const answer = answers[entry.text]?.shift() ?? stored(entry.text);
      if (answer instanceof TransportError) throw answer;
      return answer;
    },
    backoff: BACKOFF,
    signal: controller.signal,
    clientId: () => `client-${++ids}`,
    ...options,
  });
  return { outbox, attempts, controller };
}

function stored(text: string): Ack<SendResult> {
  const message: ChatMessage = { id: "0001700000000000-000000", room: "lobby", from: "me", text, ts: 0, prev: "" };
  return { ok: true, message };
}

const failure = (code: ErrorCode): Answer => ({ ok: false, error: { code, message: `failed: ${code}` } });

describe("Outbox", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends in queue order, one at a time, and resolves with the result", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sent: string[] = [];
    const { outbox } = harness(
      {},
      {
        transmit: async (entry) => {
          sent.push(entry.text);
          if (entry.text === "one") await gate;
          return stored(entry.text);
        },
      },
    );
    const one = outbox.add({ kind: "room", room: "lobby", text: "one" });
    const two = outbox.add({ kind: "room", room: "lobby", text: "two" });
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(["one"]);
    expect(outbox.pending.map((entry) => entry.text)).toEqual(["one", "two"]);
    release();
    expect((await one).message.text).toBe("one");
    expect((await two).message.text).toBe("two");
    expect(sent).toEqual(["one", "two"]);
    expect(outbox.pending).toEqual([]);
  });

  it("retries retryable codes with exponential backoff, always with the same clientId", async () => {
    const { outbox, attempts } = harness({
      hello: [failure(ErrorCode.RateLimited), failure(ErrorCode.Unavailable), failure(ErrorCode.Internal)],
    });
    const sent = outbox.add({ kind: "room", room: "lobby", text: "hello" });
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts.map((attempt) => attempt.at)).toEqual([0]);
    await vi.advanceTimersByTimeAsync(99);
    expect(attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts.map((attempt) => attempt.at)).toEqual([0, 100]);
    await vi.advanceTimersByTimeAsync(200);
    await vi.advanceTimersByTimeAsync(400);
    expect(attempts.map((attempt) => attempt.at)).toEqual([0, 100, 300, 700]);
    expect(new Set(attempts.map((attempt) => attempt.entry.clientId))).toEqual(new Set(["client-1"]));
    expect((await sent).message.text).toBe("hello");
  });

  it("retries after ack timeouts and dropped connections too", async () => {
    const { outbox, attempts } = harness({
      hi: [new TransportError("timeout"), new TransportError("disconnected")],
    });
    const sent = outbox.add({ kind: "dm", to: "bob", text: "hi" });
    await vi.advanceTimersByTimeAsync(0);
    expect(outbox.pending[0]).toMatchObject({ attempts: 1, lastError: "timeout", clientId: "client-1" });
    await vi.advanceTimersByTimeAsync(100);
    expect(outbox.pending[0]).toMatchObject({ attempts: 2, lastError: "disconnected" });
    await vi.advanceTimersByTimeAsync(200);
    expect(attempts.map((attempt) => [attempt.at, attempt.entry.clientId])).toEqual([
      [0, "client-1"],
      [100, "client-1"],
      [300, "client-1"],
    ]);
    await expect(sent).resolves.toMatchObject({ message: { text: "hi" } });
  });

  it("caps the wait at maxMs", async () => {
    const { outbox, attempts } = harness({ slow: Array.from({ length: 6 }, () => failure(ErrorCode.Unavailable)) });
    const sent = outbox.add({ kind: "room", room: "lobby", text: "slow" });
    await vi.advanceTimersByTimeAsync(10_000);
    await sent;
    const waits = attempts.slice(1).map((attempt, i) => attempt.at - attempts[i]!.at);
    expect(waits).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it("gives up on a code retrying cannot fix, with that code, and goes on with the next entry", async () => {
    const { outbox, attempts } = harness({ long: [failure(ErrorCode.TooLong)] });
    const rejected = outbox.add({ kind: "room", room: "lobby", text: "long" });
    const next = outbox.add({ kind: "room", room: "lobby", text: "short" });
    const error = await rejected.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChatError);
    expect(error).toMatchObject({ code: ErrorCode.TooLong, message: "failed: too_long" });
    expect((await next).message.text).toBe("short");
    expect(attempts.map((attempt) => attempt.entry.text)).toEqual(["long", "short"]);
  });

  it("rejects what is queued, and anything added later, once aborted", async () => {
    const { outbox, controller } = harness({ a: [failure(ErrorCode.Unavailable)] });
    const a = outbox.add({ kind: "room", room: "lobby", text: "a" });
    const b = outbox.add({ kind: "room", room: "lobby", text: "b" });
    await vi.advanceTimersByTimeAsync(0);
    controller.abort(new ChatError("closed", "closed"));
    await expect(a).rejects.toMatchObject({ code: "closed" });
    await expect(b).rejects.toMatchObject({ code: "closed" });
    await expect(outbox.add({ kind: "room", room: "lobby", text: "c" })).rejects.toMatchObject({ code: "closed" });
    expect(outbox.pending).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("waits the retryAfterMs a rate_limited refusal names before sending again, not just its backoff", async () => {
    const limited: Answer = {
      ok: false,
      error: { code: ErrorCode.RateLimited, message: "too many messages", retryAfterMs: 750 },
    };
    const { outbox, attempts } = harness({ x: [limited] });
    const sent = outbox.add({ kind: "room", room: "lobby", text: "x" });
    // The backoff alone would retry at 100 ms.
    await vi.advanceTimersByTimeAsync(749);
    expect(attempts.map((attempt) => attempt.at)).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts.map((attempt) => attempt.at)).toEqual([0, 750]);
    expect((await sent).message.text).toBe("x");
  });

  it("reports every change of the pending list, as frozen snapshots", async () => {
    const seen: (readonly PendingEntry[])[] = [];
    const { outbox } = harness({ x: [failure(ErrorCode.RateLimited)] }, { onChange: (pending) => seen.push(pending) });
    const sent = outbox.add({ kind: "room", room: "lobby", text: "x" });
    await vi.advanceTimersByTimeAsync(100);
    await sent;
    expect(seen.map((pending) => pending.map((entry) => `${entry.attempts}:${entry.lastError ?? "-"}`))).toEqual([
      ["0:-"],
      ["1:-"],
      ["1:rate_limited"],
      ["2:rate_limited"],
      [],
    ]);
    expect(Object.isFrozen(seen[0]![0])).toBe(true);
    expect(seen[0]![0]).toMatchObject({ kind: "room", room: "lobby", text: "x", clientId: "client-1", queuedAt: 0 });
  });
});

describe("newClientId", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("makes distinct ids within the protocol's clientId limit", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newClientId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(64);
  });

  it("falls back to getRandomValues where randomUUID is missing (plain-http pages)", () => {
    const { getRandomValues } = globalThis.crypto;
    vi.stubGlobal("crypto", { getRandomValues: getRandomValues.bind(globalThis.crypto) });
    expect(newClientId()).toMatch(/^[0-9a-f]{32}$/);
  });
});
