import { LIMITS, type RoomPresence, type RoomPresenceBatch } from "../../protocol/index.js";
import type { ChatServer } from "./chat.js";
import { roomChannel } from "./rooms.js";

export interface PresenceAnnouncerOptions {
  /** Rooms with more members than this hear joins and leaves in batches (PRESENCE_BATCH_ABOVE). */
  batchAbove: number;
  /** How long the first event of a batch waits for others (PRESENCE_BATCH_MS). */
  batchMs: number;
}

/**
 * Tells a room's members, on every node, who joined and who left. A room hears each event at
 * once (`room:presence`) until it holds more than `batchAbove` members. Past that, one event per
 * join would cost members² deliveries while the room fills (2 million for 2,000 members), so this
 * node gathers the room's events for up to `batchMs`, or until `LIMITS.maxPresenceBatch`, and
 * sends them in one `room:presence:batch`. While a room has a batch waiting, its later events
 * join the batch even if the room shrank, so that its members hear this node's events in order.
 */
export class PresenceAnnouncer {
  private readonly waiting = new Map<string, RoomPresenceBatch["events"]>();
  private timer: NodeJS.Timeout | undefined;

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
    if (batch === undefined) this.waiting.set(room, [event]);
    else batch.push(event);
    if ((batch?.length ?? 1) >= LIMITS.maxPresenceBatch) this.send(room);
    else this.timer ??= setTimeout(() => this.flush(), this.options.batchMs).unref();
  }

  /** Sends every batch now (at shutdown, so that no event is left behind). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const room of [...this.waiting.keys()]) this.send(room);
  }

  private send(room: string): void {
    const events = this.waiting.get(room);
    if (events === undefined) return;
    this.waiting.delete(room);
    this.io.to(roomChannel(room)).emit("room:presence:batch", { room, events });
  }
}
