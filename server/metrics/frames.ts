import type { ChatServer } from "../chat/chat.js";
import type { Tallies } from "./tallies.js";

interface EnginePacket {
  type: string;
}

/**
 * Counts the Socket.IO packets written to clients (engine.io "message" packets: events, acks),
 * from engine.io's server-wide "flush" event, which it emits anyway with every batch it writes
 * to a connection. One listener for the whole server, called once per batch, is cheaper than a
 * "packetCreate" listener on every connection, called once per packet (bench/metrics-hooks.ts).
 */
export function countFramesDelivered(io: ChatServer, tallies: Tallies): void {
  io.engine.on("flush", (_connection: unknown, packets: readonly EnginePacket[]) => {
    let messages = 0;
    for (let index = 0; index < packets.length; index += 1) {
      if (packets[index]!.type === "message") messages += 1;
    }
    tallies.framesDelivered += messages;
  });
}
