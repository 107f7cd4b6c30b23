import type { ChatServer } from "../chat/chat.js";
import type { RoomPublisher } from "../chat/room-publisher.js";
import { roomChannel, roomLog } from "../chat/rooms.js";
import type { Publication, RedisHistory } from "../history/redis.js";
import type { Tallies } from "../metrics/tallies.js";
import { mutedError } from "../moderation/refusals.js";

/** socket.io-adapter's MessageType.BROADCAST and socket.io-parser's PacketType.EVENT. */
const ADAPTER_BROADCAST = 3;
const EVENT_PACKET = 2;
/** The envelope's sender: not the uid of any adapter (those are random hex), so every node takes it. */
const PUBLISHER_UID = "roomcast-script";
/** Stands for the message in the adapter's envelope; a NUL never occurs in JSON text otherwise. */
const MESSAGE_SLOT = "\u0000message";
/** The slot as JSON.stringify writes it, where the envelope is split. */
const MESSAGE_SLOT_JSON = JSON.stringify(MESSAGE_SLOT);

export interface ScriptedPublisherOptions {
  io: ChatServer;
  history: RedisHistory;
  /** The sharded adapter's channel for a Socket.IO room. */
  adapterChannel: (socketRoom: string) => string;
  /** The key of a user's mute in a room, in the slot of the room's log (`RedisKeys.mute`). */
  muteKey: (room: string, user: string) => string;
  /** Counts a stored room message (`roomMessages`) and a publish (`adapterPublished`). */
  tallies?: { appends?: Tallies | undefined; metrics?: Tallies | undefined };
}

/**
 * Cluster mode's room publisher: one Redis script checks that the sender is not muted in the room,
 * appends the message to the room's Stream and SPUBLISHes it, in the envelope the sharded
 * adapter's other nodes decode, to the room's channel (same slot: see `roomChannel`). A message
 * costs one round trip instead of three, and a mute takes effect between two messages exactly as
 * Redis ordered them. Every node, this one included, delivers it from the room's subscription:
 * the envelope names no node's adapter as its sender (`PUBLISHER_UID`), so none drops it as its
 * own, and every member on every node gets a room's messages in id order, as Redis ran the scripts.
 */
export function scriptedRoomPublisher({
  io,
  history,
  adapterChannel,
  muteKey,
  tallies,
}: ScriptedPublisherOptions): RoomPublisher {
  const namespace = io.of("/");
  function publication(room: string, socketRoom: string, from: string, text: string): Publication {
    // The adapter's broadcast envelope, split where the message goes.
    const [before = "", after = ""] = JSON.stringify({
      uid: PUBLISHER_UID,
      nsp: namespace.name,
      type: ADAPTER_BROADCAST,
      data: {
        packet: { type: EVENT_PACKET, data: ["room:message", MESSAGE_SLOT] },
        opts: { rooms: [socketRoom], except: [], flags: {} },
      },
    }).split(MESSAGE_SLOT_JSON);
    return {
      channel: adapterChannel(socketRoom),
      // The script adds `,"id":…,"ts":…,"prev":…` after the last field.
      head: before + JSON.stringify({ room, from, text }).slice(0, -1),
      tail: "}" + after,
    };
  }

  return {
    async publish(room, entry) {
      const socketRoom = roomChannel(room);
      const appended = await history.appendAndPublish(
        roomLog(room),
        entry,
        publication(room, socketRoom, entry.from, entry.text),
        muteKey(room, entry.from),
      );
      if ("guardedBy" in appended) throw mutedError(room, Number(appended.guardedBy));
      const { message: stored, duplicate } = appended;
      const message = { ...stored, room };
      if (!duplicate) {
        if (tallies?.appends) tallies.appends.roomMessages += 1;
        if (tallies?.metrics) tallies.metrics.adapterPublished += 1;
      }
      return { message, duplicate };
    },
  };
}
