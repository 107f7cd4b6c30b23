import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { RawData, WebSocket } from "ws";
import { ErrorCode } from "../../protocol/index.js";
import type { roomSender } from "../chat/chat.js";
import type { PresenceAnnouncer } from "../chat/presence-announcer.js";
import { roomChannel, userChannel } from "../chat/rooms.js";
import type { Validators } from "../chat/validate.js";
import { CodedError } from "../errors.js";
import type { Presence } from "../presence/presence.js";
import type { BridgeAdmission, BridgeAdmitted } from "./admission.js";
import type { BroadcastPacket, VirtualMember, VirtualMembers } from "./room-members.js";
import { SEED_WELCOME, type seedFrames } from "./seed-frames.js";

/** WebSocket close codes the bridge uses (RFC 6455 §7.4.1). */
export const CloseCode = {
  /** The node is shutting down: connect again (to another node). */
  GoingAway: 1001,
  /** A binary frame: the protocol is text only. */
  Unsupported: 1003,
  /** A send was refused (a rate limit, an empty message, an expired token...): the reason says why. */
  PolicyViolation: 1008,
  /** A message over MAX_MESSAGE_LENGTH. */
  TooBig: 1009,
  /** The server failed, or a store is down: try again. */
  ServerError: 1011,
} as const;

/** A close reason may hold 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;

function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > MAX_REASON_BYTES) reason = [...reason].slice(0, -1).join("");
  return reason;
}

/** setTimeout's longest delay; a token that lives longer is checked again then. */
const MAX_TIMER_MS = 2_147_483_647;

export interface BridgeConnectionOptions {
  presence: Presence;
  /** Tells rooms who joined and who left, shared with Socket.IO. */
  announcer: PresenceAnnouncer;
  members: VirtualMembers;
  admission: BridgeAdmission;
  sendToRoom: ReturnType<typeof roomSender>;
  validate: Validators;
  frames: ReturnType<typeof seedFrames>;
  /** Resolves once this node receives broadcasts to a Socket.IO room. */
  subscribed: (channel: string) => Promise<void>;
  storesUp: () => boolean;
  maxMessageLength: number;
  /** Bytes that may wait to be written to the client before it is dropped (CLIENT_QUEUE_BYTES). */
  maxQueuedBytes: number;
  /** Frames received and not handled yet before the client is dropped (PENDING_REQUESTS_PER_SOCKET). */
  maxPendingFrames: number;
  log: FastifyBaseLogger;
}

/**
 * One client of the original demo's protocol, a full member of its room: counted in presence with
 * join and leave events, its text frames sent through the same path as `room:send`, and every
 * message and notice of the room (from any node) written to it as the demo's JSON.
 *
 * Everything it does to the stores runs one step at a time, so its leave never overtakes its join
 * and no frame is handled before it is in the room.
 */
export class BridgeConnection implements VirtualMember {
  readonly id = `bridge:${randomBytes(9).toString("base64url")}`;
  /** Resolves once the connection has left the room and its counts are released. */
  readonly ended: Promise<void>;
  private steps: Promise<unknown> = Promise.resolve();
  private pendingFrames = 0;
  private inRoom = false;
  /** The server closed the connection for a refusal: frames not handled yet are not sent. */
  private refused = false;
  private expiry: NodeJS.Timeout | undefined;
  private markEnded!: () => void;

  constructor(
    private readonly ws: WebSocket,
    private readonly admitted: BridgeAdmitted,
    private readonly options: BridgeConnectionOptions,
  ) {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    ws.on("message", (data, isBinary) => this.onFrame(data, isBinary));
    ws.on("error", (error) => options.log.debug({ err: error, connection: this.id }, "bridge socket error"));
    ws.once("close", () => this.leave());
    this.serially(() => this.join()).catch((error: unknown) => this.fail(error, "could not join the room"));
    if (admitted.expiresAt !== undefined) this.expireAt(admitted.expiresAt);
  }

