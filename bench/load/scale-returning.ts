import { within } from "../../server/dev/deadline.js";
import { ChatClient } from "../../client/sdk/index.js";
import { now } from "../clock.js";
import type { ReturnResult, StormPlan, StormResult } from "./scale-messages.js";
import { storm } from "./scale-storm.js";

/** An SDK client and when its state last became `connected` (monotonic ms). */
interface Returning {
  client: ChatClient;
  connectedAt: number;
}

/** SDK client groups of this worker, by id. */
const groups = new Map<number, Returning[]>();

/**
 * Opens the plan's clients with the roomcast SDK (scenario 6's refill): each reconnects by itself,
 * with the SDK's default backoff, to its one URL, and joins its rooms again after every reconnect,
 * as an application's clients would.
 */
export async function stormSdkClients(group: number, plan: StormPlan): Promise<StormResult> {
  const { opened, result } = await storm<Returning>(plan, {
    async open({ url, user }) {
      const entry: Returning = {
        client: new ChatClient({
          urls: [url],
          user,
          // engine.io-client hands `localAddress` on to ws in Node; its types leave it out.
          socketOptions: { transports: ["websocket"], timeout: plan.timeoutMs, ...{ localAddress: plan.localAddress } },
        }),
        connectedAt: Number.NEGATIVE_INFINITY,
      };
      entry.client.on("state", (state) => {
        if (state === "connected") entry.connectedAt = now();
      });
      try {
        await within(entry.client.connect(), `${user} to connect to ${url}`, plan.timeoutMs);
      } catch (error) {
        await entry.client.close();
        throw error;
      }
      return entry;
    },
    join: async (entry, room) => {
      await entry.client.join(room);
    },
  });
  groups.set(
    group,
    opened.filter((entry): entry is Returning => entry !== undefined),
  );
  return result;
}

/**
 * Resolves once every client of the group is connected on a connection it made after `after`
 * (monotonic ms), or after `timeoutMs` with how many were.
 */
export function returned(group: number, after: number, timeoutMs: number): Promise<ReturnResult> {
  const entries = groups.get(group) ?? [];
  const isBack = (entry: Returning) => entry.client.state === "connected" && entry.connectedAt >= after;
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      for (const off of offs) off();
      const back = entries.filter(isBack);
      resolve({
        clients: entries.length,
        back: back.length,
        lastBackAt:
          back.length === entries.length
            ? back.reduce((last, entry) => Math.max(last, entry.connectedAt), after)
            : undefined,
      });
    };
    const check = () => {
      if (entries.every(isBack)) finish();
    };
    // Registered after each client's own listener, so that `connectedAt` is set when this runs.
    const offs = entries.map((entry) => entry.client.on("state", check));
    const timer = setTimeout(finish, timeoutMs);
    check();
  });
}

/** Closes an SDK group's clients (nothing if the group has none here). */
export async function closeSdkClients(group: number): Promise<void> {
  const entries = groups.get(group) ?? [];
  groups.delete(group);
  await Promise.allSettled(entries.map((entry) => entry.client.close()));
}
