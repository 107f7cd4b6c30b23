import { basename, resolve } from "node:path";
import { benchPath } from "../paths.js";
import { rawWs } from "./raw-ws.js";
import { roomcast } from "./roomcast.js";
import { stock } from "./stock.js";
import type { Target } from "./target.js";

const CORK = { suffix: "+cork", preloads: [benchPath("targets/cork.mjs")] };

/** Every target the benchmark knows, by name: the three systems and the lever variants. */
const CATALOGUE: Record<string, () => Target> = {
  roomcast: () => roomcast(),
  stock: () => stock(),
  "raw-ws": () => rawWs(),
  "roomcast+cork": () => roomcast(CORK),
  "roomcast-embedded": () => roomcast({ suffix: "-embedded", embedded: true }),
  // What counting costs: roomcast with its Prometheus metrics and their hooks off (METRICS=0).
  "roomcast-nometrics": () => roomcast({ suffix: "-nometrics", env: { METRICS: "0" } }),
  // What the broadcast fast path gives: roomcast with every write left to engine.io (FAST_BROADCAST=0).
  "roomcast-nofast": () => roomcast({ suffix: "-nofast", env: { FAST_BROADCAST: "0" } }),
  "stock+cork": () => stock(CORK),
};

/** `roomcast@DIR`: roomcast as built in another checkout (e.g. a worktree of an earlier commit), beside this one's. */
const OTHER_BUILD = /^roomcast@(.+)$/;

export function targetsByName(names: readonly string[]): Target[] {
  return names.map((name) => {
    const otherDir = OTHER_BUILD.exec(name)?.[1];
    if (otherDir !== undefined) {
      const root = resolve(otherDir);
      return roomcast({ suffix: `@${basename(root)}`, root });
    }
    const make = CATALOGUE[name];
    if (!make) throw new Error(`unknown target "${name}"; known: ${Object.keys(CATALOGUE).join(", ")}, roomcast@DIR`);
    return make();
  });
}
