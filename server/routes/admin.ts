import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode, checkName, type Notice } from "../../protocol/index.js";
import type { ChatServer } from "../chat/chat.js";
import { roomChannel, userChannel } from "../chat/rooms.js";
import { RateLimitedError } from "../errors.js";
import type { Limit } from "../limits/limits.js";
import type { Presence } from "../presence/presence.js";

export interface AdminOptions {
  token: string;
  io: ChatServer;
  presence: Presence;
  /** Counts failed sign-ins per client address; over it, every attempt is refused for a while. */
  failures: Limit;
  addressOf: (req: IncomingMessage) => string;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const fail = (reply: FastifyReply, status: number, code: string, message: string) =>
  reply.code(status).send({ ok: false, error: { code, message } });

/** Operator endpoints behind `Authorization: Bearer <ADMIN_TOKEN>`; they act cluster-wide. */
export async function adminRoutes(app: FastifyInstance, options: AdminOptions): Promise<void> {
  const { io, presence } = options;

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? "";
    const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    const address = options.addressOf(request.raw);
    try {
      // Past the limit even a right guess is refused, so guessing goes no faster than the limit.
      await options.failures.check(address);
      if (sameSecret(token, options.token)) return;
      await options.failures.take(address);
    } catch (error) {
      if (!(error instanceof RateLimitedError)) throw error;
      reply.header("retry-after", String(Math.ceil(error.retryAfterMs / 1000)));
      return reply.code(429).send({ ok: false, error: error.toBody() });
    }
    return fail(reply, 401, ErrorCode.Unauthorized, "a valid bearer token is required");
  });

  // A body that fails its schema or is not JSON gets the same coded shape as every other admin
  // error, instead of Fastify's own { statusCode, code: "FST_ERR_…" }.
  app.setErrorHandler(async (error: FastifyError, _request, reply) => {
    if (error.statusCode === 400) return fail(reply, 400, ErrorCode.BadRequest, error.message);
    throw error;
  });

  /** Disconnects every socket of a user, on every node; their clients do not reconnect by themselves. */
  app.post<{ Params: { user: string } }>("/admin/users/:user/kick", async (request, reply) => {
    const user = checkName(request.params.user, "user");
    if (!user.ok) return fail(reply, 400, ErrorCode.BadRequest, user.reason);
    const nodes = await presence.nodesOf(user.name);
    // A plain disconnect ("io server disconnect") tells the client not to reconnect on its own.
    io.in(userChannel(user.name)).disconnectSockets(false);
    return { ok: true, user: user.name, nodes };
  });

  /** Posts a notice to one room, or to everyone without `room`. */
  app.post<{ Body: { text: string; room?: string } }>(
    "/admin/notices",
    {
      schema: {
        body: {
          type: "object",
          required: ["text"],
          additionalProperties: false,
          properties: { text: { type: "string", minLength: 1, maxLength: 2000 }, room: { type: "string" } },
        },
      },
    },
    async (request, reply) => {
      const notice: Notice = { text: request.body.text, ts: Date.now() };
      if (request.body.room === undefined) {
        io.emit("notice", notice);
      } else {
        const room = checkName(request.body.room, "room");
        if (!room.ok) return fail(reply, 400, ErrorCode.BadRequest, room.reason);
        notice.room = room.name;
        io.to(roomChannel(room.name)).emit("notice", notice);
      }
      return { ok: true, notice };
    },
  );

  /** The live nodes with their socket and user counts. */
  app.get("/admin/nodes", async () => ({ ok: true, nodes: await presence.listNodes() }));
}
