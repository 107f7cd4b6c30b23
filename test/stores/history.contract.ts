import { afterEach, describe, expect, it } from "vitest";
import { formatMessageId, parseMessageId } from "../../protocol/index.js";
import { DEADLINE_MS } from "../../server/dev/deadline.js";
import type { History, HistoryOptions, StoredMessage } from "../../server/history/history.js";

/** How time passes for a store under test. */
export type StoreClock =
  | {
      /** The store reads a clock that only the test moves (MemoryHistory's `now`). */
      kind: "injected";
      advance(ms: number): void;
    }
  | {
      /** The store's server keeps the time (Redis): the test reads the life left to its keys, and waits. */
      kind: "server";
      /** PTTL in ms of each key the store keeps for `log` (-2: no such key, -1: a key without a TTL). */
      timesToLive(log: string): Promise<number[]>;
    };

/** A history store under test, on an empty backing store of its own. */
export interface HistoryUnderTest {
  history: History;
  /** How many messages the backing store holds for `log`, read from its own data (XLEN on Redis). */
  storedLength(log: string): Promise<number>;
  clock: StoreClock;
  close(): Promise<void>;
}

/** Opens a fresh store with these bounds. */
export type OpenHistory = (options: HistoryOptions) => Promise<HistoryUnderTest>;

/** The TTL of the tests that do not watch logs expire: the configured default, 30 days. */
const LONG_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** The TTL of the tests that wait for a log to expire on a server's real clock. */
const SHORT_TTL_MS = 300;

/** Above 2^53, so a trip through a JS number would change it; the largest a stream id holds. */
const HUGE_SEQUENCE_ID = "0000000000001-18446744073709551615";

/** The message id just before `id` in time: older than anything appended at or after `id`. */
function justBefore(id: string): string {
  const parsed = parseMessageId(id);
  if (!parsed) throw new Error(`not a message id: ${id}`);
  return formatMessageId(parsed.ms - 1, 0);
}

/**
 * What every `History` implementation promises, as one suite: call it once per implementation.
 * `open` runs inside the tests, so it may use servers a `beforeAll` started.
 */
