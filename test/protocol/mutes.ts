// Mutes on the way of a message: the publisher checks them, in cluster mode in the script that
// appends, so a mute holds for every socket on every node, and for a repeated clientId.
import { expect, it } from "vitest";
import { ErrorCode } from "../../protocol/index.js";
import { API_TOKENS, API_TOKENS_ENV, pathOf } from "../support/api.js";
import { ok, record, request, within } from "../support/clients.js";
import { barrier, join, joinAll, names, send, type Nodes } from "./helpers.js";

/** The deployment `muteTests` runs on: the HTTP API on, for its admin client. */
export const MUTES_ENV = { API_TOKENS: API_TOKENS_ENV };

/** Calls the node's HTTP API as its admin client; resolves with the status and the JSON body. */
async function adminCall(url: string, method: "PUT" | "DELETE", path: string, body?: object) {
  const headers: Record<string, string> = { authorization: `Bearer ${API_TOKENS.admin}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await within(
    fetch(`${url}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    `${method} ${path}`,
  );
  return { status: response.status, body: (await response.json()) as { mute?: { until: number } } };
}

const mutePath = (room: string, user: string) => `${pathOf("rooms", room)}/mutes${pathOf(user)}`;

/** Registers the mute tests, for nodes started with MUTES_ENV. */
export function muteTests(nodes: Nodes): void {
  it("a mute refuses the user's sends to that room from every socket, a repeated clientId too; nothing reaches the room or its history", async () => {
    const [room, other, dave, erin] = names("muted", "unmuted", "dave", "erin");
    // dave's two sockets sit on different nodes wherever there are several.
    const [daveFirst, erinSocket, daveSecond] = await nodes.connectAll([dave, erin, dave]);
    await joinAll(room, [daveFirst, erinSocket, daveSecond]);
    await join(daveFirst, other);
    const heard = record(erinSocket, "room:message");
    await send(daveFirst, room, "before", "first-send");

    const muted = await adminCall(nodes.url(1), "PUT", mutePath(room, dave), { seconds: 3600 });
    expect(muted.status).toBe(200);
    const until = muted.body.mute!.until;
    const refusal = { ok: false, error: { code: ErrorCode.Forbidden, message: expect.stringContaining(room), until } };
    for (const socket of [daveFirst, daveSecond]) {
      expect(await request(socket, "room:send", { room, text: "let me talk" })).toEqual(refusal);
    }
    expect(await request(daveSecond, "room:send", { room, text: "before", clientId: "first-send" })).toEqual(refusal);
    await send(daveFirst, other, "elsewhere");

    const last = await barrier(erinSocket, room, [daveFirst, daveSecond]);
    expect(heard.map((message) => message.text)).toEqual(["before", last.text]);
    const history = await ok(daveSecond, "room:history", { room });
    expect(history.messages.map((message) => message.text)).toEqual(["before", last.text]);

    expect((await adminCall(nodes.url(0), "DELETE", mutePath(room, dave))).status).toBe(200);
    expect((await send(daveSecond, room, "thanks")).text).toBe("thanks");
  });
}
