import { ErrorCode, LIMITS, type HandshakeAuth } from "../../protocol/index.js";
import { ChatError } from "./errors.js";

/**
 * A token for token mode: the token itself, or a function that fetches a fresh one (called on
 * every connection attempt and before the current token expires).
 *
 * @example
 * token: async () => (await fetch("/chat-token")).text()
 */
export type TokenSource = string | (() => string | Promise<string>);

/** What a client proves itself with, as `ChatClientOptions` give it. */
export interface CredentialOptions {
  user?: string;
  key?: string;
  token?: TokenSource;
}

/** The `sub` claim of a JWT, read without verifying it (the server verifies). */
export function subjectOf(token: string): string | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (char) => char.charCodeAt(0)));
    const claims: unknown = JSON.parse(json);
    const sub = typeof claims === "object" && claims !== null ? (claims as { sub?: unknown }).sub : undefined;
    return typeof sub === "string" ? sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The handshake credentials of a client: `{ user, key? }` in open mode, `{ token }` in token
 * mode, where the token may come from a function called for each connection.
 */
export class Credentials {
  #user: string;
  readonly #key: string | undefined;
  readonly #token: TokenSource | undefined;

  /**
   * @throws ChatError `bad_request` without a user or a token, or with a key of the wrong length.
   */
  constructor(options: CredentialOptions) {
    this.#token = options.token;
    this.#key = options.key;
    const { min, max } = LIMITS.claimKey;
    if (this.#key !== undefined && (this.#key.length < min || this.#key.length > max)) {
      throw new ChatError(ErrorCode.BadRequest, `key must be ${min} to ${max} characters`);
    }
    const fromToken = typeof this.#token === "string" ? subjectOf(this.#token) : undefined;
    const user = options.user ?? fromToken;
    if (user === undefined && this.#token === undefined) {
      throw new ChatError(ErrorCode.BadRequest, "a user name or a token is required");
    }
    this.#user = user ?? "";
  }

  /** The user: as given, or the `sub` of the latest token ("" until a token function answered). */
  get user(): string {
    return this.#user;
  }

  /** Whether the client uses tokens. */
  get tokenMode(): boolean {
    return this.#token !== undefined;
  }

  /** Whether a later token can be had: only from a function. A fixed token cannot be refreshed. */
  get refreshable(): boolean {
    return typeof this.#token === "function";
  }

  /** A token: the fixed one, or a fresh one from the function. */
  async token(): Promise<string> {
    const token = typeof this.#token === "function" ? await this.#token() : this.#token;
    if (typeof token !== "string" || token === "") {
      throw new ChatError(ErrorCode.Unauthorized, "the token function gave no token");
    }
    this.#user = subjectOf(token) ?? this.#user;
    return token;
  }

  /** The handshake's `auth` for the next connection attempt. */
  async handshake(): Promise<HandshakeAuth> {
    if (this.tokenMode) return { token: await this.token() };
    return this.#key === undefined ? { user: this.#user } : { user: this.#user, key: this.#key };
  }
}
