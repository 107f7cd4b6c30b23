import { ErrorCode } from "../../protocol/index.js";
import { CodedError } from "../errors.js";
import type { Ban } from "./moderation.js";

/**
 * What a banned user is told: why, and until when. `who` names them: "you are" to the user, or
 * "<user> is" to a backend that speaks for them.
 */
export const banMessage = (ban: Ban, who = "you are"): string =>
  `${who} banned until ${new Date(ban.until).toISOString()}: ${ban.reason}`;

/** The refusal of a banned user (a handshake, or a backend sending as them): `forbidden`, with `until`. */
export const bannedError = (ban: Ban, who?: string): CodedError =>
  new CodedError(ErrorCode.Forbidden, banMessage(ban, who), { until: ban.until });

/** The refusal of a send by a user muted in `room`: `forbidden`, with `until`. */
export const mutedError = (room: string, until: number): CodedError =>
  new CodedError(ErrorCode.Forbidden, `you are muted in "${room}" until ${new Date(until).toISOString()}`, { until });
