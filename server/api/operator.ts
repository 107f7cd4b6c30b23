import type { FastifyInstance } from "fastify";
import type { ApiDeps } from "./deps.js";
import { nameOf, wellFormed } from "./input.js";
import { responses, roomName, success, userName } from "./schemas.js";

/** Longest notice, as /admin/notices takes it. */
const MAX_NOTICE_LENGTH = 2000;

/** Kicks and notices: what /admin/users/:user/kick and /admin/notices do, with the admin scope. */
export function operatorRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { operator } = deps;

  app.post<{ Params: { user: string } }>(
    "/users/:user/kick",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "kickUser",
        tags: ["moderation"],
        summary: "Disconnect a user",
        description:
          "Disconnects every socket of the user, on every node; their clients do not reconnect by " +
          "themselves (they may reconnect: to keep them out, ban them). Scope: admin.",
        params: { type: "object", required: ["user"], properties: { user: userName } },
        response: responses({
          200: success("Who was kicked, and the nodes that held them.", {
            user: { type: "string" },
            nodes: { type: "array", items: { type: "string" } },
          }),
        }),
      },
    },
    async (request) => ({ ok: true, ...(await operator.kick(nameOf(request.params.user, "user"))) }),
  );

  app.post<{ Body: { text: string; room?: string } }>(
    "/notices",
    {
      config: { scope: "admin" },
      schema: {
        operationId: "postNotice",
        tags: ["moderation"],
        summary: "Post a notice",
        description: "A `notice` event to the members of `room`, or to everyone without it. Scope: admin.",
        body: {
          type: "object",
          required: ["text"],
          additionalProperties: false,
          properties: {
            text: { type: "string", minLength: 1, maxLength: MAX_NOTICE_LENGTH },
            room: { ...roomName, description: "The room; without it, every connected user." },
          },
        },
        response: responses({ 200: success("The notice sent.", { notice: { $ref: "Notice#" } }) }, [413]),
      },
    },
    async (request) => {
      const text = wellFormed(request.body.text, "text");
      const room = request.body.room === undefined ? undefined : nameOf(request.body.room, "room");
      return { ok: true, notice: operator.notice(text, room) };
    },
  );
}
