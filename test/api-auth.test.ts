/**
 * Who may call the HTTP API: each scope's routes and refusals, bad and missing tokens, ADMIN_TOKEN
 * as an admin client, the lockout of an address after failed sign-ins (shared with /admin, counted
 * on every node), the client's name (never its token) in the logs, and a deployment without
 * tokens, where the API answers 404 but still serves its document and docs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../protocol/index.js";
import type { ApiScope } from "../server/config.js";
import {
  API_TOKENS,
  API_TOKENS_ENV,
  ApiContract,
  apiOf,
  routeExamples,
  type ApiCall,
  type RouteExample,
} from "./support/api.js";
import { TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { freePort } from "./support/redis-server.js";
import { NodeProcess, startProcessCluster, type ProcessCluster } from "./support/processes.js";
import { failure, unique } from "./protocol/helpers.js";

const SCOPES: ApiScope[] = ["publish", "read", "admin"];
/** Failed sign-ins an address may make per minute on the test nodes. */
const FAILURES_ALLOWED = 5;

let addresses = 0;
/** A client address no other call of this file uses, so that its failures count for it alone. */
const freshAddress = () => `203.0.113.${++addresses}`;

describe("HTTP API auth on two nodes", () => {
  let cluster: ProcessCluster;
  let api: ApiCall[];

  beforeAll(async () => {
    cluster = await startProcessCluster({
      nodes: 2,
      env: {
        API_TOKENS: API_TOKENS_ENV,
        TRUST_PROXY: "true",
        ADMIN_FAILURES_PER_MINUTE: String(FAILURES_ALLOWED),
        // One send per second per sender: the API's sends count like a socket's.
        RATE_LIMIT_PER_SECOND: "1",
        RATE_LIMIT_BURST: "1",
      },
    });
    const contract = await ApiContract.load(cluster.urls[0]!);
    api = cluster.urls.map((url) => apiOf(url, contract));
  });
  afterAll(() => cluster?.close());

  const call = (node: number, route: RouteExample, token: string | null, forwardedFor?: string) =>
    api[node % 2]!(route.method, route.path, { ...route.options, token, ...(forwardedFor ? { forwardedFor } : {}) });

  it("each scope may call its routes and gets 403 forbidden on the others; admin may call all", async () => {
    let k = 0;
    for (const scope of SCOPES) {
      for (const route of routeExamples(unique)) {
        const answer = await call(k++, route, API_TOKENS[scope]);
        const label = `${scope} token: ${route.method} ${route.path}`;
        if (scope === "admin" || scope === route.scope) {
          expect(answer.status, label).toBe(route.status);
          expect(answer.body.ok, label).toBe(route.status < 300);
        } else {
          expect(answer, label).toMatchObject({ status: 403, body: failure(ErrorCode.Forbidden) });
        }
      }
    }
  });

  it("ADMIN_TOKEN is an admin client of the API", async () => {
    let k = 0;
    for (const route of routeExamples(unique)) {
      const answer = await call(k++, route, TEST_ADMIN_TOKEN);
      expect(answer.status, `${route.method} ${route.path}`).toBe(route.status);
    }
  });

  it("answers 401 unauthorized without a valid bearer token", async () => {
    const tokens: (string | null)[] = [null, "", "wrong", `${API_TOKENS.admin}x`, API_TOKENS.admin.slice(0, -1)];
    let k = 0;
    for (const route of routeExamples(unique)) {
      for (const token of tokens) {
        const answer = await call(k++, route, token, freshAddress());
        expect(answer, `${route.method} ${route.path} with ${token}`).toMatchObject({
          status: 401,
          body: failure(ErrorCode.Unauthorized),
        });
      }
      // Another scheme, or the token alone, is no bearer token either.
      for (const authorization of [`Basic ${API_TOKENS.admin}`, API_TOKENS.admin, `Bearer  ${API_TOKENS.admin}`]) {
        const answer = await api[k++ % 2]!(route.method, route.path, {
          ...route.options,
          token: null,
          headers: { authorization },
          forwardedFor: freshAddress(),
        });
        expect(answer.status, `${route.method} ${route.path} with "${authorization.slice(0, 8)}…"`).toBe(401);
      }
    }
    // The scheme's case does not matter.
    const [route] = routeExamples(unique).filter((example) => example.path === "/nodes");
    const lower = await api[0]!(route!.method, route!.path, {
      token: null,
      headers: { authorization: `bearer ${API_TOKENS.read}` },
    });
    expect(lower.status).toBe(200);
  });

  it("locks an address out after too many failed sign-ins, on every node, even with the right token", async () => {
    const [route] = routeExamples(unique).filter((example) => example.path === "/nodes");
    const locked = freshAddress();
    for (let k = 0; k < FAILURES_ALLOWED; k++) {
      expect((await call(k, route!, `guess-${k}`, locked)).status).toBe(401);
    }
    for (const node of [0, 1]) {
      for (const token of ["guess", API_TOKENS.read, API_TOKENS.admin]) {
        const refused = await call(node, route!, token, locked);
        expect(refused.status).toBe(429);
        expect(refused.body.error).toMatchObject({ code: ErrorCode.RateLimited, retryAfterMs: expect.any(Number) });
        expect(refused.body.error!.retryAfterMs).toBeLessThanOrEqual(60_000);
        expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      }
      // The same lockout holds at /admin: one limit for guessing either.
      const admin = await fetch(`${cluster.urls[node]}/admin/nodes`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "x-forwarded-for": locked },
      });
      expect(admin.status).toBe(429);
      // Another address is not locked out.
      expect((await call(node, route!, API_TOKENS.read, freshAddress())).status).toBe(200);
    }
  });

  it("failed sign-ins at /admin and at /api/v1 add up", async () => {
    const [route] = routeExamples(unique).filter((example) => example.path === "/nodes");
    const address = freshAddress();
    for (let k = 0; k < FAILURES_ALLOWED; k++) {
      if (k % 2 === 0) {
        const admin = await fetch(`${cluster.urls[k % 2]}/admin/nodes`, {
          headers: { authorization: "Bearer wrong", "x-forwarded-for": address },
        });
        expect(admin.status).toBe(401);
      } else {
        expect((await call(k, route!, "wrong", address)).status).toBe(401);
      }
    }
    expect((await call(1, route!, API_TOKENS.read, address)).status).toBe(429);
  });

  it("a sender over its send limit gets 429 rate_limited with Retry-After, as on a socket", async () => {
    const [room, bot] = [unique("limited"), unique("bot")];
    // Ten at once, from one sender allowed one per second: most are refused.
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, k) =>
        api[k % 2]!("POST", `/rooms/${room}/messages`, {
          token: API_TOKENS.publish,
          body: { from: bot, text: `m${k}` },
        }),
      ),
    );
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(answers.every((answer) => answer.status === 201 || answer.status === 429)).toBe(true);
    for (const answer of refused) {
      expect(answer.body.error).toMatchObject({ code: ErrorCode.RateLimited, retryAfterMs: expect.any(Number) });
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });

  it("logs each call with its client's name, and never a token", async () => {
    const [route] = routeExamples(unique).filter((example) => example.path === "/nodes");
    await call(0, route!, API_TOKENS.read);
    await cluster.nodes[0]!.waitForLog(
      (line) => line.msg === "api request" && line.apiClient === "read-client" && line.route === "/api/v1/nodes",
      "the log line of the read client's call",
    );
    const everything = cluster.nodes.flatMap((node) => node.logs.map((line) => JSON.stringify(line))).join("\n");
    for (const token of [...Object.values(API_TOKENS), TEST_ADMIN_TOKEN]) expect(everything).not.toContain(token);
  });
});

