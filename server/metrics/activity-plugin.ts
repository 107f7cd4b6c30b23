import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { startSampler } from "./sampler.js";
import type { Tallies } from "./tallies.js";
import type { VitalsMonitor } from "./vitals.js";

export interface ActivityPluginOptions {
  tallies: Tallies;
  /** The monitor whose readings go with every heartbeat; stopped when the app closes. */
  vitals: VitalsMonitor;
}

/**
 * For the admin dashboard: records this node's activity sample every step into `app.stores.series`
 * while the app runs, and stops the vitals monitor at close.
 */
export const activityPlugin = fp(
  async (app: FastifyInstance, options: ActivityPluginOptions) => {
    let stop: (() => void) | undefined;
    let failing = false;
    app.addHook("onReady", async () => {
      stop = startSampler({
        store: app.stores.series,
        messages: () => options.tallies.messages,
        sockets: () => app.stores.presence.localCounts().sockets,
        onError: (error) => {
          // An outage fails every sample: said once until one is stored again (the Redis connection
          // logs the outage itself).
          if (failing) app.log.debug({ err: error }, "could not record this node's activity sample");
          else app.log.warn({ err: error }, "could not record this node's activity sample");
          failing = true;
        },
        onStored: () => (failing = false),
      });
    });
    app.addHook("preClose", async () => {
      stop?.();
      options.vitals.stop();
    });
  },
  { name: "roomcast-activity", dependencies: ["roomcast-stores"] },
);
