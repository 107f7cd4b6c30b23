import type { FastifyInstance } from "fastify";
import { roomOfChannel, userChannel } from "../chat/rooms.js";
import { compareNames } from "../presence/presence.js";
import type { ApiDeps } from "./deps.js";
import { nameOf } from "./input.js";
import { responses, success, userName } from "./schemas.js";

/** Where a user is: online or not, on which nodes, in which rooms. */
export function userRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { io, presence } = deps;

  /** The chatrooms any socket of `user` is in, on every node (the adapter asks each node). */
  async function roomsOf(user: string): Promise<string[]> {
    const sockets = await io.in(userChannel(user)).fetchSockets();
    const rooms = new Set<string>();
    for (const socket of sockets) {
      for (const channel of socket.rooms) {
        const room = roomOfChannel(channel);
        if (room !== undefined) rooms.add(room);
      }
    }
    return [...rooms].sort(compareNames);
  }

  app.get<{ Params: { user: string } }>(
    "/users/:user",
    {
      config: { scope: "read" },
      schema: {
        operationId: "getUser",
        tags: ["users"],
        summary: "Where a user is",
        description:
          "Whether the user has a socket on any node, on which nodes, and which rooms their Socket.IO " +
          "connections are in. Scope: read.",
        params: { type: "object", required: ["user"], properties: { user: userName } },
        response: responses({
          200: success("The user's presence.", {
            user: { type: "string", description: "The name, normalized." },
            online: { type: "boolean" },
            nodes: { type: "array", items: { type: "string" }, description: "Nodes holding a socket of theirs." },
            rooms: { type: "array", items: { type: "string" }, description: "Rooms they are in, sorted." },
          }),
        }),
      },
    },
    async (request) => {
      const user = nameOf(request.params.user, "user");
      const [nodes, rooms] = await Promise.all([presence.nodesOf(user), roomsOf(user)]);
      return { ok: true, user, online: nodes.length > 0, nodes: [...nodes].sort(), rooms };
    },
  );
}
