import { ErrorCode } from "../../protocol/index.js";
import { CodedError } from "../errors.js";
import type { Moderation } from "../moderation/moderation.js";

/**
 * Refuses to send as a banned user. A ban keeps the user's sockets out; a backend that speaks
 * for them (a gateway relaying their mail, say) is refused too, with `forbidden` and `until`.
 * Mutes are checked on the send path itself, for sockets and the API alike.
 */
export async function mustNotBeBanned(moderation: Moderation, user: string): Promise<void> {
  const ban = await moderation.banOf(user);
  if (ban === undefined) return;
  throw new CodedError(
    ErrorCode.Forbidden,
    `${user} is banned until ${new Date(ban.until).toISOString()}: ${ban.reason}`,
    { until: ban.until },
  );
}
