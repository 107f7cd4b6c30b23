import { describe, expect, it } from "vitest";
import { Endpoints, parseUrls } from "../client/sdk/endpoints.js";

describe("parseUrls", () => {
  it("takes a URL, a comma-separated list, or an array of either", () => {
    expect(parseUrls("http://a:1")).toEqual(["http://a:1"]);
    expect(parseUrls(" http://a:1 , http://b:2,")).toEqual(["http://a:1", "http://b:2"]);
    expect(parseUrls(["http://a:1,http://b:2", "http://c:3"])).toEqual(["http://a:1", "http://b:2", "http://c:3"]);
  });

  it("drops repeats and keeps the first order", () => {
    expect(parseUrls(["http://b:2", "http://a:1", "http://b:2"])).toEqual(["http://b:2", "http://a:1"]);
  });

  it("refuses an empty list", () => {
    expect(() => parseUrls([])).toThrow(TypeError);
    expect(() => parseUrls(" , ")).toThrow(TypeError);
  });
});

describe("Endpoints", () => {
  it("starts on the first URL and rotates round the list", () => {
    const endpoints = new Endpoints(["http://a:1", "http://b:2", "http://c:3"]);
    expect(endpoints.current).toBe("http://a:1");
    expect([endpoints.rotate(), endpoints.rotate(), endpoints.rotate(), endpoints.rotate()]).toEqual([
      "http://b:2",
      "http://c:3",
      "http://a:1",
      "http://b:2",
    ]);
    expect(endpoints.current).toBe("http://b:2");
  });

  it("stays on a single URL", () => {
    const endpoints = new Endpoints("http://a:1");
    expect(endpoints.rotate()).toBe("http://a:1");
    expect(endpoints.urls).toEqual(["http://a:1"]);
  });
});
