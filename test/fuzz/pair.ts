/**
 * The well-behaved pair: two real Socket.IO clients that keep chatting across two nodes during the
 * campaign, to show that the fuzz frames cost other users nothing (no loss, no duplicate, no reorder).
 */
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "../../protocol/index.js";
import { within } from "../../server/dev/deadline.js";
import type { Transport } from "./wire.js";

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Time between two messages of the pair (each member sends every other one). */
const PAIR_INTERVAL_MS = 50;

interface Member {
  user: string;
  socket: ChatSocket;
  /** Ids of this member's messages that the server acknowledged. */
  acked: string[];
  /** Ids of the peer's messages, as they arrived. */
  received: string[];
  disconnects: string[];
}

export interface PairReport {
  /** Messages the server acknowledged, both members together. */
  messages: number;
  /** Acknowledged by the server, never received by the peer. */
  lost: number;
  duplicates: number;
  outOfOrder: number;
  /** Sends that got no ok ack (an error code, or no ack in time). */
  sendFailures: number;
  disconnects: number;
}

/**
 * Two users on different nodes (one over WebSocket, one over polling) in one room, sending in
 * turn at a steady pace, each message with a clientId.
 */
export class WellBehavedPair {
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<void>>();
  private sendFailures = 0;
  private sent = 0;

  private constructor(
    private readonly room: string,
    private readonly members: [Member, Member],
  ) {}

  static async start(urls: readonly string[], seed: number): Promise<WellBehavedPair> {
    const room = `pair-${seed}`;
    const connect = async (user: string, url: string, transport: Transport): Promise<Member> => {
      const socket: ChatSocket = io(url, {
        auth: { user },
        transports: [transport],
        reconnection: false,
        forceNew: true,
      });
      const member: Member = { user, socket, acked: [], received: [], disconnects: [] };
      await within(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("connect_error", reject);
        }),
        `${user} to connect`,
      );
      socket.on("disconnect", (reason) => member.disconnects.push(reason));
      const joined = await within(socket.timeout(10_000).emitWithAck("room:join", { room }), `${user} to join`);
      if (!joined.ok) throw new Error(`${user} could not join ${room}: ${joined.error.code}`);
      return member;
    };
    const a = await connect(`pair-a-${seed}`, urls[0]!, "websocket");
    const b = await connect(`pair-b-${seed}`, urls[1 % urls.length]!, "polling");
    for (const [member, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      member.socket.on("room:message", (message) => {
        if (message.room === room && message.from === peer.user) member.received.push(message.id);
      });
    }
    const pair = new WellBehavedPair(room, [a, b]);
    pair.timer = setInterval(() => pair.sendNext(), PAIR_INTERVAL_MS);
    return pair;
  }

  private sendNext(): void {
    const member = this.members[this.sent % 2]!;
    const n = (this.sent += 1);
    const request = { room: this.room, text: `message ${n}`, clientId: `${member.user}-${n}` };
    const sending = member.socket
      .timeout(30_000)
      .emitWithAck("room:send", request)
      .then(
        (answer) => (answer.ok ? void member.acked.push(answer.message.id) : void (this.sendFailures += 1)),
        () => void (this.sendFailures += 1),
      )
      .finally(() => this.sending.delete(sending));
    this.sending.add(sending);
  }

  /** Stops sending, waits until each member got every acknowledged message of the other, and checks. */
  async stop(): Promise<PairReport> {
    clearInterval(this.timer);
    await Promise.all([...this.sending]);
    const [a, b] = this.members;
    const complete = () =>
      [
        [a, b],
        [b, a],
      ].every(([member, peer]) => {
        const received = new Set(member!.received);
        return peer!.acked.every((id) => received.has(id));
      });
    await within(
      new Promise<void>((resolve) => {
        const check = () => {
          if (!complete()) return;
          for (const member of this.members) member.socket.off("room:message", check);
          resolve();
        };
        for (const member of this.members) member.socket.on("room:message", check);
        check();
      }),
      "the pair to receive every acknowledged message",
      15_000,
    ).catch(() => undefined);
    let lost = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    for (const [member, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const received = new Set(member.received);
      lost += peer.acked.filter((id) => !received.has(id)).length;
      duplicates += member.received.length - received.size;
      outOfOrder += member.received.filter((id, k) => k > 0 && id <= member.received[k - 1]!).length;
    }
    return {
      messages: a.acked.length + b.acked.length,
      lost,
      duplicates,
      outOfOrder,
      sendFailures: this.sendFailures,
      disconnects: a.disconnects.length + b.disconnects.length,
    };
  }

  close(): void {
    for (const member of this.members) member.socket.disconnect();
  }
}
