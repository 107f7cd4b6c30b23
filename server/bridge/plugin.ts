import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { WebSocketServer } from "ws";
import { tokenVerifier } from "../auth/tokens.js";
import { roomSender } from "../chat/chat.js";
import type { PresenceAnnouncer } from "../chat/presence-announcer.js";
import { roomPublisherOf } from "../chat/room-publisher.js";
import { makeValidators } from "../chat/validate.js";
import type { Config } from "../config.js";
import { clientAddress } from "../limits/client-address.js";
import type { Limits } from "../limits/limits.js";
import type { NodeCapacity } from "../limits/node-capacity.js";
import { originPolicy, type OriginPolicyOptions } from "../origin.js";
import { bridgeAdmission, type BridgeAdmitted } from "./admission.js";
import { BridgeConnection } from "./connection.js";
import { BridgeRefusal, refuseUpgrade, toRefusal } from "./refusal.js";
import { VirtualMembers } from "./room-members.js";
import { seedFrames } from "./seed-frames.js";
import { SEED_PATH_PREFIX } from "./seed-path.js";

export interface SeedBridgePluginOptions {
  config: Pick<Config, "maxMessageLength" | "trustProxy" | "auth" | "bridge">;
  origins: OriginPolicyOptions;
  limits: Limits;
  /** This node's cap on client connections, shared with Socket.IO. */
  capacity: NodeCapacity;
  /** Tells rooms who joined and who left, shared with Socket.IO. */
  announcer: PresenceAnnouncer;
  /** While true, the node is shutting down: upgrades are refused. */
  refusing: () => boolean;
}

/** How long a client has to answer the shutdown's close frame before its socket is cut. */
const GOING_AWAY_GRACE_MS = 2000;

/**
 * Serves the original demo's protocol on `/websocket/{room}/{user}`, on the same HTTP server as
 * Socket.IO: each client is a full member of its room on every node (see BridgeConnection).
 *
 * At shutdown (preClose, registered before the chat plugin's, so the stores are still open) it
 * closes its sockets with 1001 "going away" and waits until each has left its room.
 */
export const seedBridgePlugin = fp(
  async (app: FastifyInstance, options: SeedBridgePluginOptions) => {
    const { stores, io } = app;
    const { config, limits } = options;
    const { maxMessageLength } = config;
    const admission = bridgeAdmission({
      presence: stores.presence,
      claims: stores.claims,
      moderation: stores.moderation,
      tokens: tokenVerifier(config.auth),
      limits,
      capacity: options.capacity,
      addressSockets: stores.addressSockets,
      addressOf: clientAddress(config.trustProxy),
      originAllowed: originPolicy(options.origins),
      refusing: options.refusing,
      log: app.log,
    });
    const connectionOptions = {
      presence: stores.presence,
      announcer: options.announcer,
      members: new VirtualMembers(io.of("/").adapter),
      admission,
      sendToRoom: roomSender({ publisher: roomPublisherOf(stores, io), limits }),
      validate: makeValidators(maxMessageLength),
      frames: seedFrames(config.bridge),
      subscribed: (channel: string) => stores.subscribed(channel),
      storesUp: () => stores.isUp(),
      maxMessageLength,
      maxQueuedBytes: limits.config.clientQueueBytes,
      maxPendingFrames: limits.config.pendingRequestsPerSocket,
      log: app.log,
    };
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // A UTF-16 code unit takes at most 3 bytes of UTF-8: a longer frame is too long whatever it
      // holds, and ws closes it with 1009 before reading it whole.
      maxPayload: maxMessageLength * 3,
    });
    const connections = new Set<BridgeConnection>();

    async function accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
      let admitted: BridgeAdmitted;
      try {
        admitted = await admission.admit(req);
      } catch (error) {
        const refusal = toRefusal(error, stores.isUp());
        // A failure is worth a warning; a refusal the node chose (full, shutting down) is not, per client.
        if (refusal.status >= 500 && !(error instanceof BridgeRefusal)) {
          app.log.warn({ err: error }, "refused a bridge connection");
        } else app.log.debug({ status: refusal.status, reason: refusal.message }, "refused a bridge connection");
        refuseUpgrade(socket, refusal);
        return;
      }
      // The shutdown may have begun during the checks: it closes only the connections it sees.
      if (socket.destroyed || options.refusing()) {
        refuseUpgrade(socket, toRefusal(new Error("shutting down"), false));
        await admission.release(admitted);
        return;
      }
      let upgraded = false;
      // ws calls back at once, or never when it refused the request itself (not a WebSocket
      // handshake): then nothing holds the admission, so it is undone here.
      wss.handleUpgrade(req, socket, head, (ws) => {
        upgraded = true;
        const connection = new BridgeConnection(ws, admitted, connectionOptions);
        connections.add(connection);
        void connection.ended.then(() => connections.delete(connection));
      });
      if (!upgraded) await admission.release(admitted);
    }

    app.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!(req.url ?? "").startsWith(SEED_PATH_PREFIX)) return;
      // A client that resets the connection during the checks must not crash the node.
      socket.on("error", () => socket.destroy());
      accept(req, socket, head).catch((error: unknown) => {
        app.log.warn({ err: error }, "could not release a bridge connection that never opened");
      });
    });

    app.addHook("preClose", async () => {
      await Promise.all([...connections].map((connection) => connection.goAway(GOING_AWAY_GRACE_MS)));
    });
  },
  { name: "roomcast-seed-bridge", dependencies: ["roomcast-stores", "roomcast-socket-io"] },
);
