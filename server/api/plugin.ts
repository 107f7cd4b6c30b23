import fastifySwagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import { PROTOCOL_VERSION } from "../../protocol/index.js";
import { roomPoster } from "../chat/chat.js";
import { roomPublisherOf } from "../chat/room-publisher.js";
import { directMessages } from "../chat/direct.js";
import { operatorActions } from "../chat/operator-actions.js";
import { makeValidators } from "../chat/validate.js";
import { claimTtlMs, type Config } from "../config.js";
import { clientAddress } from "../limits/client-address.js";
import type { Limits } from "../limits/limits.js";
import { ApiTokens, apiGuard } from "./auth.js";
import type { ApiDeps } from "./deps.js";
import { directRoutes } from "./direct.js";
import { apiDocs } from "./docs.js";
import { apiErrorHandler, notFound } from "./errors.js";
import { messageRoutes } from "./messages.js";
import { moderationRoutes } from "./moderation.js";
import { nodeRoutes } from "./nodes.js";
import { operatorRoutes } from "./operator.js";
import { roomRoutes } from "./rooms.js";
import { SHARED_SCHEMAS } from "./schemas.js";
import { strictBody } from "./strict-body.js";
import { userRoutes } from "./users.js";

/** The API's prefix; its version changes only with a breaking change. */
export const API_PREFIX = "/api/v1";

export interface ApiPluginOptions {
  config: Pick<Config, "apiTokens" | "trustProxy" | "maxMessageLength" | "historySize" | "auth">;
  /** The node's limits: the sends of `from` users, and the failed sign-ins shared with /admin. */
  limits: Limits;
}

/**
 * The HTTP API for backends at /api/v1, its OpenAPI document at /api/v1/openapi.json and Swagger
 * UI at /api/docs. It needs `app.io`, `app.stores` and `app.moderationActions` (register it after
 * the chat plugin), and acts through the same paths as the socket events and /admin, so that
 * whichever node is called, the effect is cluster-wide.
 *
 * Without any token (API_TOKENS or ADMIN_TOKEN) every route answers 404, as /admin does without
 * ADMIN_TOKEN; the document and the docs are still served, since they describe this version of the
 * server, not the deployment, and hold no secret.
 */
export async function apiPlugin(app: FastifyInstance, options: ApiPluginOptions): Promise<void> {
  const { config, limits } = options;
  const { io, stores } = app;
  const deps: ApiDeps = {
    io,
    presence: stores.presence,
    history: stores.history,
    validate: makeValidators(config.maxMessageLength),
    postToRoom: roomPoster({ publisher: roomPublisherOf(stores, io), limits }),
    direct: directMessages({
      userDelivery: stores.userDelivery,
      history: stores.history,
      presence: stores.presence,
      claims: stores.claims,
      limits,
      tokenMode: config.auth.tokenKey !== undefined,
      claimTtlMs: claimTtlMs(config),
      historySize: config.historySize,
    }),
    operator: operatorActions({ io, presence: stores.presence }),
    moderation: stores.moderation,
    moderationActions: app.moderationActions,
  };

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: "roomcast HTTP API",
        version: `${PROTOCOL_VERSION}`,
        description:
          "For backends: post to rooms and users, read history, rooms and presence, and moderate. " +
          "Every call needs `Authorization: Bearer <token>` of a client in API_TOKENS (or ADMIN_TOKEN), " +
          "whose scope (publish, read or admin) allows the route. Errors answer " +
          "`{ ok: false, error: { code, message } }` with the socket protocol's codes.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
      tags: [
        { name: "messages", description: "Room messages and DMs" },
        { name: "rooms", description: "Rooms and members" },
        { name: "users", description: "Presence of users" },
        { name: "cluster", description: "The nodes" },
        { name: "moderation", description: "Kicks, notices, bans, mutes, deletions (admin scope)" },
      ],
    },
    // Components are named by their schema's $id (ChatMessage, ErrorResponse, …).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === "string" ? json.$id : `def-${index}`,
    },
  });
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => app.swagger());
  await app.register(apiDocs);

  const tokens = new ApiTokens(config.apiTokens);
  await app.register(
    async (api) => {
      api.addHook(
        "onRequest",
        apiGuard({ tokens, failures: limits.adminFailures, addressOf: clientAddress(config.trustProxy) }),
      );
      api.addHook("preValidation", strictBody);
      api.setErrorHandler(apiErrorHandler(() => stores.isUp()));
      // Request lines are not logged server-wide (Socket.IO's polling would flood the log); an API
      // call is logged, with its client's name from the guard and never its body.
      api.addHook("onResponse", async (request, reply) => {
        request.log.info(
          { method: request.method, route: request.routeOptions.url, status: reply.statusCode },
          "api request",
        );
      });
      messageRoutes(api, deps);
      directRoutes(api, deps);
      roomRoutes(api, deps);
      userRoutes(api, deps);
      nodeRoutes(api, deps);
      operatorRoutes(api, deps);
      moderationRoutes(api, deps);
      // Any other path under the prefix: the API's own 404, after the guard (a caller without a
      // token learns nothing of which paths exist).
      api.route({
        method: ["GET", "POST", "PUT", "DELETE", "PATCH"],
        url: "/*",
        schema: { hide: true },
        handler: async () => {
          throw notFound("no such route");
        },
      });
    },
    { prefix: API_PREFIX },
  );
}
