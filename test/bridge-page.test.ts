/**
 * The original demo's page (a plain WebSocket, every frame put in with innerHTML) against two
 * nodes: markup a Socket.IO member sends shows as text there, because the bridge escapes it.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeBrowser, launchBrowser, PAGE_DEADLINE_MS } from "./support/browser.js";
import { closeAllClients, connected, next, ok } from "./support/clients.js";
import { nodesOnOneRedis, type Deployment } from "./support/deployment.js";
import { unique } from "./support/identity.js";

const SEED_PAGE = readFileSync(new URL("./fixtures/seed-page.html", import.meta.url), "utf8");
const XSS = [`<img src=x onerror="alert(1)">`, "<script>alert(2)</script>", `<svg onload=alert(3)>`];

describe("the original demo's page against roomcast", () => {
  let deployment: Deployment;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let pageServer: Server;
  /** Where the page is served: a web server of its own, as the demo's static page was. */
  let pageOrigin: string;
  beforeAll(async () => {
    pageServer = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(SEED_PAGE);
    });
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    // The page's origin is another port: the Origin allow-list must name it.
    deployment = await nodesOnOneRedis(2)({ env: { ALLOWED_ORIGINS: pageOrigin } });
    browser = await launchBrowser();
  });
  afterEach(async () => {
    closeAllClients();
    await context?.close();
    context = undefined;
  });
  afterAll(async () => {
    await closeBrowser(browser);
    await deployment.close();
    await new Promise((resolve) => pageServer.close(resolve));
  });

  /** Opens the demo's page, talking to the node at `url`. */
  async function openSeedPage(url: string, room: string, user: string): Promise<{ page: Page; dialogs: string[] }> {
    context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(PAGE_DEADLINE_MS);
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const query = new URLSearchParams({ room, user, server: new URL(url).host }).toString();
    await page.goto(`${pageOrigin}/seed-page.html?${query}`);
    await page.getByText("连接成功").waitFor();
    return { page, dialogs };
  }

  it("shows an XSS payload from a Socket.IO member as text, and chats both ways", async () => {
    const [pageNode, socketNode] = deployment.urls as [string, string];
    const room = unique("聊天室");
    const mallory = await connected(socketNode, unique("mallory"));
    await ok(mallory, "room:join", { room });
    const joined = next(mallory, "room:presence", (event) => event.user === "访客");
    const { page, dialogs } = await openSeedPage(pageNode, room, "访客");
    await joined;

    for (const payload of XSS) await ok(mallory, "room:send", { room, text: payload });
    const lines = page.locator("#message .line");
    await expect.poll(() => lines.count(), { timeout: PAGE_DEADLINE_MS }).toBe(XSS.length);
    const shown = await lines.allTextContents();
    XSS.forEach((payload, index) => expect(shown[index]).toMatch(new RegExp(`: ${escapeRegExp(payload)}$`)));
    // Nothing became markup: no image, no svg, no script beyond the page's own, no alert.
    expect(await page.locator("#message img, #message svg, #message script").count()).toBe(0);
    expect(dialogs).toEqual([]);

    // The page's own send reaches the Socket.IO member, and comes back to the page.
    const arrived = next(mallory, "room:message", (message) => message.from === "访客");
    await page.getByLabel("消息").fill("大家好");
    await page.getByRole("button", { name: "发送" }).click();
    expect(await arrived).toMatchObject({ room, text: "大家好" });
    await page.getByText(/访客: 大家好$/).waitFor();
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