  /**
   * Closes the connection with 1001 "going away", as at shutdown. Resolves once it has left its
   * room and its socket is closed: at the client's answer, or cut after `graceMs` without one.
   */
  async goAway(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (this.ws.readyState === this.ws.CLOSED) resolve();
      else this.ws.once("close", () => resolve());
    });
    this.close(CloseCode.GoingAway, "going away");
    const cut = setTimeout(() => this.ws.terminate(), graceMs);
    await Promise.all([this.ended, closed]).finally(() => clearTimeout(cut));
  }

  /** Writes a broadcast of its room to the client, in the demo's shape, when the demo had one. */
  receive(packet: BroadcastPacket): void {
    const [event, payload] = packet.data ?? [];
    const frame = this.options.frames.fromEvent(event, payload, this.admitted.room);
    if (frame === undefined || this.ws.readyState !== this.ws.OPEN) return;
    this.write(frame);
  }

  disconnect(): void {
    this.close(CloseCode.PolicyViolation, "disconnected by the server");
  }

  private write(frame: string): void {
    if (this.ws.bufferedAmount > this.options.maxQueuedBytes) {
      this.options.log.warn(
        { connection: this.id, user: this.admitted.user },
        "dropped a bridge client over CLIENT_QUEUE_BYTES",
      );
      this.ws.terminate();
      return;
    }
    this.ws.send(frame);
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const result = this.steps.then(step);
    this.steps = result.catch(() => undefined);
    return result;
  }

  private async join(): Promise<void> {
    const { presence, announcer, members, subscribed } = this.options;
    const { room, user } = this.admitted;
    if (this.ws.readyState !== this.ws.OPEN) return;
    // The user room has no channel of its own: kicks and claims reach it through the adapter's main channel.
    await members.add(this, [roomChannel(room), userChannel(user)]);
    await subscribed(roomChannel(room));
    const { firstInRoom, members: count } = await presence.joinedRoom(room, user);
    this.inRoom = true;
    if (firstInRoom) announcer.announce({ room, user, event: "join", members: count });
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(SEED_WELCOME);
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (isBinary) return this.close(CloseCode.Unsupported, "binary frames are not accepted: send text");
    const text = (
      Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    ).toString("utf8");
    const { maxMessageLength, maxPendingFrames } = this.options;
    if (text.length > maxMessageLength) {
      return this.close(CloseCode.TooBig, `a message may be ${maxMessageLength} characters at most`);
    }
    if (this.pendingFrames >= maxPendingFrames) {
      return this.close(CloseCode.PolicyViolation, "too many messages waiting: wait for your own to come back");
    }
    this.pendingFrames += 1;
    this.serially(async () => {
      // After a failed join or a refused send the client is being closed, and told why.
      if (!this.inRoom || this.refused) return;
      const request = this.options.validate.send({ room: this.admitted.room, text });
      await this.options.sendToRoom(this.admitted.user, request);
    })
      .catch((error: unknown) => this.refuseSend(error))
      .finally(() => (this.pendingFrames -= 1));
  }

  /** A refused send closes the connection with the reason: the protocol has no other way to say it. */
  private refuseSend(error: unknown): void {
    if (error instanceof CodedError) {
      const code = error.code === ErrorCode.TooLong ? CloseCode.TooBig : CloseCode.PolicyViolation;
      return this.close(code, `${error.code}: ${error.message}`);
    }
    this.fail(error, "could not send a message");
  }

  private fail(error: unknown, what: string): void {
    if (this.options.storesUp()) {
      this.options.log.error({ err: error, connection: this.id, user: this.admitted.user }, what);
      return this.close(CloseCode.ServerError, "internal error, try again");
    }
    this.close(CloseCode.ServerError, "the chat store is unavailable, try again");
  }

  private close(code: number, reason: string): void {
    if (code !== CloseCode.GoingAway) this.refused = true;
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(code, closeReason(reason));
    }
    // Whatever the client does with the close handshake, it is no member from now on.
    this.leave();
  }

  private expireAt(expiresAt: number): void {
    const delay = expiresAt - Date.now();
    this.expiry = setTimeout(
      () => (delay > MAX_TIMER_MS ? this.expireAt(expiresAt) : this.close(CloseCode.PolicyViolation, "token expired")),
      Math.max(0, Math.min(delay, MAX_TIMER_MS)),
    );
    this.expiry.unref();
  }

  private leaving = false;

  /** Leaves the room and releases the counts, once, after whatever join or send is under way. */
  private leave(): void {
    if (this.leaving) return;
    this.leaving = true;
    clearTimeout(this.expiry);
    const { presence, announcer, members, admission, log } = this.options;
    const { room, user } = this.admitted;
    this.serially(async () => {
      members.remove(this);
      try {
        if (this.inRoom) {
          this.inRoom = false;
          const { lastInRoom, members: count } = await presence.leftRoom(room, user);
          if (lastInRoom) announcer.announce({ room, user, event: "leave", members: count });
        }
      } finally {
        await admission.release(this.admitted);
      }
    })
      .catch((error: unknown) =>
        log.warn({ err: error, connection: this.id }, "could not unregister a bridge connection"),
      )
      .finally(() => this.markEnded());
  }
}
