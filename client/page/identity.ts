import { LIMITS, checkName } from "roomcast-client";

/**
 * How the server admits people (`GET /auth/mode`): by a name, claimed with this browser's key
 * (`open`), or by a token that a host application signed (`token`).
 */
export type AuthMode = "open" | "token";

/** What the page signs in with: a name and this browser's key, or a token whose `sub` is the user. */
export type Identity = { user: string; key: string } | { token: string };

/** The storage items the page keeps. */
const KEY_ITEM = "roomcast.key";
const TOKEN_ITEM = "roomcast.token";
/** 32 random bytes: 43 characters of base64url. */
const KEY_BYTES = 32;
const KEY_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${LIMITS.claimKey.min},${LIMITS.claimKey.max}}$`);
/** How long the page waits for `GET /auth/mode` before it falls back to what it has. */
const MODE_TIMEOUT_MS = 5000;

/** `localStorage` or `sessionStorage`, or undefined where the browser refuses storage. */
export function storage(kind: "localStorage" | "sessionStorage"): Storage | undefined {
  try {
    // Reading the property itself throws when storage is disabled.
    return window[kind];
  } catch {
    return undefined;
  }
}

function read(store: Storage | undefined, item: string): string | undefined {
  try {
    return store?.getItem(item) ?? undefined;
  } catch {
    return undefined;
  }
}

function write(store: Storage | undefined, item: string, value: string | undefined): void {
  try {
    if (value === undefined) store?.removeItem(item);
    else store?.setItem(item, value);
  } catch {
    // Full or refused: the value lives in memory for this page only.
  }
}

/** A new claim key: random bytes from `crypto.getRandomValues`, as base64url. */
export function newClaimKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/**
 * This browser profile's claim key for open mode: the one in `localStorage`, or a new one kept
 * there. The first sign-in with a name claims the name for this key, so the key is what lets
 * the same person in again later; it is never shown.
 *
 * Read afresh at every sign-in, so that tabs which started at the same time end up on one key.
 */
export function browserKey(store: Storage | undefined = storage("localStorage")): string {
  const stored = read(store, KEY_ITEM);
  if (stored !== undefined && KEY_PATTERN.test(stored)) return stored;
  const key = newClaimKey();
  write(store, KEY_ITEM, key);
  return key;
}

/**
 * The token of a sign-in link's fragment, `#token=<jwt>`: undefined for any other fragment
 * (routes such as `#/room/lobby`), and "" for a link whose token is empty.
 */
export function linkToken(hash: string): string | undefined {
  if (!hash.startsWith("#token=")) return undefined;
  return new URLSearchParams(hash.slice(1)).get("token") ?? "";
}

/**
 * The token of token mode, kept in `sessionStorage` (this tab only, gone when it closes) so that
 * a reload signs in again; in memory only where the browser refuses storage.
 */
export class TokenKeeper {
  #token: string | undefined;

  constructor(private readonly store: Storage | undefined = storage("sessionStorage")) {
    this.#token = read(store, TOKEN_ITEM) || undefined;
  }

  /** The token to sign in with, if the page has one. */
  get token(): string | undefined {
    return this.#token;
  }

  /**
   * Takes the token of a sign-in link (`#token=<jwt>`) out of the address, so that it stays in
   * neither the address bar nor the history, and keeps it. A link's token replaces a kept one.
   */
  takeFromLink(location: Pick<Location, "hash" | "pathname" | "search">, history: Pick<History, "replaceState">): void {
    const token = linkToken(location.hash);
    if (token === undefined) return;
    history.replaceState(null, "", location.pathname + location.search);
    if (token !== "") this.keep(token);
  }

  keep(token: string): void {
    this.#token = token;
    write(this.store, TOKEN_ITEM, token);
  }

  /** Drops the token: it was refused, or the person signed out. */
  forget(): void {
    this.#token = undefined;
    write(this.store, TOKEN_ITEM, undefined);
  }
}

/**
 * Asks the page's own server how it admits people. Undefined when it cannot tell (unreachable,
 * or an older server without `GET /auth/mode`).
 */
export async function fetchAuthMode(): Promise<AuthMode | undefined> {
  try {
    const response = await fetch("/auth/mode", {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(MODE_TIMEOUT_MS),
    });
    if (!response.ok) return undefined;
    const body: unknown = await response.json();
    const mode = typeof body === "object" && body !== null ? (body as { mode?: unknown }).mode : undefined;
    return mode === "open" || mode === "token" ? mode : undefined;
  } catch {
    return undefined;
  }
}

/** A user name as the server normalizes it (NFKC), or the name as typed when it is not valid. */
export function userName(name: string): string {
  const check = checkName(name, "user");
  return check.ok ? check.name : name.normalize("NFKC");
}
