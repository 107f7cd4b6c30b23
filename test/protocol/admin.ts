// The admin API: auth, nodes, kicks and notices; and its absence without ADMIN_TOKEN.
import { describe, expect, it } from "vitest";
import { ErrorCode, type ErrorBody, type Notice } from "../../protocol/index.js";
import type { NodeSummary } from "../../server/presence/presence.js";
import { next, request, within } from "../support/clients.js";
import { TEST_ENV } from "../support/deployment.js";
import { disconnected, failure, inbox, joinAll, names, show, type Nodes } from "./helpers.js";

const ADMIN_TOKEN = TEST_ENV.ADMIN_TOKEN!;

/** What the admin endpoints answer; each sends some of these fields. */
interface AdminBody {
  ok?: boolean;
  error?: ErrorBody;
  user?: string;
  nodes?: NodeSummary[] | string[];
  notice?: Notice;
}

/** Calls the admin API with the bearer `token` (null: no Authorization header at all). */
async function admin(
  url: string,
  method: "GET" | "POST",
  path: string,
  /** Sent as JSON; a string is sent as it is. */
  body?: object | string,
  token: string | null = ADMIN_TOKEN,
): Promise<{ status: number; body: AdminBody }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await within(
    fetch(`${url}${path}`, { method, headers, body: typeof body === "object" ? JSON.stringify(body) : body }),
    `${method} ${path}`,
  );
  return { status: response.status, body: await response.json() };
}

const kick = (url: string, user: string) => admin(url, "POST", `/admin/users/${encodeURIComponent(user)}/kick`);

/** One valid request to each admin route. */
const ADMIN_ROUTES = [
  ["GET", "/admin/nodes", undefined],
  ["POST", "/admin/notices", { text: "hi" }],
  ["POST", "/admin/users/alice/kick", undefined],
] as const;

/** Registers the admin tests, for nodes started with TEST_ENV's ADMIN_TOKEN. */
export function adminTests(nodes: Nodes): void {
  describe("admin", () => {
    it("answers 401 unauthorized without the bearer token", async () => {
      const url = nodes.url(0);
      for (const [method, path, body] of ADMIN_ROUTES) {
        for (const token of [null, "", "wrong", `${ADMIN_TOKEN}x`]) {
          const answer = await admin(url, method, path, body, token);
          const expected = { status: 401, body: failure(ErrorCode.Unauthorized) };
          expect(answer, `${method} ${path} with ${token}`).toEqual(expected);
        }
      }
    });

    it("GET /admin/nodes lists every live node with its counts", async () => {
      const { status, body } = await admin(nodes.url(0), "GET", "/admin/nodes");
      expect(status).toBe(200);
      expect(body.ok).toBe(true);
      expect(body.nodes).toHaveLength(nodes.urls().length);
      for (const node of body.nodes ?? []) {
        expect(node).toEqual({
          node: expect.any(String),
          sockets: expect.any(Number),
          users: expect.any(Number),
          seenAt: expect.any(Number),
        });
      }
      const listed = (body.nodes ?? []) as NodeSummary[];
      expect(new Set(listed.map((node) => node.node)).size).toBe(listed.length);
    });

    it("kicking a user disconnects each of their sockets, on every node, and nobody else", async () => {
      const [alice, bob] = names("alice", "bob");
      const tabs = Math.max(2, nodes.urls().length);
      const sockets = await nodes.connectAll([...Array.from({ length: tabs }, () => alice), bob]);
      const aliceSockets = sockets.slice(0, tabs);
      const bobSocket = sockets[tabs]!;
      const reasons = Promise.all(aliceSockets.map(disconnected));

      const { status, body } = await kick(nodes.url(tabs - 1), alice);
      expect(status).toBe(200);
      expect(body).toMatchObject({ ok: true, user: alice });
      expect(body.nodes?.length).toBe(new Set(aliceSockets.map((_, k) => nodes.url(k))).size);
      expect(await reasons).toEqual(aliceSockets.map(() => "io server disconnect"));

      expect(bobSocket.connected).toBe(true);
      expect(await request(bobSocket, "dm:send", { to: alice, text: "are you there?" })).toMatchObject({ ok: true });
    });

    it("kick answers 400 bad_request for an invalid user name", async () => {
      expect(await kick(nodes.url(0), "u:alice")).toEqual({ status: 400, body: failure(ErrorCode.BadRequest) });
    });

    it("posts a notice to one room's members only, and one to everyone", async () => {
      const [room, alice, bob, carol] = names("notices", "alice", "bob", "carol");
      const sockets = await nodes.connectAll([alice, bob, carol]);
      await joinAll(room, sockets.slice(0, 2));
      const seen = sockets.map(inbox);

      const toRoom = Promise.all(sockets.slice(0, 2).map((socket) => next(socket, "notice")));
      const posted = await admin(nodes.url(2), "POST", "/admin/notices", { room, text: "room notice" });
      expect(posted).toEqual({
        status: 200,
        body: { ok: true, notice: { room, text: "room notice", ts: expect.any(Number) } },
      });
      expect(await toRoom).toEqual([posted.body.notice, posted.body.notice]);

      // The notice to everyone, posted after on the same node, is carol's barrier.
      const toAll = Promise.all(sockets.map((socket) => next(socket, "notice", (notice) => !notice.room)));
      const everyone = await admin(nodes.url(2), "POST", "/admin/notices", { text: "to all" });
      expect(everyone).toEqual({
        status: 200,
        body: { ok: true, notice: { text: "to all", ts: expect.any(Number) } },
      });
      expect(await toAll).toEqual(sockets.map(() => everyone.body.notice));
      expect(seen.map(({ notices }) => notices)).toEqual([
        [posted.body.notice, everyone.body.notice],
        [posted.body.notice, everyone.body.notice],
        [everyone.body.notice],
      ]);
    });

    it("answers 400 bad_request to a malformed notice", async () => {
      const url = nodes.url(0);
      const bodies = [
        {},
        { text: "" },
        { text: ["a", "b"] },
        { text: "x".repeat(2001) },
        { text: "hi", room: "u:alice" },
        "{not json",
      ];
      for (const body of bodies) {
        const answer = await admin(url, "POST", "/admin/notices", body);
        expect(answer, show(body)).toEqual({ status: 400, body: failure(ErrorCode.BadRequest) });
      }
    });
  });
}

/** Registers the tests of a deployment whose ADMIN_TOKEN is empty. */
export function adminDisabledTests(nodes: Nodes): void {
  it("without ADMIN_TOKEN every admin route answers 404, whatever the Authorization", async () => {
    for (const url of nodes.urls()) {
      // An empty token must not be a token that an empty Authorization matches.
      for (const token of [null, "", ADMIN_TOKEN]) {
        for (const [method, path, body] of ADMIN_ROUTES) {
          const answer = await admin(url, method, path, body, token);
          expect(answer.status, `${method} ${path} with ${JSON.stringify(token)}`).toBe(404);
        }
      }
      // Only /admin is gone: the node itself serves.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    }
  });
}
