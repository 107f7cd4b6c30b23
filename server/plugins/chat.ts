import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { attachChat } from "../chat/chat.js";
import { moderationActions, type ModerationActions } from "../chat/moderation-actions.js";
import { tokenVerifier } from "../auth/tokens.js";
import { claimTtlMs, type Config } from "../config.js";
import { clientAddress } from "../limits/client-address.js";
import type { Limits } from "../limits/limits.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Bans, unbans and message deletions, applied on every node. */
    moderationActions: ModerationActions;
  }
}

export interface ChatPluginOptions {
  config: Pick<Config, "historySize" | "maxMessageLength" | "trustProxy" | "auth">;
  /** The node's rate limits and caps (shared with the admin routes). */
  limits: Limits;
}

/**
 * Serves the chat protocol on `app.io` with `app.stores`. Presence starts when the app is ready.
 * At shutdown, before the HTTP server closes, it closes this node's sockets so that their clients
 * reconnect to another node, lets their leave handlers finish, then removes whatever presence
 * this node still has.
 */
export const chatPlugin = fp(
  async (app: FastifyInstance, options: ChatPluginOptions) => {
    const { stores } = app;
    const { historySize, maxMessageLength } = options.config;
    const tokens = tokenVerifier(options.config.auth);
    const chat = attachChat({
      io: app.io,
      presence: stores.presence,
      history: stores.history,
      claims: stores.claims,
      moderation: stores.moderation,
      tokens,
      claimTtlMs: claimTtlMs(options.config),
      log: app.log,
      historySize,
      maxMessageLength,
      limits: options.limits,
      addressSockets: stores.addressSockets,
      addressOf: clientAddress(options.config.trustProxy),
      subscribed: (room) => stores.subscribed(room),
      storesUp: () => stores.isUp(),
    });
    app.decorate(
      "moderationActions",
      moderationActions({ io: app.io, moderation: stores.moderation, history: stores.history }),
    );
    app.addHook("onReady", async () => {
      await stores.presence.start();
      await stores.addressSockets.start();
    });
    app.addHook("preClose", async () => {
      await chat.drain();
      chat.close();
      await stores.presence.close();
      await stores.addressSockets.close();
    });
  },
  { name: "roomcast-chat", dependencies: ["roomcast-stores", "roomcast-socket-io"] },
);
