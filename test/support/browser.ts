import { existsSync, mkdirSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect } from "vitest";

/** Debian's Chromium; CI installs it with apt. Playwright never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The built page (`npm run build:page`), which the tests' nodes serve. */
export const PUBLIC_DIR = fileURLToPath(new URL("../../dist/public/", import.meta.url));

/**
 * Settings for nodes that serve the page in a test. Each node is its own origin (its port), and a
 * page fails over to the other node's origin, so the Origin check must allow them all.
 */
export const PAGE_NODE_ENV: Record<string, string> = { ALLOWED_ORIGINS: "*", PUBLIC_DIR };

/** Where a test saves screenshots to look at: $SCREENSHOT_DIR, or a folder in the temp dir. */
export function screenshotPath(name: string): string {
  const dir = process.env.SCREENSHOT_DIR ?? join(tmpdir(), "roomcast-page");
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/** The longest a single wait on the page may take (an upper bound, not a sleep). */
export const PAGE_DEADLINE_MS = 10_000;

/** Starts headless Chromium. Fails with a clear message when the page or the browser is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(`${PUBLIC_DIR}index.html`)) {
    throw new Error(`the page is not built: run "npm run build:page" (looked for ${PUBLIC_DIR}index.html)`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** Closes the browser and every context in it. */
export async function closeBrowser(browser: Browser | undefined): Promise<void> {
  await browser?.close();
}

export interface OpenOptions {
  /** Every node the page may use, its own first; the page then gets them as `?nodes=`. */
  nodes?: string[];
  /** Hash route to open, e.g. "#/room/lobby". */
  hash?: string;
  viewport?: { width: number; height: number };
}

/**
 * One person's chat page in a browser context of its own. It records every dialog (there must
 * be none) and every CSP or Trusted Types violation the page reports.
 */
export class ChatPage {
  readonly dialogs: string[] = [];
  readonly violations: string[] = [];
  readonly pageErrors: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on("dialog", (dialog) => {
      this.dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on("pageerror", (error) => this.pageErrors.push(error.message));
    page.on("console", (message) => {
      const text = message.text();
      if (/Content Security Policy|Trusted ?(Types?|HTML|Script)/i.test(text)) this.violations.push(text);
    });
    page.setDefaultTimeout(PAGE_DEADLINE_MS);
  }

  /** Opens the page served by `url` (a node's base URL). */
  static async open(browser: Browser, url: string, options: OpenOptions = {}): Promise<ChatPage> {
    const context = await browser.newContext({
      viewport: options.viewport ?? { width: 1280, height: 800 },
      deviceScaleFactor: 1,
      locale: "en-GB",
      timezoneId: "UTC",
    });
    const page = await context.newPage();
    const chat = new ChatPage(context, page);
    const query = options.nodes ? `?nodes=${options.nodes.map(encodeURIComponent).join(",")}` : "";
    await page.goto(`${url}/${query}${options.hash ?? ""}`);
    return chat;
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  // ---- Controls, found the way a person (or a screen reader) finds them ----

  get nameInput(): Locator {
    return this.page.getByLabel("Name", { exact: true });
  }

  get roomInput(): Locator {
    return this.page.getByLabel("Room", { exact: true });
  }

  get messageInput(): Locator {
    return this.page.getByLabel("Message", { exact: true });
  }

  get joinButton(): Locator {
    return this.page.getByRole("button", { name: "Join", exact: true });
  }

  get sendButton(): Locator {
    return this.page.getByRole("button", { name: "Send", exact: true });
  }

  get banner(): Locator {
    return this.page.locator("#banner");
  }

  get typing(): Locator {
    return this.page.locator("#typing");
  }

  get title(): Locator {
    return this.page.locator("#view-title");
  }

  /** The open conversation's timeline. */
  get timeline(): Locator {
    return this.page.locator("#timeline-slot").getByRole("list");
  }

  /** The open conversation's messages whose text is exactly `text` (only delivered ones if asked). */
  messages(text: string, delivered = false): Locator {
    return this.timeline
      .locator(delivered ? "li.message:not(.pending)" : "li.message")
      .filter({ has: this.page.getByText(text, { exact: true }) });
  }

  /** The member list entry of `user`. */
  member(user: string): Locator {
    return this.page.locator(`#member-list li[data-user="${cssString(user)}"]`);
  }

  /** The sidebar entry of a room. */
  room(name: string): Locator {
    return this.page.locator(`#room-list li[data-room="${cssString(name)}"]`);
  }

  /** The sidebar entry of a direct conversation. */
  direct(user: string): Locator {
    return this.page.locator(`#dm-list li[data-user="${cssString(user)}"]`);
  }

  // ---- What a person does ----

  /** Signs in and waits for the chat screen. */
  async signIn(name: string): Promise<void> {
    await this.nameInput.fill(name);
    await this.nameInput.press("Enter");
    await this.page.locator("#chat").waitFor({ state: "visible" });
  }

  /**
   * Signs in with the name the page remembered, as after a reload. The form stays hidden until
   * the server said how it admits people, and a key pressed before that reaches no form.
   */
  async signInAsRemembered(): Promise<void> {
    await this.nameInput.waitFor({ state: "visible" });
    await this.nameInput.press("Enter");
  }

  /** Joins (or creates) a room with the Room field and waits until it is open. */
  async join(room: string): Promise<void> {
    await this.roomInput.fill(room);
    await this.joinButton.click();
    await this.waitForTitle(`# ${room}`);
  }

  async waitForTitle(title: string): Promise<void> {
    await this.page.waitForFunction(
      (expected) => document.querySelector("#view-title")?.textContent === expected,
      title,
      { timeout: PAGE_DEADLINE_MS },
    );
  }

  /** Types a message and sends it with Enter, as from the keyboard. */
  async send(text: string): Promise<void> {
    await this.messageInput.fill(text);
    await this.messageInput.press("Enter");
  }

  /** Waits until the open conversation shows `text` as a delivered (not pending) message. */
  async waitForMessage(text: string): Promise<Locator> {
    const message = this.messages(text, true);
    await message.first().waitFor({ state: "visible" });
    return message;
  }

  /** Waits until `predicate(document)` holds in the page. */
  async waitFor(predicate: (argument: string | undefined) => boolean, argument?: string): Promise<void> {
    await this.page.waitForFunction(predicate, argument, { timeout: PAGE_DEADLINE_MS });
  }
}

/** What a test file gets from `pageTestbed`. */
export interface PageTestbed<D> {
  /** The running deployment (set once `beforeAll` ran). */
  readonly deployment: D;
  readonly browser: Browser;
  /** Opens the page served by `url`; it is closed and checked after the test. */
  open(url: string, options?: OpenOptions): Promise<ChatPage>;
}

/**
 * The lifecycle of a page test file: starts the deployment, then Chromium; after each test closes
 * its pages and checks that none raised a dialog, broke the CSP or threw (and runs `check` on
 * each first); at the end stops both.
 *
 * @example
 * const bed = pageTestbed(() => embedded({ env: PAGE_NODE_ENV }));
 * it("...", async () => {
 *   const page = await bed.open(bed.deployment.urls[0]!);
 * });
 */
export function pageTestbed<D extends { close(): Promise<unknown> }>(
  deploy: () => Promise<D>,
  check?: (page: ChatPage) => Promise<void>,
): PageTestbed<D> {
  let deployment: D | undefined;
  let browser: Browser | undefined;
  let opened: ChatPage[] = [];

  beforeAll(async () => {
    // One after the other: on two busy cores, starting nodes and Chromium at once can be slow.
    deployment = await deploy();
    browser = await launchBrowser();
  });
  afterEach(async () => {
    const pages = opened;
    opened = [];
    for (const page of pages) await check?.(page);
    await Promise.all(pages.map((page) => page.close()));
    for (const page of pages) {
      expect(page.dialogs).toEqual([]);
      expect(page.violations).toEqual([]);
      expect(page.pageErrors).toEqual([]);
    }
  });
  afterAll(async () => {
    await closeBrowser(browser);
    await deployment?.close();
  });

  return {
    get deployment() {
      if (!deployment) throw new Error("the deployment is not started yet");
      return deployment;
    },
    get browser() {
      if (!browser) throw new Error("the browser is not started yet");
      return browser;
    },
    async open(url, options) {
      const page = await ChatPage.open(this.browser, url, options);
      opened.push(page);
      return page;
    },
  };
}

/** Escapes a name for a double-quoted CSS attribute selector. */
function cssString(value: string): string {
  return value.replace(/["\\]/g, "\\$&");
}

/**
 * A TCP forwarder to a node that a test can shut: while shut it drops every new connection at
 * once, so a browser's attempts fail fast as they do against a node that is down.
 *
 * @example
 * const gate = await TcpGate.start(cluster.urls[0]); // gate.url leads to node 0
 * gate.shut(); // ...the node is unreachable...
 * gate.open();
 */
export class TcpGate {
  private passing = true;
  private readonly sockets = new Set<Socket>();
  /** Connections let through so far. */
  passed = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<TcpGate> {
    const { hostname, port } = new URL(target);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const gate = new TcpGate(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    server.on("connection", (client) => {
      if (!gate.passing) return client.destroy();
      gate.passed += 1;
      const upstream = connect(Number(port), hostname);
      for (const socket of [client, upstream]) {
        gate.sockets.add(socket);
        socket.on("error", () => socket.destroy());
        socket.on("close", () => {
          gate.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    return gate;
  }

  /** New connections are dropped (open ones stay). */
  shut(): void {
    this.passing = false;
  }

  open(): void {
    this.passing = true;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
