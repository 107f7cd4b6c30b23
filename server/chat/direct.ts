import {
  LIMITS,
  type DirectMessage,
  type DirectSendRequest,
  type DirectSendResult,
  type DirectSyncResult,
} from "../../protocol/index.js";
import type { NameClaims } from "../claims/claims.js";
import { missedSince, type History, type StoredMessage } from "../history/history.js";
import type { Limits } from "../limits/limits.js";
import type { UserDelivery } from "../delivery/delivery.js";
import type { Presence } from "../presence/presence.js";
import { feedLog, pairLog } from "./rooms.js";

/** What sending and reading DMs uses. */
export interface DirectOptions {
  /** Carries each DM to the sockets of both sides, on whichever nodes they are. */
  userDelivery: UserDelivery;
  history: History;
  presence: Presence;
  claims: NameClaims;
  limits: Limits;
  /** Token mode: every name is someone's, proven by their token. */
  tokenMode: boolean;
  /** How long DMs are held for a claimed name (as long as the claim lasts unused). */
  claimTtlMs: number;
  /** The most a `dm:sync` with `since` answers (the newest of what was missed). */
  historySize: number;
}

/** Who sends a DM: the user, and whether their connection proved it is them. */
export interface DirectSender {
  user: string;
  proven: boolean;
}

/**
 * A DM's entry in one user's feed. The feed keeps the conversation's id and `prev` beside the
 * text, so that a feed entry gives back the DM exactly as the conversation has it.
 */
function feedEntry(dm: DirectMessage) {
  return {
    from: dm.from,
    text: dm.text,
    // Unique within the feed: the sender is part of the key, and the recipient picks the conversation.
    clientId: `${dm.to}\n${dm.id}`,
    attrs: { to: dm.to, dm: dm.id, dmPrev: dm.prev },
  };
}

/** A feed entry as the DM it records, with its place in the feed. */
function fromFeed(entry: StoredMessage): DirectMessage {
  const attrs = entry.attrs ?? {};
  const id = attrs.dm ?? entry.id;
  return {
    id,
    from: entry.from,
    to: attrs.to ?? "",
    text: entry.text,
    // A message id starts with its epoch milliseconds: the conversation's own timestamp.
    ts: Number(id.slice(0, id.indexOf("-"))),
    prev: attrs.dmPrev ?? "",
    feedId: entry.id,
    feedPrev: entry.prev,
  };
}

/**
 * DMs: sending (to the conversation's log, then to the DM feed of each side that keeps one) and
 * reading a user's feed. One path for Socket.IO's `dm:send`/`dm:sync` and any other caller.
 *
 * Each step is idempotent on the request's `clientId`, so a retry after a failure between the
 * steps completes what the first attempt left undone, and stores nothing twice.
 */
export function directMessages(options: DirectOptions) {
  const { userDelivery, history, presence, claims, limits } = options;
  const deliver = (user: string, dm: DirectMessage) => userDelivery.deliver(user, { event: "dm:message", payload: dm });

  /** Whether DMs to `user` are kept for them: only for a name someone proved theirs. */
  const keepsFeed = async (user: string) => options.tokenMode || (await claims.isClaimed(user));

  return {
    /** Whether `user` has a DM feed: their name is someone's (claimed with a key, or any name in token mode). */
    keepsFeed,
    /**
     * Sends a DM: counts it against the sender's limit, stores it, and delivers it live to both
     * sides' sockets on every node, holding it for a recipient who is offline.
     *
     * @returns the DM as the sender's feed has it; rejects with RateLimitedError or a store failure.
     */
    async send(sender: DirectSender, { to, text, clientId }: DirectSendRequest): Promise<DirectSendResult> {
      const { user } = sender;
      await limits.sends.take(user);
      const { message: stored, duplicate } = await history.append(pairLog(user, to), { from: user, text, clientId });
      const dm: DirectMessage = { ...stored, to };
      const toSelf = to === user;
      const recipientKeeps = !toSelf && (await keepsFeed(to));
      const [inRecipientFeed, inSenderFeed] = await Promise.all([
        recipientKeeps ? history.append(feedLog(to), feedEntry(dm)) : undefined,
        sender.proven ? history.append(feedLog(user), feedEntry(dm)) : undefined,
      ]);
      const forRecipient = inRecipientFeed ? fromFeed(inRecipientFeed.message) : dm;
      const forSender = inSenderFeed ? fromFeed(inSenderFeed.message) : dm;
      // A retry delivers what the first attempt stored but did not get to deliver.
      const newToRecipient = toSelf ? false : inRecipientFeed ? !inRecipientFeed.duplicate : !duplicate;
      const newToSender = inSenderFeed ? !inSenderFeed.duplicate : !duplicate;

      // The live copies go out while the recipient's copy is held or not: a held DM goes out live
      // too, in case presence lags behind a connected recipient; a client keeps one copy per id.
      const [outcome] = await Promise.all([
        newToRecipient
          ? presence.holdUnlessOnline(forRecipient, recipientKeeps ? options.claimTtlMs : undefined)
          : undefined,
        newToRecipient ? deliver(to, forRecipient) : undefined,
        newToSender ? deliver(user, forSender) : undefined,
      ]);
      // A recipient counted online only on a node that died (not reaped yet) gets nothing held: the
      // DM is in their feed whenever it would have been held (a name that keeps one), for dm:sync.
      const online = toSelf || (outcome === undefined ? (await presence.nodesOf(to)).length > 0 : outcome === "online");
      const held = outcome === undefined || outcome === "online" ? undefined : outcome === "held";
      return held === undefined ? { message: forSender, online } : { message: forSender, online, held };
    },

    /**
     * The DMs in `user`'s feed after `since`, or the newest ones without it. Serve it only to a
     * connection that proved it is `user`.
     */
    async sync(user: string, since: string | undefined): Promise<DirectSyncResult> {
      const log = feedLog(user);
      if (since === undefined) {
        const newest = await history.latest(log, LIMITS.defaultHistory);
        return { messages: newest.map(fromFeed), recovered: true };
      }
      const missed = await missedSince(history, log, since, options.historySize);
      return { messages: missed.messages.map(fromFeed), recovered: missed.complete };
    },
  };
}

export type DirectMessages = ReturnType<typeof directMessages>;
