import type { FastifyInstance } from "fastify";
import { LIMITS } from "../../protocol/index.js";
import type { ApiDeps } from "./deps.js";
import { nameOf } from "./input.js";
import { responses, roomName, success } from "./schemas.js";

/** Members a page of `GET /rooms/:room/members` lists without `limit`, and at most. */
export const MEMBERS_PAGE = { default: 100, max: 1000 } as const;

/** Rooms and their members, cluster-wide. */
export function roomRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { presence, validate } = deps;

  app.get<{ Querystring: { cursor?: string; limit?: number } }>(
    "/rooms",
    {
      config: { scope: "read" },
      schema: {
        operationId: "listRooms",
        tags: ["rooms"],
        summary: "List the rooms with members",
        description:
          "One page of the rooms that have at least one member, by name. Page until there is no " +
          "`nextCursor` (a page may be shorter than `limit` and still have one). Scope: read.",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            cursor: {
              type: "string",
              minLength: 1,
              maxLength: LIMITS.maxCursor,
              description: "The `nextCursor` of the previous page.",
            },
            limit: {
              type: "integer",
              minimum: 1,
              maximum: LIMITS.maxRoomsPage,
              default: LIMITS.defaultRoomsPage,
              description: `Rooms per page, 1 to ${LIMITS.maxRoomsPage}.`,
            },
          },
        },
        response: responses({
          200: success(
            "A page of rooms, and the cursor of the next one while there may be more.",
            {
              rooms: { type: "array", items: { $ref: "RoomSummary#" } },
              nextCursor: { type: "string", description: "Send it as `cursor` for the next page." },
            },
            ["nextCursor"],
          ),
        }),
      },
    },
    async (request) => {
      const { cursor, limit = LIMITS.defaultRoomsPage } = validate.rooms({ ...request.query });
      const page = await presence.listRooms({ cursor, limit });
      return { ok: true, ...page };
    },
  );

  app.get<{ Params: { room: string }; Querystring: { limit?: number } }>(
    "/rooms/:room/members",
    {
      config: { scope: "read" },
      schema: {
        operationId: "getRoomMembers",
        tags: ["rooms"],
        summary: "List a room's members",
        description:
          "Up to `limit` members, sorted, and how many there are in all, cluster-wide (a larger room " +
          "answers `limit` of them: which ones is unspecified). Scope: read.",
        params: { type: "object", required: ["room"], properties: { room: roomName } },
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            limit: {
              type: "integer",
              minimum: 1,
              maximum: MEMBERS_PAGE.max,
              default: MEMBERS_PAGE.default,
              description: `Members listed, 1 to ${MEMBERS_PAGE.max}.`,
            },
          },
        },
        response: responses({
          200: success("Members, and the count of them all.", {
            members: { type: "array", items: { type: "string" } },
            count: { type: "integer", description: "Distinct users in the room." },
          }),
        }),
      },
    },
    async (request) => {
      const room = nameOf(request.params.room, "room");
      const { members, count } = await presence.membersOf(room, request.query.limit ?? MEMBERS_PAGE.default);
      return { ok: true, members, count };
    },
  );
}
