import type { IncomingMessage } from "node:http";
import { checkName } from "../../protocol/index.js";
import { roomAllowed } from "../auth/room-access.js";
import { banMessage } from "../moderation/refusals.js";
import { connectionGate } from "../limits/connection-gate.js";
import { nodeFullError, type ReleasePlace } from "../limits/node-capacity.js";
import type { AdmissionRules } from "../chat/admission.js";
import { BridgeRefusal } from "./refusal.js";
import { parseSeedPath } from "./seed-path.js";

export interface BridgeAdmissionOptions extends AdmissionRules {
  /** The Origin allow-list shared with Socket.IO. */
  originAllowed: (req: IncomingMessage) => boolean;
  /** While true, the node is shutting down and admits no one. */
  refusing: () => boolean;
}

/** A bridge client admitted to the chat, counted online; `release` undoes it if it never opens. */
export interface BridgeAdmitted {
  room: string;
  user: string;
  /** Token mode: the token proved the user (the name's claim is kept alive when it leaves). */
  proven: boolean;
  /** Token mode: when the token expires (epoch ms). */
  expiresAt?: number;
  /** The address counted for it ("" when per-address counting is off). */
  address: string;
  /** Gives back its place on the node (MAX_CONNECTIONS), once. */
  releasePlace: ReleasePlace;
}

/**
 * Admits a bridge upgrade under the rules every Socket.IO handshake follows, before the WebSocket
 * opens, so that a refusal is an HTTP status with a reason: a place on the node (503 when it is
 * full), the path's names, the Origin
 * allow-list, the per-address limits, who the user is (token mode: `?token=`, whose `sub` must be
 * the path's user and whose `rooms` must allow the room; open mode: a name nobody claimed, since
 * the original protocol has no key to prove a claim), the user's socket cap, and the join limit.
 */
export function bridgeAdmission(options: BridgeAdmissionOptions) {
  const { presence, claims, tokens, limits } = options;
  const gate = connectionGate(limits, options.addressSockets, options.log);

  async function identify(room: string, user: string, token: string | undefined) {
    if (!tokens) {
      if ((await claims.check(user, undefined)) === "taken") {
        throw new BridgeRefusal(409, "that name is taken: it was claimed with a key, which this protocol cannot send");
      }
      return { proven: false };
    }
    if (token === undefined || token === "") throw new BridgeRefusal(401, "this server needs a token (?token=)");
    const verified = await tokens.verify(token);
    const subject = checkName(verified.subject, "user");
    if (!subject.ok) throw new BridgeRefusal(401, `the token's sub is not a valid user name: ${subject.reason}`);
    if (subject.name !== user) throw new BridgeRefusal(403, "the token is for another user than the path's");
    if ((await claims.reserve(user)) === "taken") {
      throw new BridgeRefusal(401, "the token's sub looks like another user's name");
    }
    if (!roomAllowed(verified.rooms, room)) throw new BridgeRefusal(403, `your token does not allow room "${room}"`);
    return { proven: true, expiresAt: verified.expiresAt };
  }

  return {
    /**
     * Checks an upgrade request and counts the client online.
     *
     * @throws BridgeRefusal, or a CodedError (a limit, a bad token, a store that is down).
     */
    async admit(req: IncomingMessage): Promise<BridgeAdmitted> {
      if (options.refusing()) throw new BridgeRefusal(503, "this node is shutting down, connect again");
      const releasePlace = options.capacity.enter();
      if (!releasePlace) throw new BridgeRefusal(503, nodeFullError(options.capacity.max).message);
      try {
        const { room, user, token } = parseSeedPath(req.url ?? "");
        if (!options.originAllowed(req)) throw new BridgeRefusal(403, "this page's origin may not open a socket here");
        const address = await gate.enterAddress(options.addressOf(req));
        try {
          const identity = await identify(room, user, token);
          const ban = await options.moderation.banOf(user);
          if (ban) throw new BridgeRefusal(403, banMessage(ban));
          await gate.enterUser(presence, user);
          try {
            await limits.joins.take(user);
          } catch (error) {
            await presence.userDisconnected(user).catch(() => undefined);
            throw error;
          }
          return { room, user, address, releasePlace, ...identity };
        } catch (error) {
          await gate.leaveAddress(address);
          throw error;
        }
      } catch (error) {
        releasePlace();
        throw error;
      }
    },
    /** Undoes `admit` for a client that never opened, or the counts of one that closed. */
    async release(admitted: BridgeAdmitted): Promise<void> {
      // The socket is closed (or never opened): its place is free now, whatever the stores answer.
      admitted.releasePlace();
      try {
        await presence.userDisconnected(admitted.user);
        // A name stays claimed for a full period after its last connection.
        if (admitted.proven) await claims.touch(admitted.user);
      } finally {
        await gate.leaveAddress(admitted.address);
      }
    },
  };
}

export type BridgeAdmission = ReturnType<typeof bridgeAdmission>;
