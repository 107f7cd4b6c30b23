import type { FastifyInstance } from "fastify";
import { LIMITS, type ChatMessage } from "../../protocol/index.js";
import { roomLog } from "../chat/rooms.js";
import type { ApiDeps } from "./deps.js";
import { idempotencyKey, nameOf } from "./input.js";
import { mustNotBeBanned } from "./senders.js";
import { clientId, idempotencyHeaders, messageId, responses, roomName, success, userName } from "./schemas.js";

interface PostBody {
  from: string;
  text: string;
  clientId?: string;
}

const postBody = {
  type: "object",
  required: ["from", "text"],
  additionalProperties: false,
  properties: {
    from: { ...userName, description: "Who sends it (any user: the token is trusted to speak for them)." },
    text: {
      type: "string",
      description: "1 to MAX_MESSAGE_LENGTH UTF-16 code units (2000 by default) of well-formed Unicode.",
    },
    clientId,
  },
} as const;

const messageAnswer = { message: { $ref: "ChatMessage#" } };

/** Room messages: post one (as `room:send` does), and page the history. */
export function messageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { validate, history } = deps;

  app.post<{ Params: { room: string }; Body: PostBody; Headers: { "idempotency-key"?: string } }>(
    "/rooms/:room/messages",
    {
      config: { scope: "publish" },
      schema: {
        operationId: "postRoomMessage",
        tags: ["messages"],
        summary: "Post a message to a room",
        description:
          "Stored and delivered exactly like a socket's `room:send`, to the room's members on every node, " +
          "and counted against the sender's rate limit; a sender muted in the room, or banned, is refused " +
          "(`forbidden`, with `until`). Idempotent on `clientId` or the `Idempotency-Key` " +
          "header: a repeat answers 200 with the first message, and nothing is stored or sent again. " +
          "Scope: publish.",
        params: { type: "object", required: ["room"], properties: { room: roomName } },
        headers: idempotencyHeaders,
        body: postBody,
        response: responses(
          {
            201: success("The message, stored and sent.", messageAnswer),
            200: success("A repeated idempotency key: the first message; nothing was sent again.", messageAnswer),
          },
          [413],
        ),
      },
    },
    async (request, reply) => {
      const from = nameOf(request.body.from, "user", "from");
      const key = idempotencyKey(request.headers["idempotency-key"], request.body.clientId);
      const send = validate.send({ room: request.params.room, text: request.body.text, clientId: key });
      await mustNotBeBanned(deps.moderation, from);
      const { message, duplicate } = await deps.postToRoom(from, send);
      return reply.code(duplicate ? 200 : 201).send({ ok: true, message });
    },
  );

  app.get<{ Params: { room: string }; Querystring: { before?: string; limit?: number } }>(
    "/rooms/:room/messages",
    {
      config: { scope: "read" },
      schema: {
        operationId: "getRoomMessages",
        tags: ["messages"],
        summary: "Page a room's history",
        description:
          "The newest messages, or those before `before`, oldest first: to page back, send the first id " +
          "of a page as `before`. Scope: read.",
        params: { type: "object", required: ["room"], properties: { room: roomName } },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            before: { ...messageId, description: "Answer messages older than this id." },
            limit: {
              type: "integer",
              minimum: 1,
              maximum: LIMITS.maxHistoryPage,
              default: LIMITS.defaultHistory,
              description: `Messages per page, 1 to ${LIMITS.maxHistoryPage}.`,
            },
          },
        },
        response: responses({
          200: success("Up to `limit` messages, oldest first.", {
            messages: { type: "array", items: { $ref: "ChatMessage#" } },
          }),
        }),
      },
    },
    async (request) => {
      const { before, limit } = request.query;
      const page = validate.history({ room: request.params.room, before, limit });
      const log = roomLog(page.room);
      const size = page.limit ?? LIMITS.defaultHistory;
      const stored =
        page.before === undefined ? await history.latest(log, size) : await history.before(log, page.before, size);
      const messages: ChatMessage[] = stored.map((message) => ({ ...message, room: page.room }));
      return { ok: true, messages };
    },
  );
}
