/**
 * Bad input to every route of the HTTP API, field by field: each gets 400 with its code
 * (`bad_request`, or `too_long` for a text over MAX_MESSAGE_LENGTH) and a message naming the
 * field, and nothing is stored. The calls alternate between two nodes, and every answer is checked
 * against the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, LIMITS } from "../protocol/index.js";
import { MAX_MODERATION_SECONDS } from "../server/moderation/moderation.js";
import {
  API_TOKENS,
  API_TOKENS_ENV,
  ApiContract,
  apiOf,
  pathOf,
  type ApiCall,
  type CallOptions,
} from "./support/api.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { LARGE, badNames, type BadValue } from "./protocol/bad-input.js";
import { show } from "./protocol/helpers.js";

/** One bad request: where it goes, what it sends, the code it must get, and the field its message names. */
interface BadRequestCase {
  label: string;
  method: string;
  path: string;
  options?: CallOptions;
  code?: ErrorCode;
  /** A word the error message must hold (the field's name). */
  names: string;
}

const NOT_STRINGS: BadValue[] = [
  { label: "a number", value: 42 },
  { label: "null", value: null },
  { label: "an array", value: ["x"] },
  { label: "an object", value: { name: "x" } },
  { label: "a boolean", value: true },
  { label: "empty", value: "" },
];
const labelled = (...values: unknown[]): BadValue[] => values.map((value) => ({ label: show(value), value }));

const BAD_TEXTS: BadValue[] = [
  ...NOT_STRINGS,
  { label: "60 KB", value: LARGE, code: ErrorCode.TooLong },
  { label: "one over MAX_MESSAGE_LENGTH", value: "t".repeat(2001), code: ErrorCode.TooLong },
  ...labelled("\ud800", "a\udc00b"),
];
const BAD_CLIENT_IDS: BadValue[] = [
  ...NOT_STRINGS,
  { label: "one too long", value: "c".repeat(LIMITS.clientId.max + 1) },
  ...labelled("\ud800"),
];
/** Bad names that a URL path can carry (a string, short enough for a request line). */
const pathNames = (kind: "user" | "room"): BadValue[] =>
  badNames(kind).filter(({ value }) => typeof value === "string" && value !== "" && value.length < 1000);
/** Values that are not message ids, as a query string or path carries them. */
const BAD_IDS = labelled(
  "nope",
  "1-1",
  "1767225600000-18446744073709551616",
  "1767225600000-99999999999999999999",
  "1767225600000-0000001",
);
const NOT_OBJECTS = labelled(null, 42, "hi", [1], true);

