/** Waiting on a `ChatClient`'s events, with a deadline (never a sleep). */
import type { ChatClient, ChatClientEvents } from "../../client/sdk/index.js";
import { DEADLINE_MS, within } from "./clients.js";

/** Resolves with the next `event` of `client` that satisfies `match`. Start it before the cause. */
export function nextEvent<K extends keyof ChatClientEvents>(
  client: ChatClient,
  event: K,
  match: (payload: ChatClientEvents[K]) => boolean = () => true,
): Promise<ChatClientEvents[K]> {
  let stop = () => {};
  const seen = new Promise<ChatClientEvents[K]>((resolve) => {
    stop = client.on(event, (payload) => {
      if (match(payload)) resolve(payload);
    });
  });
  return within(seen, `${String(event)} at ${client.user}`).finally(stop);
}

/**
 * Resolves once `done()` holds: checked now and on every `event` of `client`, for up to `ms`; the
 * deadline's error says `what` was awaited.
 */
export function whenHolds(
  client: ChatClient,
  event: keyof ChatClientEvents,
  done: () => boolean,
  what: string,
  ms = DEADLINE_MS,
): Promise<void> {
  if (done()) return Promise.resolve();
  let stop = () => {};
  return within(
    new Promise<void>((resolve) => {
      stop = client.on(event, () => {
        if (done()) resolve();
      });
    }),
    what,
    ms,
  ).finally(() => stop());
}
