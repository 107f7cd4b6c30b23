/**
 * A message a moderator deletes (through the HTTP API, on the other node) disappears from the
 * page while it is open, and stays deleted after a reload: the room's history answers it as a
 * tombstone. The SDK, which the page runs on, sees the same.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ChatClient } from "../client/sdk/index.js";
import type { ChatMessage } from "../protocol/index.js";
import { PAGE_NODE_ENV, pageTestbed } from "./support/browser.js";
import { closeAllClients, connected, next, ok, within } from "./support/clients.js";
import { TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { startProcessCluster } from "./support/processes.js";

const deploy = () => startProcessCluster({ nodes: 2, env: PAGE_NODE_ENV });
const DELETED_TEXT = "This message was deleted.";

/** Deletes a message through the HTTP API of the node at `url`, as a moderator would. */
async function deleteMessage(url: string, room: string, id: string): Promise<void> {
  const response = await fetch(`${url}/api/v1/rooms/${encodeURIComponent(room)}/messages/${id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
}

describe("deleting a message", () => {
  const bed = pageTestbed(deploy);
  const clients: ChatClient[] = [];
  afterEach(async () => {
    closeAllClients();
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  it("takes it off the page at once and after a reload, and the SDK gets `deleted`", async () => {
    const [url0, url1] = bed.deployment.urls as [string, string];
    const writer = await connected(url1, "writer");
    await ok(writer, "room:join", { room: "moderated" });
    const sdk = new ChatClient({ urls: [url1], user: "reader" });
    clients.push(sdk);
    const seen: ChatMessage[] = [];
    sdk.on("message", (message) => seen.push(message));
    await within(sdk.connect(), "the SDK to connect");
    await sdk.join("moderated");

    const page = await bed.open(url0);
    await page.signIn("gil");
    await page.join("moderated");
    const kept = (await ok(writer, "room:send", { room: "moderated", text: "a fine message" })).message as ChatMessage;
    const bad = (await ok(writer, "room:send", { room: "moderated", text: "something rude" })).message as ChatMessage;
    await page.waitForMessage("something rude");

    const told = new Promise<{ room: string; id: string }>((resolve) => sdk.on("deleted", resolve));
    const atWriter = next(writer, "room:message:deleted");
    await deleteMessage(url1, "moderated", bad.id);
    expect(await within(told, "the SDK's deleted event")).toEqual({ room: "moderated", id: bad.id });
    expect(await atWriter).toEqual({ room: "moderated", id: bad.id });
    await page.messages(DELETED_TEXT).waitFor();
    expect(await page.messages("something rude").count()).toBe(0);
    expect(seen.map((message) => message.text)).toEqual(["a fine message", "something rude"]);

    // History answers it as a tombstone: same id and place, no text.
    expect(await sdk.history("moderated")).toEqual([kept, { ...bad, text: "", deleted: true }]);
    await page.page.reload();
    await page.signInAsRemembered();
    await page.waitForTitle("# moderated");
    await page.waitForMessage("a fine message");
    await page.messages(DELETED_TEXT).waitFor();
    expect(await page.timeline.locator("li.message .text").allTextContents()).toEqual(["a fine message", DELETED_TEXT]);
  });
});
