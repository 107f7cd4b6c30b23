import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { linkToken } from "../client/page/identity.js";
import {
  ChatPage,
  PAGE_DEADLINE_MS,
  PAGE_NODE_ENV,
  pageTestbed,
  screenshotPath,
  type OpenOptions,
} from "./support/browser.js";
import { nodesOnOneRedis, type Deployment } from "./support/deployment.js";

/** The shared secret of token mode in these nodes, and of the tokens the test mints. */
const SECRET = "page-identity-test-secret-of-more-than-32-characters";

/**
 * A token as a host application would sign it: HS256, `sub`, and `exp` in `ttlSeconds` (negative
 * for one that has expired already).
 */
function mint(sub: string, ttlSeconds = 3600, secret = SECRET): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** Opens the page served by node `index`, which connects there first and fails over to the rest. */
function opener(bed: { deployment: Deployment; open(url: string, options?: OpenOptions): Promise<ChatPage> }) {
  return (index: number, options: OpenOptions = {}): Promise<ChatPage> => {
    const { urls } = bed.deployment;
    const nodes = [...urls.slice(index), ...urls.slice(0, index)];
    return bed.open(urls[index]!, { nodes, ...options });
  };
}

/** The chat screen is up, signed in as `user`. */
async function signedInAs(page: ChatPage, user: string): Promise<void> {
  await page.page.locator("#chat").waitFor({ state: "visible" });
  expect(await page.page.locator("#me-name").textContent()).toBe(user);
}

describe("the page in open mode: a name belongs to the browser that claimed it", () => {
  const bed = pageTestbed(() => nodesOnOneRedis(2)({ env: PAGE_NODE_ENV }));
  const open = opener(bed);

  it("claims the name with its key; another browser is refused on every node; a reload signs in again", async () => {
    const alice = await open(0);
    await alice.signIn("alice");
    await signedInAs(alice, "alice");
    // The key is random, long enough for the server, and kept for the next visit.
    const key = await alice.page.evaluate(() => localStorage.getItem("roomcast.key"));
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Another browser (its own localStorage, so its own key) cannot be alice, on either node.
    const refused = async (page: ChatPage, name: string) => {
      await page.nameInput.fill(name);
      await page.nameInput.press("Enter");
      const error = page.page.locator("#signin-error");
      const taken = `The name “${name}” is taken: another browser signed in with it first. Pick another name.`;
      await error.getByText(taken, { exact: true }).waitFor();
      expect(await page.nameInput.getAttribute("aria-invalid")).toBe("true");
      expect(await page.page.evaluate(() => document.activeElement?.id)).toBe("signin-name");
      expect(await page.page.locator("#chat").isVisible()).toBe(false);
    };
    const intruder = await open(0);
    await refused(intruder, "alice");
    await intruder.page.screenshot({ path: screenshotPath("signin-taken.png") });
    const elsewhere = await open(1);
    await refused(elsewhere, "alice");
    // A lookalike (Cyrillic а) is refused too.
    await refused(elsewhere, "\u0430lice");
    // The intruder's browser may still sign in under a name of its own.
    await intruder.signIn("mallory");
    await signedInAs(intruder, "mallory");

    // Alice comes back: the same key from localStorage proves the name again.
    await alice.page.reload();
    await alice.nameInput.waitFor();
    expect(await alice.nameInput.inputValue()).toBe("alice");
    await alice.signIn("alice");
    await signedInAs(alice, "alice");
    expect(await alice.page.evaluate(() => localStorage.getItem("roomcast.key"))).toBe(key);
    await alice.join("claimed");
    await alice.send("still me");
    await alice.waitForMessage("still me");
  });
});