export function describeHistoryContract(name: string, open: OpenHistory): void {
  describe(`History contract: ${name}`, () => {
    const opened: HistoryUnderTest[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    async function given(options: Partial<HistoryOptions> = {}): Promise<HistoryUnderTest> {
      const store = await open({ maxPerLog: 100, ttlMs: LONG_TTL_MS, ...options });
      opened.push(store);
      return store;
    }

    async function appendTexts(history: History, log: string, texts: string[], from = "ann"): Promise<StoredMessage[]> {
      const messages: StoredMessage[] = [];
      for (const text of texts) messages.push((await history.append(log, { from, text })).message);
      return messages;
    }

    describe("append", () => {
      it("gives ids that sort in append order, and chains each message to the one before in its log", async () => {
        const { history } = await given();
        const first = await history.append("room:a", { from: "ann", text: "one" });
        const elsewhere = await history.append("room:b", { from: "bob", text: "other log" });
        const second = await history.append("room:a", { from: "bob", text: "two" });
        const third = await history.append("room:a", { from: "ann", text: "three" });

        expect(first.duplicate).toBe(false);
        expect(first.message).toMatchObject({ from: "ann", text: "one", prev: "" });
        expect(elsewhere.message.prev).toBe("");
        expect(second.message).toMatchObject({ from: "bob", text: "two", prev: first.message.id });
        expect(third.message.prev).toBe(second.message.id);
        expect(first.message.id < second.message.id && second.message.id < third.message.id).toBe(true);
        for (const { message } of [first, second, third]) {
          expect(message.ts).toBe(parseMessageId(message.id)?.ms);
        }
        expect(await history.latest("room:a", 10)).toEqual([first.message, second.message, third.message]);
      });

      it("stores text exactly as given", async () => {
        const { history } = await given();
        const text = '<b>"hi"</b>\n\t房间 🎉 {"id":"x"} \\';
        const { message } = await history.append("room:a", { from: "ann", text });
        expect(message.text).toBe(text);
        expect(await history.latest("room:a", 1)).toEqual([message]);
      });

      it("returns the first message and stores nothing when the same sender resends a clientId", async () => {
        const { history } = await given();
        const original = await history.append("room:a", { from: "ann", text: "hello", clientId: "c-1" });
        const between = await history.append("room:a", { from: "bob", text: "between" });
        const resent = await history.append("room:a", { from: "ann", text: "hello (retried)", clientId: "c-1" });

        expect(original.duplicate).toBe(false);
        expect(resent).toEqual({ message: original.message, duplicate: true });
        expect(await history.latest("room:a", 10)).toEqual([original.message, between.message]);
        // The chain goes on from the newest stored message, not from the duplicate.
        const next = await history.append("room:a", { from: "ann", text: "next", clientId: "c-2" });
        expect(next.message.prev).toBe(between.message.id);
      });

      it("keeps attrs with the message and gives them back from every read, and from a duplicate", async () => {
        const { history } = await given();
        const attrs = { to: "bob", dm: "1767225600000-000001", dmPrev: "", odd: 'a "quoted"\n房间' };
        const plain = await history.append("feed:ann", { from: "ann", text: "no attrs" });
        const kept = await history.append("feed:ann", { from: "ann", text: "with attrs", clientId: "k", attrs });
        expect(plain.message.attrs).toBeUndefined();
        expect(kept.message).toMatchObject({ text: "with attrs", attrs });
        const again = await history.append("feed:ann", { from: "ann", text: "retried", clientId: "k", attrs: {} });
        expect(again).toEqual({ message: kept.message, duplicate: true });

        expect(await history.latest("feed:ann", 10)).toEqual([plain.message, kept.message]);
        expect((await history.after("feed:ann", plain.message.id)).messages).toEqual([kept.message]);
        const later = await history.append("feed:ann", { from: "ann", text: "later" });
        expect(await history.before("feed:ann", later.message.id, 10)).toEqual([plain.message, kept.message]);
      });

      it("treats the same clientId from another sender, or in another log, as a new message", async () => {
        const { history } = await given();
        const ann = await history.append("room:a", { from: "ann", text: "from ann", clientId: "same" });
        const bob = await history.append("room:a", { from: "bob", text: "from bob", clientId: "same" });
        const otherLog = await history.append("room:b", { from: "ann", text: "elsewhere", clientId: "same" });

        expect(bob.duplicate).toBe(false);
        expect(bob.message).toMatchObject({ from: "bob", text: "from bob", prev: ann.message.id });
        expect(otherLog.duplicate).toBe(false);
        expect(otherLog.message).toMatchObject({ from: "ann", text: "elsewhere", prev: "" });
        expect((await history.latest("room:a", 10)).map((message) => message.text)).toEqual(["from ann", "from bob"]);
      });
    });

    describe("delete", () => {
      it("leaves a tombstone: every read answers it without text, marked deleted, with its id and prev", async () => {
        const { history } = await given();
        const [first, second, third] = await appendTexts(history, "room:d", ["one", "two", "three"]);
        const secret = await history.append("room:d", { from: "bob", text: "oops", clientId: "c-oops" });
        expect(await history.delete("room:d", second!.id)).toBe(true);
        expect(await history.delete("room:d", secret.message.id)).toBe(true);
        const tombstone = { ...second!, text: "", deleted: true };
        const secretTombstone = { ...secret.message, text: "", deleted: true };

        expect(await history.latest("room:d", 10)).toEqual([first, tombstone, third, secretTombstone]);
        expect(await history.before("room:d", third!.id, 10)).toEqual([first, tombstone]);
        expect(await history.after("room:d", first!.id)).toEqual({
          messages: [tombstone, third, secretTombstone],
          complete: true,
        });
        // A resent clientId answers the tombstone, not the text.
        const resent = await history.append("room:d", { from: "bob", text: "oops", clientId: "c-oops" });
        expect(resent).toEqual({ message: secretTombstone, duplicate: true });
        // Deleting again is harmless; an id the log does not hold is not deleted.
        expect(await history.delete("room:d", second!.id)).toBe(true);
        expect(await history.delete("room:d", formatMessageId(1, 0))).toBe(false);
        expect(await history.delete("room:none", first!.id)).toBe(false);
        const next = await history.append("room:d", { from: "ann", text: "after" });
        expect(next.message.prev).toBe(secret.message.id);
      });
    });

    describe("latest and before", () => {
      it("latest returns the newest messages, oldest first", async () => {
        const { history } = await given();
        const messages = await appendTexts(history, "room:a", ["m0", "m1", "m2", "m3", "m4"]);
        expect(await history.latest("room:a", 3)).toEqual(messages.slice(2));
        expect(await history.latest("room:a", 50)).toEqual(messages);
        expect(await history.latest("room:unknown", 50)).toEqual([]);
      });

      it("before pages back through the whole log, oldest first within a page", async () => {
        const { history } = await given();
        const messages = await appendTexts(history, "room:a", ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
        const pages: StoredMessage[][] = [await history.latest("room:a", 3)];
        for (let oldest = pages[0]![0]!; ;) {
          const page = await history.before("room:a", oldest.id, 3);
          if (page.length === 0) break;
          pages.unshift(page);
          oldest = page[0]!;
        }
        expect(pages.map((page) => page.map((message) => message.text))).toEqual([
          ["m0"],
          ["m1", "m2", "m3"],
          ["m4", "m5", "m6"],
        ]);
        expect(pages.flat()).toEqual(messages);
        expect(await history.before("room:a", messages[0]!.id, 3)).toEqual([]);
        expect(await history.before("room:unknown", messages[6]!.id, 3)).toEqual([]);
      });
    });

    describe("after", () => {
      it("returns every later message, complete, for an id the log still holds", async () => {
        const { history } = await given();
        const messages = await appendTexts(history, "room:a", ["m0", "m1", "m2", "m3"]);
        expect(await history.after("room:a", messages[1]!.id)).toEqual({ messages: messages.slice(2), complete: true });
        expect(await history.after("room:a", messages[3]!.id)).toEqual({ messages: [], complete: true });
        expect(await history.after("room:a", messages[0]!.id)).toEqual({ messages: messages.slice(1), complete: true });
      });

      it("is incomplete for a log it never had", async () => {
        const { history } = await given();
        const [message] = await appendTexts(history, "room:a", ["m0"]);
        expect(await history.after("room:unknown", message!.id)).toEqual({ messages: [], complete: false });
      });

      it("is incomplete for an id older than the first message appended (it may come from a previous life)", async () => {
        const { history } = await given();
        const messages = await appendTexts(history, "room:a", ["m0", "m1"]);
        expect(await history.after("room:a", justBefore(messages[0]!.id))).toEqual({ messages, complete: false });
      });
    });

    describe("the size bound", () => {
      const bound = 150;

      it("keeps about the bound (at least it, under twice it) and says when an id is older than what it dropped", async () => {
        const { history, storedLength } = await given({ maxPerLog: bound });
        const appended: StoredMessage[] = [];
        for (let index = 0; index < 10 * bound; index += 1) {
          appended.push((await history.append("room:big", { from: "ann", text: `m${index}` })).message);
        }

        const length = await storedLength("room:big");
        expect(length).toBeGreaterThanOrEqual(bound);
        expect(length).toBeLessThan(2 * bound);
        expect(await history.latest("room:big", bound)).toEqual(appended.slice(-bound));

        const held = await history.latest("room:big", 10 * bound);
        expect(held).toEqual(appended.slice(-length));
        // The message before the oldest one held is the newest one dropped.
        const newestDropped = held[0]!.prev;
        const droppedIndex = appended.findIndex((message) => message.id === newestDropped);
        expect(droppedIndex).toBe(appended.length - length - 1);
        expect(await history.after("room:big", newestDropped)).toEqual({ messages: held, complete: true });
        expect(await history.after("room:big", appended[droppedIndex - 1]!.id)).toEqual({
          messages: held,
          complete: false,
        });
        expect(await history.after("room:big", appended[0]!.id)).toEqual({ messages: held, complete: false });
      });

      it("answers a resent clientId with the original id once the log no longer holds the original", async () => {
        const { history, storedLength } = await given({ maxPerLog: 1 });
        const original = await history.append("room:a", { from: "ann", text: "hello", clientId: "c-1" });
        // Redis trims whole stream nodes (about 100 entries), so append until the original is gone.
        let newest = original.message;
        for (let batch = 0; (await history.latest("room:a", 10_000))[0]!.id === original.message.id; batch += 1) {
          expect(batch).toBeLessThan(20);
          for (let index = 0; index < 50; index += 1) {
            newest = (await history.append("room:a", { from: "bob", text: `m${index}` })).message;
          }
        }
        const length = await storedLength("room:a");

        const resent = await history.append("room:a", { from: "ann", text: "hello (retried)", clientId: "c-1" });
        // Only the id was remembered: the text is the request's, and what came before is unknown.
        expect(resent).toEqual({
          duplicate: true,
          message: { id: original.message.id, from: "ann", text: "hello (retried)", ts: original.message.ts, prev: "" },
        });
        expect(await storedLength("room:a")).toBe(length);
        expect(await history.latest("room:a", 1)).toEqual([newest]);
      });
    });

    describe("ids", () => {
      it("reads around ids whose sequence is above 2^53, and around the lowest and highest ids", async () => {
        const { history } = await given();
        const messages = await appendTexts(history, "room:a", ["m0", "m1"]);
        const highest = "9999999999999-18446744073709551615";
        const lowest = formatMessageId(0, 0);

        expect(await history.after("room:a", HUGE_SEQUENCE_ID)).toEqual({ messages, complete: false });
        expect(await history.before("room:a", HUGE_SEQUENCE_ID, 10)).toEqual([]);
        expect(await history.after("room:unknown", HUGE_SEQUENCE_ID)).toEqual({ messages: [], complete: false });
        expect(await history.before("room:unknown", HUGE_SEQUENCE_ID, 10)).toEqual([]);
        expect(await history.after("room:a", highest)).toEqual({ messages: [], complete: true });
        expect(await history.before("room:a", highest, 10)).toEqual(messages);
        expect(await history.before("room:a", lowest, 10)).toEqual([]);
        expect(await history.after("room:a", lowest)).toEqual({ messages, complete: false });
      });
    });

    describe("expiry", () => {
      it("keeps a log ttlMs after its last append, and each append starts that time again", async () => {
        const ttlMs = 10_000;
        const { history, clock } = await given({ ttlMs });
        let sentAt = Date.now();
        const first = await history.append("room:a", { from: "ann", text: "one" });
        if (clock.kind === "injected") {
          clock.advance(ttlMs - 1);
          expect(await history.latest("room:a", 10)).toEqual([first.message]);
          const second = await history.append("room:a", { from: "ann", text: "two" });
          clock.advance(ttlMs - 1);
          expect(await history.latest("room:a", 10)).toEqual([first.message, second.message]);
          expect(await history.after("room:a", first.message.id)).toEqual({
            messages: [second.message],
            complete: true,
          });
          clock.advance(1);
          expect(await history.latest("room:a", 10)).toEqual([]);
          return;
        }
        // Each key lives ttlMs from the append on: no more, and no less than that minus the time
        // since the request was sent (the server's clock read the append's time after that).
        const expectFreshTimesToLive = async () => {
          const times = await clock.timesToLive("room:a");
          const since = Date.now() - sentAt;
          expect(times).toHaveLength(2);
          for (const time of times) {
            expect(time).toBeLessThanOrEqual(ttlMs);
            expect(time).toBeGreaterThanOrEqual(ttlMs - since);
          }
        };
        await expectFreshTimesToLive();
        let aged: number[] = [];
        await expect
          .poll(
            async () => (aged = await clock.timesToLive("room:a")).every((time) => time > 0 && time < ttlMs - 100),
            {
              timeout: DEADLINE_MS,
            },
          )
          .toBe(true);
        sentAt = Date.now();
        await history.append("room:a", { from: "ann", text: "two" });
        await expectFreshTimesToLive();
        expect(Math.min(...(await clock.timesToLive("room:a")))).toBeGreaterThan(Math.max(...aged));
      });

      it("forgets a log ttlMs after its last append: reads answer as for a log it never had, and a clientId is new again", async () => {
        const store = await given({ ttlMs: SHORT_TTL_MS });
        const { history } = store;
        await history.append("room:a", { from: "ann", text: "hello", clientId: "c-1" });
        const [last] = await appendTexts(history, "room:a", ["m1"]);
        await outlive(store, "room:a", SHORT_TTL_MS);

        expect(await history.latest("room:a", 10)).toEqual([]);
        expect(await history.before("room:a", HUGE_SEQUENCE_ID, 10)).toEqual([]);
        expect(await history.after("room:a", last!.id)).toEqual({ messages: [], complete: false });

        const reborn = await history.append("room:a", { from: "ann", text: "hello again", clientId: "c-1" });
        expect(reborn.duplicate).toBe(false);
        expect(reborn.message).toMatchObject({ text: "hello again", prev: "" });
        expect(reborn.message.id > last!.id).toBe(true);
        expect(await history.after("room:a", last!.id)).toEqual({ messages: [reborn.message], complete: false });
        expect(await history.after("room:a", reborn.message.id)).toEqual({ messages: [], complete: true });
      });
    });
  });
}

/**
 * Lets the store's time run on until it has dropped `log`: moves an injected clock by the TTL
 * (`log` was appended to at or before now), or waits, with a deadline, until the server has
 * expired every key of `log`.
 */
async function outlive(store: HistoryUnderTest, log: string, ttlMs: number): Promise<void> {
  const { clock, history } = store;
  if (clock.kind === "injected") {
    clock.advance(ttlMs);
    return;
  }
  await expect.poll(() => history.latest(log, 1), { timeout: DEADLINE_MS }).toEqual([]);
  await expect.poll(() => clock.timesToLive(log), { timeout: DEADLINE_MS }).toEqual([-2, -2]);
}