/** Every bad request of every route. */
function badRequests(room: string, user: string): BadRequestCase[] {
  const cases: BadRequestCase[] = [];
  /** A body route: every bad value of each field, then bodies that are not what it takes. */
  const body = (path: string, valid: Record<string, unknown>, fields: Record<string, BadValue[]>, method = "POST") => {
    for (const [field, values] of Object.entries(fields)) {
      for (const { label, value, code } of values) {
        cases.push({
          label: `${field} ${label}`,
          method,
          path,
          options: { body: { ...valid, [field]: value } },
          ...(code ? { code } : {}),
          names: field,
        });
      }
    }
    for (const required of Object.keys(valid)) {
      const { [required]: _, ...rest } = valid;
      cases.push({ label: `no ${required}`, method, path, options: { body: rest }, names: required });
    }
    for (const { label, value } of NOT_OBJECTS) {
      cases.push({
        label: `a body that is ${label}`,
        method,
        path,
        options: { body: JSON.stringify(value) },
        names: "body",
      });
    }
    cases.push(
      {
        label: "a misspelt field",
        method,
        path,
        options: { body: { ...valid, clientid: "x" } },
        names: "clientid",
      },
      { label: "no body", method, path, names: "body" },
      { label: "a body that is not JSON", method, path, options: { body: "{not json" }, names: "JSON" },
    );
  };
  /** A path parameter: every bad name in turn, in place of `good` in `path`. */
  const param = (method: string, path: (name: string) => string, kind: "user" | "room", options: CallOptions = {}) => {
    for (const { label, value } of pathNames(kind)) {
      cases.push({ label: `${kind} ${label} in the path`, method, path: path(value as string), options, names: kind });
    }
  };
  /** A query parameter's bad values. */
  const query = (path: string, field: string, values: string[]) => {
    for (const value of values) {
      cases.push({
        label: `${field}=${show(value)}`,
        method: "GET",
        path: `${path}?${field}=${encodeURIComponent(value)}`,
        names: field,
      });
    }
  };

  const roomMessages = `${pathOf("rooms", room)}/messages`;
  const publish = { token: API_TOKENS.publish };
  body(
    roomMessages,
    { from: "bot", text: "hi" },
    { from: badNames("user"), text: BAD_TEXTS, clientId: BAD_CLIENT_IDS },
  );
  param("POST", (name) => `${pathOf("rooms", name)}/messages`, "room", { body: { from: "bot", text: "hi" } });
  for (const key of ["", "k".repeat(LIMITS.clientId.max + 1)]) {
    cases.push({
      label: `Idempotency-Key ${show(key)}`,
      method: "POST",
      path: roomMessages,
      options: { body: { from: "bot", text: "hi" }, headers: { "idempotency-key": key } },
      names: "idempotency-key",
    });
  }

  const userMessages = `${pathOf("users", user)}/messages`;
  body(
    userMessages,
    { from: "bot", text: "hi" },
    { from: badNames("user"), text: BAD_TEXTS, clientId: BAD_CLIENT_IDS },
  );
  param("POST", (name) => `${pathOf("users", name)}/messages`, "user", { body: { from: "bot", text: "hi" } });

  param("GET", (name) => `${pathOf("rooms", name)}/messages`, "room");
  query(roomMessages, "before", ["", ...BAD_IDS.map(({ value }) => value as string)]);
  query(roomMessages, "limit", ["0", "-1", String(LIMITS.maxHistoryPage + 1), "1.5", "ten", ""]);

  query("/rooms", "cursor", ["", "c".repeat(LIMITS.maxCursor + 1)]);
  query("/rooms", "limit", ["0", String(LIMITS.maxRoomsPage + 1), "1.5", "many"]);

  param("GET", (name) => `${pathOf("rooms", name)}/members`, "room");
  query(`${pathOf("rooms", room)}/members`, "limit", ["0", "1001", "1.5", "all"]);

  param("GET", (name) => pathOf("users", name), "user");
  param("POST", (name) => `${pathOf("users", name)}/kick`, "user");

  body(
    "/notices",
    { text: "hi" },
    {
      text: [...NOT_STRINGS, { label: "2001 characters", value: "n".repeat(2001) }, ...labelled("\ud800")],
      room: [...badNames("room")],
    },
  );
  const seconds = labelled(0, -1, MAX_MODERATION_SECONDS + 1, 1.5, "60", null, true);
  const ban = { seconds: 60, reason: "spam" };
  body(
    pathOf("bans", user),
    ban,
    { seconds, reason: [...NOT_STRINGS, { label: "501 characters", value: "r".repeat(501) }, ...labelled("\ud800")] },
    "PUT",
  );
  param("PUT", (name) => pathOf("bans", name), "user", { body: ban });
  param("GET", (name) => pathOf("bans", name), "user");
  param("DELETE", (name) => pathOf("bans", name), "user");
  const mute = (roomName: string, userName: string) => `${pathOf("rooms", roomName)}/mutes${pathOf(userName)}`;
  body(mute(room, user), { seconds: 60 }, { seconds }, "PUT");
  for (const method of ["PUT", "GET", "DELETE"]) {
    const options = method === "PUT" ? { body: { seconds: 60 } } : {};
    param(method, (name) => mute(name, user), "room", options);
    param(method, (name) => mute(room, name), "user", options);
  }
  param("DELETE", (name) => `${pathOf("rooms", name)}/messages/1767225600000-000001`, "room");
  for (const { label, value } of BAD_IDS) {
    cases.push({
      label: `id ${label}`,
      method: "DELETE",
      path: `${roomMessages}${pathOf(value as string)}`,
      names: "id",
    });
  }

  // A send needs the publish scope; every other route here is happy with the admin token.
  return cases.map((entry) =>
    entry.path.endsWith("/messages") && entry.method === "POST"
      ? { ...entry, options: { ...entry.options, ...publish } }
      : entry,
  );
}

describe("bad input to the HTTP API", () => {
  let cluster: ProcessCluster;
  let api: [ApiCall, ApiCall];

  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2, env: { API_TOKENS: API_TOKENS_ENV } });
    const contract = await ApiContract.load(cluster.urls[0]!);
    api = [apiOf(cluster.urls[0]!, contract), apiOf(cluster.urls[1]!, contract)];
  });
  afterAll(() => cluster?.close());

  it("gets 400 with its code and a message naming the field, for every field of every route", async () => {
    const [room, user] = ["bad-input", "nobody"];
    const cases = badRequests(room, user);
    expect(cases.length).toBeGreaterThan(300);
    let k = 0;
    for (const entry of cases) {
      const answer = await api[k++ % 2]!(entry.method, entry.path, entry.options);
      const label = `${entry.method} ${entry.path.slice(0, 60)}: ${entry.label}`;
      expect(answer.status, label).toBe(400);
      expect(answer.body, label).toEqual({
        ok: false,
        error: { code: entry.code ?? ErrorCode.BadRequest, message: expect.stringContaining(entry.names) },
      });
    }
    // Nothing was stored by any of them.
    const history = await api[0]("GET", `${pathOf("rooms", room)}/messages`);
    expect(history.body).toEqual({ ok: true, messages: [] });
  });

  it("a body over the server's limit gets 413 too_long", async () => {
    const answer = await api[1]("POST", `${pathOf("rooms", "big")}/messages`, {
      token: API_TOKENS.publish,
      body: { from: "bot", text: "x".repeat(2 * 1024 * 1024) },
    });
    expect(answer).toMatchObject({ status: 413, body: { ok: false, error: { code: ErrorCode.TooLong } } });
  });
});
