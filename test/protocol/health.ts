// /healthz and /readyz.
import { describe, expect, it } from "vitest";
import type { Nodes } from "./helpers.js";

/** Registers the health tests. */
export function healthTests(nodes: Nodes): void {
  describe("health", () => {
    it("/healthz and /readyz answer 200 on every live node", async () => {
      for (const url of nodes.urls()) {
        const health = await fetch(`${url}/healthz`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({ ok: true, node: expect.any(String) });
        const ready = await fetch(`${url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toMatchObject({ ready: true });
      }
    });
  });
}