describe("the page in token mode: a host application links people in", () => {
  const bed = pageTestbed(() => nodesOnOneRedis(2)({ env: { ...PAGE_NODE_ENV, AUTH_JWT_SECRET: SECRET } }));
  const open = opener(bed);
  const lead = (page: ChatPage) => page.page.locator("#signin-lead");
  const notice = (page: ChatPage) => page.page.getByRole("alert").and(page.page.locator("#signin-notice"));

  it("signs in from a sign-in link, takes the token out of the address, and two people chat", async () => {
    const [annToken, benToken] = await Promise.all([mint("ann"), mint("ben")]);
    const [ann, ben] = await Promise.all([
      open(0, { hash: `#token=${annToken}` }),
      open(1, { hash: `#token=${encodeURIComponent(benToken)}` }),
    ]);
    for (const [page, user, token] of [
      [ann, "ann", annToken],
      [ben, "ben", benToken],
    ] as const) {
      await signedInAs(page, user);
      // No name to pick, and the token left the address bar.
      expect(await page.nameInput.isVisible()).toBe(false);
      expect(page.page.url()).not.toContain(token);
      expect(await page.page.evaluate(() => location.hash)).toBe("");
    }

    await ann.join("lobby");
    await ben.join("lobby");
    await ann.member("ben").waitFor();
    await ann.send("Hello from ann, signed in by link");
    await ben.waitForMessage("Hello from ann, signed in by link");
    await ben.send("Hi ann, ben here");
    const atAnn = await ann.waitForMessage("Hi ann, ben here");
    expect(await atAnn.locator(".author").textContent()).toBe("ben");

    // A reload keeps working (the tab kept the token), still without the token in the address.
    await ann.page.reload();
    await signedInAs(ann, "ann");
    expect(ann.page.url()).not.toContain(annToken);

    // Signing out ends it: a reload asks for a link again.
    await ann.page.getByRole("button", { name: "Sign out", exact: true }).click();
    await lead(ann).getByText("You signed out.", { exact: false }).waitFor();
    await ann.page.reload();
    await lead(ann).getByText("needs a sign-in link", { exact: false }).waitFor();
    expect(await ann.page.locator("#chat").isVisible()).toBe(false);
  });

  it("says that a sign-in link is needed when there is no token, and shows no name form", async () => {
    const page = await open(0);
    await lead(page).getByText("This server needs a sign-in link.", { exact: false }).waitFor();
    expect(await page.page.locator("#signin-form").isVisible()).toBe(false);
    expect(await page.nameInput.isVisible()).toBe(false);
    expect(await page.page.locator("#chat").isVisible()).toBe(false);
    // Nothing refused: there was nothing to refuse.
    expect(await page.page.locator("#signin-notice").textContent()).toBe("");
    await page.page.screenshot({ path: screenshotPath("signin-needs-link.png") });
  });

  it("says why a token is refused: expired, or not signed by the server's secret", async () => {
    const expired = await mint("cat", -60);
    const page = await open(0, { hash: `#token=${expired}` });
    await notice(page).getByText("Couldn't sign you in: the token has expired.", { exact: false }).waitFor();
    expect(await page.page.locator("#chat").isVisible()).toBe(false);
    expect(await page.nameInput.isVisible()).toBe(false);
    expect(page.page.url()).not.toContain(expired);
    await page.page.screenshot({ path: screenshotPath("signin-token-expired.png") });
    // The refused token is not kept: a reload only asks for a link.
    await page.page.reload();
    await lead(page).getByText("needs a sign-in link", { exact: false }).waitFor();
    expect(await page.page.locator("#signin-notice").textContent()).toBe("");

    // A new link in the same tab is followed at once.
    const forged = await mint("cat", 3600, "another-secret-that-is-also-long-enough-32");
    await page.page.evaluate((hash) => (location.hash = hash), `#token=${forged}`);
    await notice(page).getByText("the token's signature is not valid", { exact: false }).waitFor();
    expect(page.page.url()).not.toContain(forged);
    const good = await mint("cat");
    await page.page.evaluate((hash) => (location.hash = hash), `#token=${good}`);
    await signedInAs(page, "cat");
    expect(page.page.url()).not.toContain(good);
  });

  it("goes back to the sign-in screen, saying why, when the token expires", async () => {
    // Long enough to sign in on a busy machine; the server ends the connection at expiry.
    const page = await open(1, { hash: `#token=${await mint("dot", 6)}` });
    await signedInAs(page, "dot");
    await notice(page)
      .getByText("Your sign-in has ended: the token has expired.", { exact: false })
      .waitFor({ timeout: 6000 + 2 * PAGE_DEADLINE_MS });
    expect(await page.page.locator("#chat").isVisible()).toBe(false);
    expect(await page.page.evaluate(() => sessionStorage.getItem("roomcast.token"))).toBeNull();
  });
});

describe("a sign-in link's fragment", () => {
  it("is read only from #token=, whatever the routes", () => {
    expect(linkToken("#token=a.b.c")).toBe("a.b.c");
    expect(linkToken("#token=a.b%2Ec")).toBe("a.b.c");
    expect(linkToken("#token=")).toBe("");
    for (const hash of ["", "#", "#/", "#/room/lobby", "#/room/token=x", "#tokens=x"]) {
      expect(linkToken(hash)).toBeUndefined();
    }
  });
});
