/**
 * Reads server URLs given as one string, a comma-separated string, or a list of either: trims
 * them, drops empty ones and repeats, and keeps their order.
 *
 * @throws TypeError when no URL is left.
 * @example
 * parseUrls(["http://a:3000,http://b:3000", "http://a:3000"]) // ["http://a:3000", "http://b:3000"]
 */
export function parseUrls(urls: string | readonly string[]): string[] {
  const list = (typeof urls === "string" ? [urls] : urls)
    .flatMap((item) => item.split(","))
    .map((url) => url.trim())
    .filter((url) => url !== "");
  const unique = [...new Set(list)];
  if (unique.length === 0) throw new TypeError("at least one server URL is required");
  return unique;
}

/**
 * The server URLs of a cluster and the one in use. The client stays on a URL while it works and
 * moves to the next one, round the list, each time a connection fails or drops.
 *
 * @example
 * const endpoints = new Endpoints("http://a:3000,http://b:3000");
 * endpoints.current;  // "http://a:3000"
 * endpoints.rotate(); // "http://b:3000"
 * endpoints.rotate(); // "http://a:3000"
 */
export class Endpoints {
  /** Every URL, in the order they are tried. */
  readonly urls: readonly string[];
  #index = 0;

  constructor(urls: string | readonly string[]) {
    this.urls = Object.freeze(parseUrls(urls));
  }

  /** The URL to connect to now. */
  get current(): string {
    return this.urls[this.#index]!;
  }

  /** Moves to the next URL (the first after the last) and returns it. */
  rotate(): string {
    this.#index = (this.#index + 1) % this.urls.length;
    return this.current;
  }
}
