import { describe, expect, it } from "vitest";
import { nodeUrls } from "../client/page/client.js";
import { dayKey, dayLabel, listNames } from "../client/page/format.js";
import { parseRoute, routeHash } from "../client/page/routes.js";
import { typingText } from "../client/page/typing.js";

describe("the page's address", () => {
  it("round-trips room and DM names through the hash, percent-encoded", () => {
    for (const name of ["lobby", "Team Room", "房间号1", "a.b-c_d", "50% off", "#/room/x"]) {
      expect(parseRoute(routeHash({ kind: "room", name }))).toEqual({ kind: "room", name });
      expect(parseRoute(routeHash({ kind: "dm", user: name }))).toEqual({ kind: "dm", user: name });
    }
    expect(routeHash({ kind: "room", name: "Team Room" })).toBe("#/room/Team%20Room");
  });

  it("reads anything else as home", () => {
    for (const hash of ["", "#", "#/", "#/room/", "#/rooms/x", "#/room/%E0%A4%A", "#/elsewhere/x"]) {
      expect(parseRoute(hash)).toEqual({ kind: "home" });
    }
  });
});

describe("the nodes a page connects to", () => {
  const page = { origin: "http://127.0.0.1:3000", hostname: "127.0.0.1" };

  it("is the page's own origin without ?nodes=", () => {
    expect(nodeUrls({ ...page, search: "" })).toEqual(["http://127.0.0.1:3000"]);
  });

  it("takes the listed nodes in order, without repeats", () => {
    const search = "?nodes=http://127.0.0.1:3001,http%3A%2F%2F127.0.0.1%3A3002,http://127.0.0.1:3001/";
    expect(nodeUrls({ ...page, search })).toEqual(["http://127.0.0.1:3001", "http://127.0.0.1:3002"]);
  });

  it("ignores nodes on other hosts and other schemes, so a link cannot redirect the chat", () => {
    const search = "?nodes=http://evil.example:3000,javascript:alert(1),ws://127.0.0.1:1,nonsense";
    expect(nodeUrls({ ...page, search })).toEqual(["http://127.0.0.1:3000"]);
  });
});

describe("the page's wording", () => {
  it("says who is typing", () => {
    expect(typingText([])).toBe("");
    expect(typingText(["ann"])).toBe("ann is typing…");
    expect(typingText(["ann", "bob"])).toBe("ann and bob are typing…");
    expect(typingText(["ann", "bob", "cy"])).toBe("ann, bob and cy are typing…");
    expect(typingText(["a", "b", "c", "d"])).toBe("Several people are typing…");
    expect(listNames(["solo"])).toBe("solo");
  });

  it("labels days as today, yesterday, or their date", () => {
    const now = new Date(2026, 10, 25, 9, 30).getTime();
    expect(dayLabel(new Date(2026, 10, 25, 0, 1).getTime(), now)).toBe("Today");
    expect(dayLabel(new Date(2026, 10, 24, 23, 59).getTime(), now)).toBe("Yesterday");
    expect(dayLabel(new Date(2026, 10, 20, 12, 0).getTime(), now)).toMatch(/20/);
    expect(dayLabel(new Date(2025, 10, 20, 12, 0).getTime(), now)).toMatch(/2025/);
    expect(dayKey(new Date(2026, 0, 5, 23, 0).getTime())).toBe("2026-01-05");
  });
});
