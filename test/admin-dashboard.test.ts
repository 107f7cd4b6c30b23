/**
 * The admin dashboard at /admin (issue 13), in Chromium, against two real node processes on one
 * Redis: sign in with ADMIN_TOKEN, see both nodes and the busiest rooms, watch the chart take the
 * messages sent meanwhile, kick a user connected to the other node, and post a notice.
 * `UPDATE_SCREENSHOT=1` also writes docs/admin.png.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeBrowser, launchBrowser, PAGE_DEADLINE_MS, PAGE_NODE_ENV, screenshotPath } from "./support/browser.js";
import { closeAllClients, connected, next, ok, within, type TestSocket } from "./support/clients.js";
import { TEST_ADMIN_TOKEN } from "./support/deployment.js";
import { startProcessCluster, type ProcessCluster } from "./support/processes.js";

/** One operator's dashboard tab, recording every CSP violation and uncaught error. */
class Dashboard {
  readonly violations: string[] = [];
  readonly pageErrors: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on("pageerror", (error) => this.pageErrors.push(error.message));
    page.on("console", (message) => {
      if (/Content Security Policy|Trusted ?(Types?|HTML|Script)/i.test(message.text())) {
        this.violations.push(message.text());
      }
    });
    page.setDefaultTimeout(PAGE_DEADLINE_MS);
  }

  static async open(browser: Browser, url: string): Promise<Dashboard> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 1000 },
      deviceScaleFactor: 1,
      locale: "en-GB",
      timezoneId: "UTC",
    });
    const dashboard = new Dashboard(context, await context.newPage());
    await dashboard.page.goto(`${url}/admin`);
    return dashboard;
  }

  async signIn(token: string): Promise<void> {
    await this.page.getByLabel("Admin token").fill(token);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }

  /** Waits until the text of the element `selector` matches `pattern` (the page's CSP allows no eval). */
  async waitForText(selector: string, pattern: RegExp, what: string): Promise<void> {
    await within(
      this.page.waitForFunction(
        ([selector, source, flags]) =>
          new RegExp(source!, flags).test(document.querySelector(selector!)?.textContent ?? ""),
        [selector, pattern.source, pattern.flags],
        { timeout: 0 },
      ),
      what,
    );
  }

  /** The element's text now. */
  async text(selector: string): Promise<string> {
    return (await this.page.locator(selector).textContent()) ?? "";
  }

  /** The chart's canvas as a data URL, to tell whether it was drawn again. */
  chartImage(): Promise<string> {
    return this.page
      .locator("#chart canvas")
      .first()
      .evaluate((canvas) => (canvas as HTMLCanvasElement).toDataURL());
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** Writing docs/admin.png takes a minute and a half more than the test alone. */
const DOCUMENTATION_TIMEOUT_MS = process.env.UPDATE_SCREENSHOT === "1" ? 240_000 : undefined;

/**
 * docs/admin.png: a minute and a half of uneven traffic first, one burst per poll of the dashboard,
 * with guests joining a few rooms on both nodes, so that the chart and the tables have something
 * to show.
 */
async function documentationScreenshot(
  dashboard: Dashboard,
  urls: readonly string[],
  senders: readonly TestSocket[],
): Promise<void> {
  const rooms = ["general", "support", "general", "random", "general", "support", "releases"];
  for (let poll = 0; poll < 45; poll += 1) {
    const status = await dashboard.text("#status");
    if (poll % 3 === 0 && poll / 3 < 14) {
      const guest = await connected(urls[poll % urls.length]!, `guest-${poll}`);
      await ok(guest, "room:join", { room: rooms[(poll / 3) % rooms.length]! });
    }
    const burst = 1 + ((poll * 7) % 11);
    for (let k = 0; k < burst; k += 1) {
      await ok(senders[k % senders.length]!, "room:send", { room: "lobby", text: `burst ${poll}.${k}` });
    }
    await dashboard.page.waitForFunction(
      (previous) => document.querySelector("#status")?.textContent !== previous,
      status,
    );
  }
  await dashboard.page.mouse.move(1, 1);
  await dashboard.page.screenshot({ path: new URL("../docs/admin.png", import.meta.url).pathname, fullPage: true });
}

describe("the admin dashboard, two nodes on one Redis", () => {
  let cluster: ProcessCluster;
  let browser: Browser;
  const opened: Dashboard[] = [];
  const open = async (index: number) => {
    const dashboard = await Dashboard.open(browser, cluster.urls[index]!);
    opened.push(dashboard);
    return dashboard;
  };

  beforeAll(async () => {
    cluster = await startProcessCluster({ nodes: 2, env: PAGE_NODE_ENV });
    browser = await launchBrowser();
  });
  afterEach(async () => {
    closeAllClients();
    for (const dashboard of opened.splice(0)) {
      await dashboard.close();
      expect(dashboard.violations).toEqual([]);
      expect(dashboard.pageErrors).toEqual([]);
    }
  });
  afterAll(async () => {
    await closeBrowser(browser);
    await cluster?.close();
  });

  it("serves the page without a token, and its data only with one", async () => {
    const page = await fetch(`${cluster.urls[0]}/admin/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await page.text()).toContain("Admin token");
    expect((await fetch(`${cluster.urls[0]}/admin/stats`)).status).toBe(401);

    const dashboard = await open(0);
    await dashboard.signIn("not-the-admin-token-0123456789abcdef");
    await dashboard.page.getByText("That token was refused.").waitFor();
    expect(await dashboard.page.locator("#dashboard").isHidden()).toBe(true);
    expect(await dashboard.page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it(
    "shows both nodes and the busiest room, moves the chart with the traffic, kicks and posts a notice",
    async () => {
      const [one, two] = cluster.urls as [string, string];
      const alice = await connected(one, "alice");
      const bob = await connected(two, "bob");
      const cleo = await connected(two, "cleo");
      for (const socket of [alice, bob, cleo]) await ok(socket, "room:join", { room: "lobby" });
      await ok(cleo, "room:join", { room: "quiet" });

      const dashboard = await open(0);
      await dashboard.signIn(TEST_ADMIN_TOKEN);
      const { page } = dashboard;
      await page.locator("#dashboard").waitFor({ state: "visible" });
      // The token is kept for this tab, and sent as a bearer header.
      expect(await page.evaluate(() => sessionStorage.getItem("roomcast-admin-token"))).toBe(TEST_ADMIN_TOKEN);

      // Every node, from the one that served the page, with what its heartbeat reported.
      const rows = page.locator("#nodes tr[data-node]");
      await page.locator('#nodes tr[data-node="node-1"]').waitFor();
      expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-node")))).toEqual([
        "node-0",
        "node-1",
      ]);
      await dashboard.waitForText('#nodes tr[data-node="node-1"] td:nth-of-type(1)', /^2$/, "node-1's 2 sockets");
      await dashboard.waitForText('#nodes tr[data-node="node-0"] td:nth-of-type(3)', /MiB$/, "node-0's heap");
      expect(await dashboard.text('#nodes tr[data-node="node-1"] td:nth-of-type(4)')).toMatch(/ ms$/);
      expect(await page.locator("#rooms tr").first().getAttribute("data-room")).toBe("lobby");
      expect(await dashboard.text('#rooms tr[data-room="lobby"] td')).toBe("3");
      await dashboard.waitForText("#now-connections", /^3$/, "3 connections in the cluster");

      // Messages flow while the dashboard polls, two per poll, until the chart's last step has them
      // (a step is 5 s: a few polls).
      const before = await dashboard.chartImage();
      const rateShown = async () => Number(await dashboard.text("#now-rate")) > 0;
      await within(
        (async () => {
          for (let k = 0; !(await rateShown()); k += 1) {
            const status = await dashboard.text("#status");
            for (const socket of [alice, bob]) await ok(socket, "room:send", { room: "lobby", text: `tick ${k}` });
            await page.waitForFunction(
              (previous) => document.querySelector("#status")?.textContent !== previous,
              status,
            );
          }
        })(),
        "the dashboard to show messages per second",
        30_000,
      );
      expect(await dashboard.chartImage()).not.toBe(before);
      await page.mouse.move(1, 1);
      await page.screenshot({ path: screenshotPath("admin.png"), fullPage: true });
      if (process.env.UPDATE_SCREENSHOT === "1") await documentationScreenshot(dashboard, cluster.urls, [alice, bob]);

      // Kick bob, whose socket is on the other node.
      const kicked = within(
        new Promise<string>((resolve) => bob.once("disconnect", resolve)),
        "bob's socket on node-1 to be kicked",
      );
      await page.getByRole("textbox", { name: "User", exact: true }).fill("bob");
      await page.getByRole("button", { name: "Kick" }).click();
      expect(await kicked).toBe("io server disconnect");
      await dashboard.waitForText("#kick-result", /^Kicked bob/, "the kick's result");
      expect(await dashboard.text("#kick-result")).toBe("Kicked bob: from node-1.");
      expect(cleo.connected).toBe(true);

      // A notice to the room reaches its members on both nodes.
      const notices = [next(alice, "notice"), next(cleo, "notice")];
      await page.getByRole("textbox", { name: "Notice", exact: true }).fill("Maintenance at noon");
      await page.getByRole("textbox", { name: /^Room/ }).fill("lobby");
      await page.getByRole("button", { name: "Post notice" }).click();
      for (const notice of await Promise.all(notices)) {
        expect(notice).toMatchObject({ text: "Maintenance at noon", room: "lobby" });
      }
      await dashboard.waitForText("#notice-result", /^Posted to lobby\.$/, "the notice's result");
    },
    DOCUMENTATION_TIMEOUT_MS,
  );
});
