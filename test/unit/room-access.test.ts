import { describe, expect, it } from "vitest";
import { roomAllowed } from "../../server/auth/room-access.js";
import { pairLog, roomChannel, roomLog, userChannel } from "../../server/chat/rooms.js";

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
    expect(roomChannel("x")).toBe("r:x");
    expect(userChannel("x")).toBe("u:x");
  });

  it("never makes a 20-character room name, which the adapter would take for a socket id", () => {
    const eighteen = "a".repeat(18);
    expect(roomChannel(eighteen)).toHaveLength(21);
    expect(roomChannel(eighteen).startsWith(`r:${eighteen}`)).toBe(true);
    expect(userChannel(eighteen)).toHaveLength(21);
    expect(roomChannel("a".repeat(17))).toHaveLength(19);
  });

  it("names one log per room and one per pair of users, the same from either side", () => {
    expect(roomLog("lobby")).toBe("room:lobby");
    expect(pairLog("bob", "alice")).toBe(pairLog("alice", "bob"));
    expect(pairLog("alice", "bob")).toBe("dm:alice\nbob");
  });
});
