import { describe, expect, it } from "vitest";
import { formatMessageId, type ChatMessage } from "../protocol/index.js";
import { BEGINNING, RoomStream } from "../client/sdk/room-stream.js";

/** A room log of `count` messages, each pointing at the one before. */
function log(count: number, room = "lobby"): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (let n = 0; n < count; n++) {
    const id = formatMessageId(1_700_000_000_000 + Math.floor(n / 3), n % 3);
    messages.push({ id, room, from: "alice", text: `#${n}`, ts: 1_700_000_000_000, prev: messages[n - 1]?.id ?? "" });
  }
  return messages;
}

const texts = (messages: readonly ChatMessage[]) => messages.map((message) => message.text);
const m = log(20);
const at = (n: number) => m[n]!;

describe("RoomStream", () => {
  it("delivers a first join's history in id order and continues from its newest id", () => {
    const stream = new RoomStream();
    expect(stream.since).toBeUndefined();
    const first = stream.load({ history: [at(2), at(0), at(1)], recovered: true }, undefined);
    expect(first).toEqual({ messages: [at(0), at(1), at(2)], reset: false });
    expect(stream.last).toBe(at(2).id);
    expect(stream.since).toBe(at(2).id);
    expect(texts(stream.receive(at(3)))).toEqual(["#3"]);
  });

  it("after an empty first history, resumes from the beginning of the log", () => {
    const stream = new RoomStream();
    expect(stream.load({ history: [], recovered: true }, undefined).messages).toEqual([]);
    expect(stream.last).toBe("");
    expect(stream.since).toBe(BEGINNING);
    expect(texts(stream.receive(at(0)))).toEqual(["#0"]);
  });

  it("drops duplicates of anything delivered", () => {
    const stream = new RoomStream();
    stream.load({ history: [at(0), at(1)], recovered: true }, undefined);
    expect(stream.receive(at(1))).toEqual([]);
    expect(stream.receive(at(0))).toEqual([]);
    expect(texts(stream.receive(at(2)))).toEqual(["#2"]);
    expect(stream.receive(at(2))).toEqual([]);
    expect(stream.load({ history: [at(1), at(2)], recovered: true }, at(0).id).messages).toEqual([]);
    expect(stream.waiting).toBe(false);
  });

  it("holds a message that arrived early until the one before it comes", () => {
    const stream = new RoomStream();
    stream.load({ history: [at(0)], recovered: true }, undefined);
    expect(stream.receive(at(2))).toEqual([]);
    expect(stream.receive(at(3))).toEqual([]);
    expect(stream.waiting).toBe(true);
    expect(stream.earliestWaiting).toBe(at(2).id);
    expect(texts(stream.receive(at(1)))).toEqual(["#1", "#2", "#3"]);
    expect(stream.waiting).toBe(false);
    expect(stream.earliestWaiting).toBeUndefined();
  });

  it("fills a gap from a join answer, merging it with what waits and delivering each once", () => {
    const stream = new RoomStream();
    stream.load({ history: [at(0), at(1)], recovered: true }, undefined);
    stream.receive(at(5));
    stream.receive(at(6));
    const requested = stream.last;
    expect(stream.since).toBe(at(1).id);
    // The answer overlaps both what was delivered and what waits.
    const filled = stream.load({ history: [at(1), at(2), at(3), at(4), at(5)], recovered: true }, requested);
    expect(filled).toEqual({ messages: [at(2), at(3), at(4), at(5), at(6)], reset: false });
    expect(stream.waiting).toBe(false);
    expect(stream.receive(at(6))).toEqual([]);
  });

  it("holds live messages that come before the first join answer, then merges them", () => {
    const stream = new RoomStream();
    expect(stream.receive(at(4))).toEqual([]);
    expect(stream.receive(at(3))).toEqual([]);
    expect(stream.waiting).toBe(false);
    const first = stream.load({ history: [at(1), at(2), at(3)], recovered: true }, undefined);
    expect(texts(first.messages)).toEqual(["#1", "#2", "#3", "#4"]);
  });

  it("reports a reset when the log no longer reaches back, and continues from what it holds", () => {
    const stream = new RoomStream();
    stream.load({ history: [at(0), at(1)], recovered: true }, undefined);
    const resumed = stream.load({ history: [at(8), at(9)], recovered: false }, at(1).id);
    expect(resumed).toEqual({ messages: [at(8), at(9)], reset: true });
    expect(texts(stream.receive(at(10)))).toEqual(["#10"]);
  });

  it("reports one reset when a restarted log starts over below the last id", () => {
    const stream = new RoomStream();
    stream.load({ history: [at(0), at(1), at(2)], recovered: true }, undefined);
    // The server lost its log: nothing after #2, and it cannot vouch for the gap.
    expect(stream.load({ history: [], recovered: false }, at(2).id)).toEqual({ messages: [], reset: true });
    // Its new log starts again with prev "": that live message waits, and the fill is no new reset.
    const reborn = log(2, "lobby").map((message, n) => ({ ...message, id: formatMessageId(1_800_000_000_000, n) }));
    reborn[1] = { ...reborn[1]!, prev: reborn[0]!.id };
    expect(stream.receive(reborn[0]!)).toEqual([]);
    expect(stream.load({ history: reborn, recovered: false }, at(2).id)).toEqual({ messages: reborn, reset: false });
    // From then on a real reset is reported again.
    const later = {
      ...at(0),
      id: formatMessageId(1_900_000_000_000, 0),
      prev: formatMessageId(1_900_000_000_000 - 1, 0),
    };
    expect(stream.load({ history: [later], recovered: false }, reborn[1]!.id)).toEqual({
      messages: [later],
      reset: true,
    });
  });

  it("trusts a backlog that starts right after the requested id, whatever the server says", () => {
    // since = BEGINNING on a log that starts with the room's first message.
    const fromStart = new RoomStream();
    fromStart.load({ history: [], recovered: true }, undefined);
    expect(fromStart.load({ history: [at(0), at(1)], recovered: false }, "")).toEqual({
      messages: [at(0), at(1)],
      reset: false,
    });
    // The room still has no messages at all.
    const empty = new RoomStream();
    empty.load({ history: [], recovered: true }, undefined);
    expect(empty.load({ history: [], recovered: false }, "").reset).toBe(false);
    // A log trimmed past the start is a reset.
    const trimmed = new RoomStream();
    trimmed.load({ history: [], recovered: true }, undefined);
    expect(trimmed.load({ history: [at(4), at(5)], recovered: false }, "").reset).toBe(true);
  });

  it("gives up on a gap on request, delivering what waits in id order", () => {
    const stream = new RoomStream();
    stream.load({ history: [at(0)], recovered: true }, undefined);
    stream.receive(at(7));
    stream.receive(at(5));
    expect(texts(stream.skipGap())).toEqual(["#5", "#7"]);
    expect(stream.last).toBe(at(7).id);
    expect(stream.waiting).toBe(false);
    expect(texts(stream.receive(at(8)))).toEqual(["#8"]);
  });

  it("delivers a shuffled, duplicated stream with lost messages exactly once and in order", () => {
    // A seeded generator, so a failure can be replayed.
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 50; round++) {
      const all = log(60);
      const stream = new RoomStream();
      const delivered: ChatMessage[] = [
        ...stream.load({ history: all.slice(0, 5), recovered: true }, undefined).messages,
      ];
      // Live traffic: every later message once or twice, some lost, in a locally shuffled order.
      const live = all
        .slice(5)
        .flatMap((message) => (random() < 0.1 ? [] : random() < 0.2 ? [message, message] : [message]));
      for (let i = live.length - 1; i > 0; i--) {
        if (random() < 0.3) {
          const j = Math.max(0, i - 1 - Math.floor(random() * 3));
          [live[i], live[j]] = [live[j]!, live[i]!];
        }
      }
      for (const message of live) {
        delivered.push(...stream.receive(message));
        // Now and then the client fills its gap from the log, as the SDK does.
        if (stream.waiting && random() < 0.2) {
          const requested = stream.last!;
          const backlog = all.filter((entry) => entry.id > requested).slice(0, 10);
          delivered.push(...stream.load({ history: backlog, recovered: true }, requested).messages);
        }
      }
      const requested = stream.last!;
      delivered.push(
        ...stream.load({ history: all.filter((entry) => entry.id > requested), recovered: true }, requested).messages,
      );
      expect(texts(delivered)).toEqual(texts(all));
    }
  });
});
