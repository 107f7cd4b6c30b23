import type { FastifyInstance } from "fastify";
import { parseMessageId } from "../../protocol/index.js";
import { badRequest } from "../errors.js";
import type { ApiDeps } from "./deps.js";
import { notFound } from "./errors.js";
import { nameOf, wellFormed } from "./input.js";
import { messageId, responses, roomName, seconds, success, userName } from "./schemas.js";

/** Longest ban reason: it is shown to the banned user with every refused handshake. */
const MAX_REASON_LENGTH = 500;

const userParams = { type: "object", required: ["user"], properties: { user: userName } } as const;
const muteParams = {
  type: "object",
  required: ["room", "user"],
  properties: { room: roomName, user: userName },
} as const;
const okOnly = (description: string) => responses({ 200: success(description, {}) });

/**
 * Moderation, with the admin scope, applied on every node: bans (the user is disconnected and
 * refused at every handshake until it ends), mutes (the user may read a room, not send to it), and
 * deleted messages (tombstones). Bans and mutes lapse by themselves.
 */
export function moderationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { moderation, moderationActions } = deps;

  app.put<{ Params: { user: string }; Body: { seconds: number; reason: string } }>(
    "/bans/:user",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "banUser",
        tags: ["moderation"],
        summary: "Ban a user",
        description:
          "Bans the user for `seconds` from now (replacing a ban they had), and disconnects every socket " +
          "of theirs, on every node. Until it ends, their handshakes are refused with `forbidden`, the " +
          "reason and `until`, and the API refuses to send as them. Scope: admin.",
        params: userParams,
        body: {
          type: "object",
          required: ["seconds", "reason"],
          additionalProperties: false,
          properties: {
            seconds,
            reason: {
              type: "string",
              minLength: 1,
              maxLength: MAX_REASON_LENGTH,
              description: "Why: shown to the user with each refused handshake.",
            },
          },
        },
        response: responses({ 200: success("The ban.", { ban: { $ref: "Ban#" } }) }, [413]),
      },
    },
    async (request) => {
      const user = nameOf(request.params.user, "user");
      const reason = wellFormed(request.body.reason, "reason");
      const ban = await moderationActions.banUser(user, request.body.seconds, reason);
      request.log.info({ user, until: ban.until }, "banned a user");
      return { ok: true, ban };
    },
  );

  app.get<{ Params: { user: string } }>(
    "/bans/:user",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "getBan",
        tags: ["moderation"],
        summary: "Read a user's ban",
        description: "The ban the user is under now; 404 `not_found` when there is none. Scope: admin.",
        params: userParams,
        response: responses({ 200: success("The ban.", { ban: { $ref: "Ban#" } }) }),
      },
    },
    async (request) => {
      const user = nameOf(request.params.user, "user");
      const ban = await moderation.banOf(user);
      if (ban === undefined) throw notFound(`${user} is not banned`);
      return { ok: true, ban };
    },
  );

  app.delete<{ Params: { user: string } }>(
    "/bans/:user",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "unbanUser",
        tags: ["moderation"],
        summary: "Lift a user's ban",
        description: "404 `not_found` when there was none. Scope: admin.",
        params: userParams,
        response: okOnly("The ban is lifted."),
      },
    },
    async (request) => {
      const user = nameOf(request.params.user, "user");
      if (!(await moderationActions.liftBan(user))) throw notFound(`${user} is not banned`);
      request.log.info({ user }, "lifted a ban");
      return { ok: true };
    },
  );

  app.put<{ Params: { room: string; user: string }; Body: { seconds: number } }>(
    "/rooms/:room/mutes/:user",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "muteUser",
        tags: ["moderation"],
        summary: "Mute a user in a room",
        description:
          "For `seconds` from now (replacing a mute they had there), the user's sends to the room are " +
          "refused with `forbidden` and `until`, on every node and through the API; they still read it. " +
          "Scope: admin.",
        params: muteParams,
        body: {
          type: "object",
          required: ["seconds"],
          additionalProperties: false,
          properties: { seconds },
        },
        response: responses({ 200: success("The mute.", { mute: { $ref: "Mute#" } }) }, [413]),
      },
    },
    async (request) => {
      const room = nameOf(request.params.room, "room");
      const user = nameOf(request.params.user, "user");
      const { until } = await moderation.mute(room, user, request.body.seconds);
      request.log.info({ room, user, until }, "muted a user");
      return { ok: true, mute: { room, user, until } };
    },
  );

  app.get<{ Params: { room: string; user: string } }>(
    "/rooms/:room/mutes/:user",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "getMute",
        tags: ["moderation"],
        summary: "Read a user's mute in a room",
        description: "404 `not_found` when the user is not muted there. Scope: admin.",
        params: muteParams,
        response: responses({ 200: success("The mute.", { mute: { $ref: "Mute#" } }) }),
      },
    },
    async (request) => {
      const room = nameOf(request.params.room, "room");
      const user = nameOf(request.params.user, "user");
      const until = await moderation.mutedUntil(room, user);
      if (until === undefined) throw notFound(`${user} is not muted in "${room}"`);
      return { ok: true, mute: { room, user, until } };
    },
  );

  app.delete<{ Params: { room: string; user: string } }>(
    "/rooms/:room/mutes/:user",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "unmuteUser",
        tags: ["moderation"],
        summary: "Lift a user's mute in a room",
        description: "404 `not_found` when there was none. Scope: admin.",
        params: muteParams,
        response: okOnly("The mute is lifted."),
      },
    },
    async (request) => {
      const room = nameOf(request.params.room, "room");
      const user = nameOf(request.params.user, "user");
      if (!(await moderation.unmute(room, user))) throw notFound(`${user} is not muted in "${room}"`);
      request.log.info({ room, user }, "lifted a mute");
      return { ok: true };
    },
  );

  app.delete<{ Params: { room: string; id: string } }>(
    "/rooms/:room/messages/:id",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "deleteRoomMessage",
        tags: ["moderation"],
        summary: "Delete a message",
        description:
          "Leaves a tombstone: history and resume answer the message with `deleted: true` and no text, " +
          "keeping its id (so `prev` chains stay whole), and the room's members get " +
          "`room:message:deleted { room, id }`. 404 `not_found` when the room's history does not hold it. " +
          "Scope: admin.",
        params: {
          type: "object",
          required: ["room", "id"],
          properties: { room: roomName, id: messageId },
        },
        response: okOnly("The message is a tombstone now."),
      },
    },
    async (request) => {
      const room = nameOf(request.params.room, "room");
      const { id } = request.params;
      if (parseMessageId(id) === undefined) throw badRequest("id must be a message id (sequence within 64 bits)");
      if (!(await moderationActions.deleteRoomMessage(room, id))) throw notFound(`"${room}" holds no message ${id}`);
      request.log.info({ room, id }, "deleted a message");
      return { ok: true };
    },
  );
}