describe("HTTP API without any token configured", () => {
  let node: NodeProcess;
  let api: ApiCall;

  beforeAll(async () => {
    // One node in memory, with neither API_TOKENS nor ADMIN_TOKEN.
    node = new NodeProcess(await freePort(), { ADMIN_TOKEN: "" });
    await node.start();
    api = apiOf(node.url, await ApiContract.load(node.url));
  });
  afterAll(() => node?.stop("SIGKILL"));

  it("answers 404 not_found on every route whatever the Authorization, as /admin does", async () => {
    for (const route of routeExamples(unique)) {
      for (const token of [null, "", TEST_ADMIN_TOKEN, API_TOKENS.admin]) {
        const answer = await api(route.method, route.path, { ...route.options, token });
        expect(answer, `${route.method} ${route.path} with ${token}`).toMatchObject({
          status: 404,
          body: failure(ErrorCode.NotFound),
        });
      }
    }
    expect((await fetch(`${node.url}/admin/nodes`)).status).toBe(404);
  });

  it("still serves the OpenAPI document and the docs", async () => {
    const document = await fetch(`${node.url}/api/v1/openapi.json`);
    expect(document.status).toBe(200);
    expect(((await document.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    expect((await fetch(`${node.url}/api/docs/`)).status).toBe(200);
  });
});
