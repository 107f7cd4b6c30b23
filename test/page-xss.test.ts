import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ChatPage, PAGE_NODE_ENV, pageTestbed, screenshotPath } from "./support/browser.js";
import { embedded } from "./support/deployment.js";

/** One in-process node is enough: this is about what the page does with hostile text. */
const deploy = () => embedded({ env: PAGE_NODE_ENV });

const IMG = "<img src=x onerror=alert(1)>";
const SCRIPT = "<script>alert(1)</script>";

/** Why a name is refused (the protocol's `checkName`, which the server and the SDK both apply). */
const NAME_RULE = (kind: "user" | "room") => `${kind} may hold only letters, digits, spaces and - _ .`;

/** DOM and JS calls that turn strings into markup or code. */
const HTML_SINKS =
  /innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|eval\(|new Function/;

/** Elements that only an injection could have put there: the page has no image and one script. */
async function injected(page: ChatPage): Promise<string[]> {
  return page.page.evaluate(() => [
    ...Array.from(document.querySelectorAll("img, iframe, object, embed"), (element) => element.outerHTML),
    ...Array.from(document.querySelectorAll("script"))
      .filter((script) => !script.src)
      .map((script) => script.outerHTML),
  ]);
}

/** A CSP or Trusted Types violation as the browser reports it (`securitypolicyviolation` event). */
interface Violation {
  directive: string;
  blocked: string;
  sample: string;
  /** The policy that was violated, as written. */
  policy: string;
}

declare global {
  interface Window {
    /** Filled by the script `watchViolations` adds to the page. */
    recordedViolations?: Violation[];
  }
}

/**
 * Records every CSP and Trusted Types violation of `page` from its first byte: the browser's own
 * structured report, which names the directive and the sink, not a console text to match.
 */
async function watchViolations(page: ChatPage): Promise<void> {
  await page.context.addInitScript(() => {
    window.recordedViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      const { effectiveDirective: directive, blockedURI: blocked, sample, originalPolicy: policy } = event;
      window.recordedViolations!.push({ directive, blocked, sample, policy });
    });
  });
  // Again, so that the script runs before the page's own.
  await page.page.reload();
}

/** The violations `page` reported so far; throws if it is not watched (no record is not "none"). */
async function violationsOf(page: ChatPage): Promise<Violation[]> {
  const recorded = await page.page.evaluate(() => window.recordedViolations ?? null);
  if (!recorded) throw new Error("this page's violations are not recorded: call watchViolations first");
  return recorded;
}

