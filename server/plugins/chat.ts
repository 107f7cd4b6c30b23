import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { ErrorCode } from "../../protocol/index.js";
import { attachChat, type ChatOptions } from "../chat/chat.js";
import type { AdmissionOptions } from "../chat/admission.js";
import { roomPublisherOf } from "../chat/room-publisher.js";
import { moderationActions, type ModerationActions } from "../chat/moderation-actions.js";
import type { PresenceAnnouncer } from "../chat/presence-announcer.js";
import { tokenVerifier } from "../auth/tokens.js";
import { claimTtlMs, type Config } from "../config.js";
import { toLocalSockets } from "../delivery/local.js";
import { clientAddress } from "../limits/client-address.js";
import type { Limits } from "../limits/limits.js";
import type { NodeCapacity } from "../limits/node-capacity.js";

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
  /** The node's cap on client connections, shared with the seed bridge. */
  capacity: NodeCapacity;
  /** Told the code of every refused handshake (metrics). */
  onHandshakeRefused?: (code: ErrorCode) => void;
  /** Sees every client event first and may replace its ack (metrics: `clientEventCounter`). */
  onClientEvent?: (packet: unknown[]) => void;
  /** Tells rooms who joined and who left, shared with the seed bridge. */
  announcer: PresenceAnnouncer;
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
    // attachChat hands its options on to the admission of handshakes, which takes the listener.
    const chatOptions: ChatOptions & Pick<AdmissionOptions, "onHandshakeRefused"> = {
      io: app.io,
      writeBacklog: app.writeBacklog,
      presence: stores.presence,
      announcer: options.announcer,
      userDelivery: stores.userDelivery,
      history: stores.history,
      publisher: roomPublisherOf(stores, app.io),
      claims: stores.claims,
      moderation: stores.moderation,
      tokens,
      claimTtlMs: claimTtlMs(options.config),
      log: app.log,
      historySize,
      maxMessageLength,
      limits: options.limits,
      capacity: options.capacity,
      addressSockets: stores.addressSockets,
      addressOf: clientAddress(options.config.trustProxy),
      subscribed: (room) => stores.subscribed(room),
      storesUp: () => stores.isUp(),
      ...(options.onHandshakeRefused ? { onHandshakeRefused: options.onHandshakeRefused } : {}),
      ...(options.onClientEvent ? { onClientEvent: options.onClientEvent } : {}),
    };
    const chat = attachChat(chatOptions);
    app.decorate(
      "moderationActions",
      moderationActions({ io: app.io, moderation: stores.moderation, history: stores.history }),
    );
    app.addHook("onReady", async () => {
      await stores.presence.start();
      await stores.addressSockets.start();
      await stores.userDelivery.start(toLocalSockets(app.io));
    });
    app.addHook("preClose", async () => {
      await chat.drain();
      chat.close();
      await stores.userDelivery.close();
      await stores.presence.close();
      await stores.addressSockets.close();
    });
  },
  { name: "roomcast-chat", dependencies: ["roomcast-stores", "roomcast-socket-io"] },
);
