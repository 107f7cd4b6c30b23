import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { ErrorCode, checkName } from "../../protocol/index.js";
import type { ChatServer } from "../chat/chat.js";
import { operatorActions } from "../chat/operator-actions.js";
import { clusterSeries, seriesStart } from "../metrics/cluster-series.js";
import type { SeriesStore } from "../metrics/series.js";
import { busiestRooms } from "../presence/busiest-rooms.js";
import type { Presence } from "../presence/presence.js";
import type { AdminStats } from "./admin-stats.js";
import { bearerGuard, type BearerOptions } from "./bearer.js";

export interface AdminOptions extends BearerOptions {
  io: ChatServer;
  presence: Presence;
  /** Every node's recent activity, for `GET /admin/stats`. */
  series: SeriesStore;
}

/** Rooms `GET /admin/stats` lists, and the most it looks at to find them. */
const BUSIEST_ROOMS = 10;
const ROOMS_SCANNED = 5000;

const fail = (reply: FastifyReply, status: number, code: string, message: string) =>
  reply.code(status).send({ ok: false, error: { code, message } });

/** Operator endpoints behind `Authorization: Bearer <ADMIN_TOKEN>`; they act cluster-wide. */
export async function adminRoutes(app: FastifyInstance, options: AdminOptions): Promise<void> {
  const { io, presence } = options;
  const operator = operatorActions({ io, presence });

  app.addHook("onRequest", bearerGuard(options));

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
    return { ok: true, ...(await operator.kick(user.name)) };
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
      const room = request.body.room === undefined ? undefined : checkName(request.body.room, "room");
      if (room !== undefined && !room.ok) return fail(reply, 400, ErrorCode.BadRequest, room.reason);
      return { ok: true, notice: operator.notice(request.body.text, room?.name) };
    },
  );

  /** The live nodes with their socket and user counts. */
  app.get("/admin/nodes", async () => ({
    ok: true,
    nodes: (await presence.listNodes()).map(({ node, sockets, users, seenAt }) => ({ node, sockets, users, seenAt })),
  }));

  /**
   * What the dashboard shows, for the whole cluster: every live node with its vitals, the busiest
   * rooms, and messages per second and connections over the last ten minutes.
   */
  app.get("/admin/stats", async (): Promise<AdminStats> => {
    const now = Date.now();
    const [nodes, rooms, series] = await Promise.all([
      presence.listNodes(),
      busiestRooms(presence, BUSIEST_ROOMS, ROOMS_SCANNED),
      options.series.read(seriesStart(now)),
    ]);
    return { ok: true, now, nodes, rooms, series: clusterSeries(series, now) };
  });
}
