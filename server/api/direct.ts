import type { FastifyInstance } from "fastify";
import type { ApiDeps } from "./deps.js";
import { idempotencyKey, nameOf } from "./input.js";
import { mustNotBeBanned } from "./senders.js";
import { clientId, idempotencyHeaders, responses, success, userName } from "./schemas.js";

interface DirectBody {
  from: string;
  text: string;
  clientId?: string;
}

/** DMs: send one as `dm:send` does, held while the recipient is offline. */
export function directRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Params: { user: string }; Body: DirectBody; Headers: { "idempotency-key"?: string } }>(
    "/users/:user/messages",
    {
      config: { scope: "publish" },
      schema: {
        operationId: "postDirectMessage",
        tags: ["messages"],
        summary: "Send a DM to a user",
        description:
          "Sent exactly like a socket's `dm:send` from `from` (the DM goes to `from`'s DM feed when the " +
          "name is someone's: claimed, or any name in token mode): live to every socket of both users, on every node. When the recipient is " +
          "offline it is held for their next connection, if their name is claimed (or in token mode); " +
          "`held: false` says it is not. A banned sender is refused (`forbidden`, with `until`). Idempotent on `clientId` or the `Idempotency-Key` header " +
          "(a repeat answers the first DM, and sends nothing again). Scope: publish.",
        params: { type: "object", required: ["user"], properties: { user: userName } },
        headers: idempotencyHeaders,
        body: {
          type: "object",
          required: ["from", "text"],
          additionalProperties: false,
          properties: {
            from: { ...userName, description: "Who sends it." },
            text: { type: "string", description: "As in a room message." },
            clientId,
          },
        },
        response: responses(
          {
            201: success(
              "The DM as the sender's feed has it; whether the recipient was online, and if not whether it is held.",
              {
                message: { $ref: "DirectMessage#" },
                online: { type: "boolean" },
                held: { type: "boolean", description: "Present when the recipient was offline." },
              },
              ["held"],
            ),
          },
          [413],
        ),
      },
    },
    async (request, reply) => {
      const from = nameOf(request.body.from, "user", "from");
      const key = idempotencyKey(request.headers["idempotency-key"], request.body.clientId);
      const send = deps.validate.direct({ to: request.params.user, text: request.body.text, clientId: key });
      await mustNotBeBanned(deps.moderation, from);
      // A name nobody proved keeps no feed: whoever claims it later must not read what was sent as it.
      const proven = await deps.direct.keepsFeed(from);
      const result = await deps.direct.send({ user: from, proven }, send);
      return reply.code(201).send({ ok: true, ...result });
    },
  );
}
