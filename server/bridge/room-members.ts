import type { Adapter, BroadcastOptions, Room } from "socket.io-adapter";

/** A Socket.IO packet as the adapter broadcasts it: for an event, `data` is `[event, payload]`. */
export interface BroadcastPacket {
  type: number;
  data?: unknown[];
}

/** A member of Socket.IO rooms that is not a Socket.IO socket (a bridge connection). */
export interface VirtualMember {
  /** Unique on this node; never a room name (rooms are `r:`/`u:` prefixed) nor 20 characters long. */
  readonly id: string;
  /** A packet broadcast to one of its rooms, emitted on this node or relayed from another. */
  receive(packet: BroadcastPacket): void;
  /** `disconnectSockets` reached it (for example its name was just claimed): close it. */
  disconnect(): void;
}

/** What the adapter calls on each socket it selects (see socket.io-adapter's `broadcast`, `apply`). */
interface StandIn {
  id: string;
  notifyOutgoingListeners(packet: BroadcastPacket): void;
  client: { writeToEngine(): void };
  acks: Map<number, unknown>;
  disconnect(): void;
  join(): void;
  leave(): void;
  rooms: Set<Room>;
  data: Record<string, never>;
  handshake: Record<string, never>;
}

type Apply = (opts: BroadcastOptions, callback: (socket: StandIn) => void) => void;

/**
 * Makes virtual members full members of a namespace's rooms, on one node and across a cluster.
 *
 * A member is added to the adapter's rooms under its own id, exactly as a socket is, so the adapter
 * does what it does for a socket: the sharded Redis adapter subscribes this node to the room's
 * channel on the room's first member, and unsubscribes after its last. Broadcasts, local or
 * relayed from another node, go through the adapter's `apply`, which finds sockets by id in the
 * namespace; it finds nothing for a virtual member, so `apply` is extended to hand it a stand-in
 * whose `notifyOutgoingListeners` (called with the packet before it is written) delivers to it.
 */
export class VirtualMembers {
  private readonly members = new Map<string, VirtualMember>();
  private readonly adapter: Adapter;

  constructor(adapter: Adapter) {
    this.adapter = adapter;
    const internals = adapter as unknown as { apply: Apply };
    const apply: Apply = internals.apply.bind(adapter);
    internals.apply = (opts, callback) => {
      apply(opts, callback);
      if (this.members.size > 0) for (const member of this.selected(opts)) callback(standIn(member));
    };
  }

  /** Adds `member` to `rooms` (Socket.IO room names); once the promise resolves, it is in them. */
  async add(member: VirtualMember, rooms: Room[]): Promise<void> {
    this.members.set(member.id, member);
    await this.adapter.addAll(member.id, new Set(rooms));
  }

  /** Takes `member` out of every room. */
  remove(member: VirtualMember): void {
    this.adapter.delAll(member.id);
    this.members.delete(member.id);
  }

  /** The members a broadcast reaches, as the adapter selects sockets: in a room of `rooms` (all when none), in no room of `except`. */
  private selected(opts: BroadcastOptions): VirtualMember[] {
    const { rooms } = this.adapter;
    const excluded = (id: string) => [...(opts.except ?? [])].some((room) => rooms.get(room)?.has(id) === true);
    const found = new Map<string, VirtualMember>();
    if (opts.rooms.size === 0) {
      for (const member of this.members.values()) found.set(member.id, member);
    } else {
      for (const room of opts.rooms) {
        for (const id of rooms.get(room) ?? []) {
          const member = this.members.get(id);
          if (member) found.set(id, member);
        }
      }
    }
    return [...found.values()].filter((member) => !excluded(member.id));
  }
}

/** What the adapter's operations call on a socket, delivered to a virtual member. */
function standIn(member: VirtualMember): StandIn {
  return {
    id: member.id,
    notifyOutgoingListeners: (packet) => member.receive(packet),
    // The packet was delivered by notifyOutgoingListeners; there is no engine.io connection.
    client: { writeToEngine: () => {} },
    // A broadcast that expects acks gets none from a member that cannot answer.
    acks: new Map(),
    disconnect: () => member.disconnect(),
    join: () => {},
    leave: () => {},
    rooms: new Set(),
    data: {},
    handshake: {},
  };
}
