import type { Moderation } from "../moderation/moderation.js";
import { bannedError } from "../moderation/refusals.js";

/**
 * Refuses to send as a banned user. A ban keeps the user's sockets out; a backend that speaks
 * for them (a gateway relaying their mail, say) is refused too, with `forbidden` and `until`.
 * Mutes are checked on the send path itself, for sockets and the API alike.
 */
export async function mustNotBeBanned(moderation: Moderation, user: string): Promise<void> {
  const ban = await moderation.banOf(user);
  if (ban !== undefined) throw bannedError(ban, `${user} is`);
}
