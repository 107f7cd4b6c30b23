import { ErrorCode } from "../../protocol/index.js";
import { CodedError } from "../errors.js";
import type { Ban } from "./moderation.js";

/** What a banned user is told: why, and until when. */
export const banMessage = (ban: Ban): string =>
  `you are banned until ${new Date(ban.until).toISOString()}: ${ban.reason}`;

/** The refusal of a banned user's handshake: `forbidden`, with the reason and `until`. */
export const bannedError = (ban: Ban): CodedError =>
  new CodedError(ErrorCode.Forbidden, banMessage(ban), { until: ban.until });

/** The refusal of a send by a user muted in `room`: `forbidden`, with `until`. */
export const mutedError = (room: string, until: number): CodedError =>
  new CodedError(ErrorCode.Forbidden, `you are muted in "${room}" until ${new Date(until).toISOString()}`, { until });
