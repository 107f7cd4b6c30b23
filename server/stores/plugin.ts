import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { Config } from "../config.js";
import { openStores } from "./open.js";
import type { StoreInstruments, Stores } from "./stores.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The node's presence, history and adapter (the `roomcast-stores` plugin). */
    stores: Stores;
  }
}

export interface StoresPluginOptions {
  config: Config;
  /** Stores to use instead of opening them from `config`; the caller then closes them. */
  stores?: Stores;
  /** What the stores it opens count and report (metrics, the admin dashboard). */
  instruments?: StoreInstruments;
}

/**
 * Opens the stores as `app.stores` and closes what it opened when the app closes. The plugins
 * that use the stores declare this one as a dependency, so it is registered before them and its
 * close hook runs after theirs (Fastify runs `onClose` hooks in reverse order).
 */
export const storesPlugin = fp(
  async (app: FastifyInstance, options: StoresPluginOptions) => {
    const stores = options.stores ?? (await openStores(options.config, app.log, options.instruments));
    app.decorate("stores", stores);
    app.addHook("onClose", async () => {
      if (!options.stores) await stores.close();
    });
  },
  { name: "roomcast-stores" },
);
