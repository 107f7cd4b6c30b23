import { describe, expect, it } from "vitest";
import { roomAllowed } from "../../server/auth/room-access.js";
import { pairLog, roomChannel, roomLog, roomOfChannel, userChannel } from "../../server/chat/rooms.js";
import { redisKeys } from "../../server/redis/keys.js";

/** What Redis Cluster hashes of a key or channel: its first non-empty `{…}`, or all of it. */
function hashTag(name: string): string {
  const open = name.indexOf("{");
  const close = open < 0 ? -1 : name.indexOf("}", open + 1);
  return close > open + 1 ? name.slice(open + 1, close) : name;
}

describe("roomAllowed", () => {
  it("allows every room without a rooms claim, and with *", () => {
    expect(roomAllowed(undefined, "anything")).toBe(true);
    expect(roomAllowed(["*"], "anything")).toBe(true);
  });

  it("matches exact names and prefixes written team-*", () => {
    const patterns = ["lobby", "team-*"];
    expect(roomAllowed(patterns, "lobby")).toBe(true);
    expect(roomAllowed(patterns, "team-red")).toBe(true);
    expect(roomAllowed(patterns, "team-")).toBe(true);
    expect(roomAllowed(patterns, "lobby2")).toBe(false);
    expect(roomAllowed(patterns, "x-team-red")).toBe(false);
    expect(roomAllowed([], "lobby")).toBe(false);
  });

  it("compares NFKC-normalized patterns with normalized room names", () => {
    expect(roomAllowed(["ｔeam-*"], "team-red")).toBe(true);
  });
});

describe("internal room and log names", () => {
  it("keeps chatrooms and users apart", () => {
    expect(roomChannel("x")).toBe("r:{h:room:x}");
    expect(userChannel("x")).toBe("u:x");
  });

  it("never makes a 20-character room name, which the adapter would take for a socket id", () => {
    const eighteen = "a".repeat(18);
    expect(roomChannel("a".repeat(9))).toHaveLength(21);
    expect(roomChannel("a".repeat(9)).startsWith(`r:{h:room:${"a".repeat(9)}}`)).toBe(true);
    expect(userChannel(eighteen)).toHaveLength(21);
    expect(roomChannel("a".repeat(8))).toHaveLength(19);
  });

  it("names one log per room and one per pair of users, the same from either side", () => {
    expect(roomLog("lobby")).toBe("room:lobby");
    expect(pairLog("bob", "alice")).toBe(pairLog("alice", "bob"));
    expect(pairLog("alice", "bob")).toBe("dm:alice\nbob");
  });
});

describe("a chatroom's Socket.IO room", () => {
  it("hashes to its history log's Redis Cluster slot, so one script can append and publish", () => {
    const keys = redisKeys("app");
    for (const room of ["lobby", "a".repeat(9), "房间 1", "x.y-z_"]) {
      // The sharded adapter's channel for a room (stores/redis.ts) adds a prefix and "#"s around it.
      const channel = `app:io#/#${roomChannel(room)}#`;
      expect(hashTag(channel)).toBe(hashTag(keys.log(roomLog(room))));
    }
  });

  it("gives back its chatroom, and nothing for a user's room or a socket id", () => {
    for (const room of ["lobby", "a".repeat(9), "a".repeat(8), "房间"])
      expect(roomOfChannel(roomChannel(room))).toBe(room);
    expect(roomOfChannel(userChannel("lobby"))).toBeUndefined();
    expect(roomOfChannel("r:lobby")).toBeUndefined();
    expect(roomOfChannel("Xz3bKq9Lm2Pw8Rt5Yv1A")).toBeUndefined();
  });
});
