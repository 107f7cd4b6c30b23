import { ChatClient } from "roomcast-client";
import type { Identity } from "./identity.js";

export type { ConnectionState } from "roomcast-client";

/** The part of the SDK's `ChatClient` the page uses; the page is written against this alone. */
export type PageClient = Pick<
  ChatClient,
  | "user"
  | "state"
  | "connect"
  | "on"
  | "join"
  | "leave"
  | "send"
  | "dm"
  | "history"
  | "rooms"
  | "typing"
  | "members"
  | "close"
>;

/**
 * Connects the SDK to the chat nodes the page was given.
 *
 * @param urls the page's own origin, or the nodes named in `?nodes=`, in the order to try them.
 * @param identity a name with this browser's claim key (open mode), or a token (token mode).
 * @throws ChatError `bad_request` for a key of the wrong length (the page makes it right).
 */
export function createClient(urls: string[], identity: Identity): PageClient {
  return "token" in identity
    ? new ChatClient({ urls, token: identity.token })
    : new ChatClient({ urls, user: identity.user, key: identity.key });
}

/**
 * The nodes to connect to: `?nodes=<url>,<url>` when given (only http(s) URLs on the page's own
 * host, so that a crafted link cannot send someone's messages elsewhere), else the page's origin.
 */
export function nodeUrls(location: Pick<Location, "search" | "origin" | "hostname">): string[] {
  const listed = new URLSearchParams(location.search).get("nodes");
  const urls: string[] = [];
  for (const item of (listed ?? "").split(",")) {
    let url: URL;
    try {
      url = new URL(item.trim());
    } catch {
      continue;
    }
    if ((url.protocol === "http:" || url.protocol === "https:") && url.hostname === location.hostname) {
      if (!urls.includes(url.origin)) urls.push(url.origin);
    }
  }
  return urls.length > 0 ? urls : [location.origin];
}
