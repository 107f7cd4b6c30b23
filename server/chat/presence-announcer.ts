import { LIMITS, type RoomPresence, type RoomPresenceBatch } from "../../protocol/index.js";
import type { ChatServer } from "./chat.js";
import { roomChannel } from "./rooms.js";

export interface PresenceAnnouncerOptions {
  /** Rooms with more members than this hear joins and leaves in batches (PRESENCE_BATCH_ABOVE). */
  batchAbove: number;
  /** The longest a batch waits before it is sent (PRESENCE_BATCH_MS). */
  batchMs: number;
}

/**
 * Tells a room's members, on every node, who joined and who left: the one way this node's joins
 * and leaves go out, from Socket.IO and the seed bridge alike.
 *
 * A room hears each event at once (`room:presence`) while it holds at most `batchAbove` members.
 * Past that, one event per join would cost members² deliveries while the room fills (2 million
 * for 2,000 members), so this node gathers the room's events and sends them together in a
 * `room:presence:batch`: when the batch holds `LIMITS.maxPresenceBatch` events, or at the latest
 * `batchMs` after the first event any room gathered since the last sending. While a room has a
 * batch waiting, its later events join that batch even if the room shrank, so that its members
 * hear this node's events in order. Once closed, every event goes out at once.
 */
export class PresenceAnnouncer {
  private readonly waiting = new Map<string, RoomPresenceBatch["events"]>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly io: ChatServer,
    private readonly options: PresenceAnnouncerOptions,
  ) {}

  announce(presence: RoomPresence): void {
    const { room, ...event } = presence;
    const batch = this.waiting.get(room);
    if (batch === undefined && presence.members <= this.options.batchAbove) {
      this.io.to(roomChannel(room)).emit("room:presence", presence);
      return;
    }
    const events = batch ?? [];
    if (batch === undefined) this.waiting.set(room, events);
    events.push(event);
    if (this.closed || events.length >= LIMITS.maxPresenceBatch) this.send(room);
    else this.timer ??= setTimeout(() => this.flush(), this.options.batchMs).unref();
  }

  /** Sends every waiting batch now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const room of [...this.waiting.keys()]) this.send(room);
  }

  /**
   * Sends every waiting batch, and from now on each event at once: at shutdown, after the node's
   * sockets have left and before Socket.IO's adapter closes, so that no event is left behind.
   */
  close(): void {
    this.closed = true;
    this.flush();
  }

  private send(room: string): void {
    const events = this.waiting.get(room);
    if (events === undefined) return;
    this.waiting.delete(room);
    this.io.to(roomChannel(room)).emit("room:presence:batch", { room, events });
  }
}