describe("the chat page renders hostile text as text", () => {
  /** The violations a test provoked on purpose, per page; any other fails the test. */
  const provoked = new Map<ChatPage, Violation[]>();
  const bed = pageTestbed(deploy, async (page) => {
    expect(await injected(page)).toEqual([]);
    expect(await violationsOf(page)).toEqual(provoked.get(page) ?? []);
    provoked.delete(page);
  });
  const open = async (hash?: string) => {
    const page = await bed.open(bed.deployment.urls[0]!, { hash });
    await watchViolations(page);
    return page;
  };

  it("shows script and markup in messages and direct messages as literal text", async () => {
    const [mallory, victim] = await Promise.all([open(), open()]);
    await Promise.all([mallory.signIn("mallory"), victim.signIn("victim")]);
    await mallory.join("xss");
    await victim.join("xss");

    for (const payload of [IMG, SCRIPT, `${IMG}${SCRIPT}&lt;b&gt;`]) {
      await mallory.send(payload);
      const shown = await victim.waitForMessage(payload);
      expect(await shown.locator(".text").textContent()).toBe(payload);
    }
    expect(await victim.timeline.locator("li.message").count()).toBe(3);

    // The same as a direct message.
    await mallory.member("victim").getByRole("button").click();
    await mallory.waitForTitle("victim");
    await mallory.send(IMG);
    await victim.direct("mallory").getByRole("button").click();
    await victim.waitForTitle("mallory");
    expect(await (await victim.waitForMessage(IMG)).locator(".text").textContent()).toBe(IMG);

    // Rendering all that took no sink the policy guards: not one violation, on either side.
    expect(await violationsOf(mallory)).toEqual([]);
    expect(await violationsOf(victim)).toEqual([]);

    // Beyond the page's own care, the browser enforces it: no string may become HTML here.
    const refused = await victim.page.evaluate(() => {
      try {
        document.body.insertAdjacentHTML("beforeend", "<b>injected</b>");
        return false;
      } catch (error) {
        return error instanceof TypeError;
      }
    });
    expect(refused).toBe(true);
    // The browser reports the blocked call, and only it, once for each of the page's two policies
    // (the response header and the meta tag); reports come as tasks of their own.
    await victim.waitFor(() => (window.recordedViolations?.length ?? 0) >= 2);
    const reports = await violationsOf(victim);
    const blocked = {
      directive: "require-trusted-types-for",
      blocked: "trusted-types-sink",
      sample: "Element insertAdjacentHTML|<b>injected</b>",
    };
    expect(reports.map(({ policy: _, ...report }) => report)).toEqual([blocked, blocked]);
    const source = (policy: string) => (policy.includes("default-src 'none'") ? "response header" : policy);
    expect(reports.map((report) => source(report.policy)).sort()).toEqual([
      "require-trusted-types-for 'script'; trusted-types 'none'",
      "response header",
    ]);
    provoked.set(victim, reports);
    // The console says the same, once per policy. Those two lines, and only they, are taken out of
    // the console record, which the testbed checks to be empty after every test.
    const blockedLine = "This document requires 'TrustedHTML' assignment. The action has been blocked.";
    await expect.poll(() => victim.violations).toEqual([blockedLine, blockedLine]);
    victim.violations.splice(0, 2);
  });

  it("shows the server's refusal of a markup user name as text", async () => {
    const page = await open();
    for (const payload of [IMG, SCRIPT]) {
      await page.nameInput.fill(payload);
      await page.nameInput.press("Enter");
      const error = page.page.locator("#signin-error");
      await error.getByText(NAME_RULE("user"), { exact: false }).waitFor();
      expect(await error.textContent()).toBe(`Couldn't sign in as “${payload}”: ${NAME_RULE("user")}`);
      expect(await page.page.locator("#chat").isVisible()).toBe(false);
    }
    await page.page.screenshot({ path: screenshotPath("signin-refused.png") });
  });

  it("refuses markup room names, typed or in the address, and shows them as text", async () => {
    const page = await open(`#/room/${encodeURIComponent(SCRIPT)}`);
    await page.signIn("roomie");
    const error = page.page.locator("#join-error");
    await error.getByText(`Couldn't join “${SCRIPT}”`).waitFor();
    expect(new URL(page.page.url()).hash).toBe("#/");

    await page.roomInput.fill(IMG);
    await page.joinButton.click();
    const shows = (payload?: string) => document.querySelector("#join-error")?.textContent?.includes(payload!) === true;
    await page.waitFor(shows, IMG);
    expect(await error.textContent()).toBe(`Couldn't join “${IMG}”: ${NAME_RULE("room")}`);
    // Nothing was joined, and the page still works.
    expect(await page.page.locator("#room-list li.joined").count()).toBe(0);
    await page.page.screenshot({ path: screenshotPath("room-refused.png") });
    await page.join("after the attempt");
  });

  it("has no code that parses strings as HTML", () => {
    const dir = new URL("../client/page/", import.meta.url);
    const sources = readdirSync(dir).filter((name) => name.endsWith(".ts"));
    expect(sources.length).toBeGreaterThan(5);
    for (const name of sources) {
      const source = readFileSync(new URL(name, dir), "utf8");
      expect(source, name).not.toMatch(HTML_SINKS);
    }
  });
});
