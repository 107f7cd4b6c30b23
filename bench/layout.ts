import type { FloodSender } from "./load/messages.js";

/** Who connects where, who joins what, and who sends: the shape of a scenario's load. */
export interface Layout {
  /** Server processes the scenario asks for. */
  nodes: number;
  clients: Array<{ user: string; node: number; rooms: string[] }>;
  senders: Array<{ client: number; room: string }>;
  /** Members of each room, for the deliveries each message should make (the sender gets its own). */
  roomSizes: Record<string, number>;
  /** Rooms whose latency is also reported apart, by group name (scenario 7: near the flooder, elsewhere). */
  latencyGroups?: Record<string, string>;
}

const user = (index: number) => `u${index}`;

function sizes(clients: Layout["clients"]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const client of clients) for (const room of client.rooms) result[room] = (result[room] ?? 0) + 1;
  return result;
}

/** One room that every client joins, the clients spread evenly over the nodes; `senders` of them send. */
export function hotRoom(nodes: number, clients: number, senders: number): Layout {
  const list = Array.from({ length: clients }, (_, index) => ({
    user: user(index),
    node: index % nodes,
    rooms: ["hot"],
  }));
  return {
    nodes,
    clients: list,
    senders: Array.from({ length: Math.min(senders, clients) }, (_, index) => ({ client: index, room: "hot" })),
    roomSizes: sizes(list),
  };
}

/**
 * `rooms` rooms of `members` clients, one sender each. `placement` puts member j of room r on a
 * node: `held`, every member on node r mod nodes (each room held by one node); `spread`, member j on
 * node (r + j) mod nodes (every room on every node).
 */
export function manyRooms(nodes: number, rooms: number, members: number, placement: "held" | "spread"): Layout {
  const list: Layout["clients"] = [];
  const senders: Layout["senders"] = [];
  for (let r = 0; r < rooms; r++) {
    const room = `room-${r}`;
    senders.push({ client: list.length, room });
    for (let j = 0; j < members; j++) {
      const node = placement === "held" ? r % nodes : (r + j) % nodes;
      list.push({ user: user(list.length), node, rooms: [room] });
    }
  }
  return { nodes, clients: list, senders, roomSizes: sizes(list) };
}

/** `connections` idle clients on one node, in rooms of `roomSize`, nobody sending. */
export function idle(connections: number, roomSize: number): Layout {
  const list = Array.from({ length: connections }, (_, index) => ({
    user: user(index),
    node: 0,
    rooms: [`room-${Math.floor(index / roomSize)}`],
  }));
  return { nodes: 1, clients: list, senders: [], roomSizes: sizes(list) };
}

/** The latency groups of scenario 7: the room the flooder floods, and the rooms it never touches. */
export const FLOODED_ROOM = "flooded-room";
export const OTHER_ROOMS = "other-rooms";

/**
 * Scenario 7's well-behaved users: `rooms` rooms of `members`, member j of room r on node
 * (r + j) mod nodes, every one of them sending to its room. Room 0 is the one the flooder will share
 * (latency group FLOODED_ROOM), the others are OTHER_ROOMS.
 */
export function everyoneTalks(nodes: number, rooms: number, members: number): Layout {
  const list: Layout["clients"] = [];
  const latencyGroups: Record<string, string> = {};
  for (let r = 0; r < rooms; r++) {
    const room = `room-${r}`;
    latencyGroups[room] = r === 0 ? FLOODED_ROOM : OTHER_ROOMS;
    for (let j = 0; j < members; j++) list.push({ user: user(list.length), node: (r + j) % nodes, rooms: [room] });
  }
  const senders = list.map((client, index) => ({ client: index, room: client.rooms[0]! }));
  return { nodes, clients: list, senders, roomSizes: sizes(list), latencyGroups };
}

/** One user with many sockets, and what each of them sends. */
export interface FlooderLayout {
  user: string;
  clients: Layout["clients"];
  senders: FloodSender[];
}

/**
 * Scenario 7's flooder: one user on `sockets` sockets, socket i on node i mod nodes. Pairs of
 * sockets take turns: one pair sends to `room` (and joins it), the next sends direct messages to
 * `victim`, so that both kinds leave from every node.
 */
export function flooder(nodes: number, sockets: number, room: string, victim: string): FlooderLayout {
  const name = "flooder";
  const clients: Layout["clients"] = [];
  const senders: FloodSender[] = [];
  for (let i = 0; i < sockets; i++) {
    const toRoom = Math.floor(i / nodes) % 2 === 0;
    clients.push({ user: name, node: i % nodes, rooms: toRoom ? [room] : [] });
    senders.push(toRoom ? { client: i, room } : { client: i, to: victim });
  }
  return { user: name, clients, senders };
}
