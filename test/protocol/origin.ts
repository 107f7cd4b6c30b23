// The Origin check of handshakes and upgrades, by default, with a list, and with `*`.
import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { connected, within } from "../support/clients.js";
import { names, refused, type Nodes } from "./helpers.js";

/** The first request of an Engine.IO polling session; `sid` is set when the server opened one. */
async function pollingHandshake(url: string, origin?: string): Promise<{ status: number; sid?: string }> {
  const response = await within(
    fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: origin === undefined ? {} : { origin } }),
    "a polling handshake",
  );
  const body = await response.text();
  // An open packet is "0" followed by the session as JSON.
  const sid = body.startsWith("0{") ? (JSON.parse(body.slice(1)) as { sid: string }).sid : undefined;
  return { status: response.status, sid };
}

/** Opens a raw WebSocket to Engine.IO: "open", or the HTTP status the server refused it with. */
function rawWebSocket(url: string, origin?: string, sid?: string): Promise<"open" | number> {
  const query = `EIO=4&transport=websocket${sid === undefined ? "" : `&sid=${sid}`}`;
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?${query}`, {
    headers: origin === undefined ? {} : { origin },
  });
  return within(
    new Promise<"open" | number>((resolve, reject) => {
      ws.once("open", () => {
        ws.close();
        resolve("open");
      });
      ws.once("unexpected-response", (_request, response) => {
        resolve(response.statusCode ?? 0);
        ws.terminate();
      });
      ws.once("error", reject);
    }),
    "a raw WebSocket",
  );
}

const FOREIGN_ORIGIN = "http://evil.example";
/** Engine.IO refuses a handshake with 403 (allowRequest) or 400 (a middleware): either way, not opened. */
const REFUSED = [400, 403];

/** Registers the Origin tests of a deployment without ALLOWED_ORIGINS: a node's own origin only. */
export function originTests(nodes: Nodes): void {
  describe("Origin check", () => {
    for (const transport of ["polling", "websocket"] as const) {
      it(`over ${transport}: no Origin and the node's own origin connect, a foreign one is refused`, async () => {
        const options = { transports: [transport], upgrade: false };
        const [user] = names("origin");
        for (const url of nodes.urls()) {
          await connected(url, user, options);
          await connected(url, user, { ...options, extraHeaders: { origin: url } });
          // Refused only for its Origin, which shows that the client really sends extraHeaders.
          const error = await refused(url, user, { ...options, extraHeaders: { origin: FOREIGN_ORIGIN } });
          expect(error.message).toBe(transport === "polling" ? "xhr poll error" : "websocket error");
        }
      });
    }

    it("compares scheme, host and port: the node's host with another scheme or port is foreign", async () => {
      const url = nodes.url(0);
      const { hostname, port } = new URL(url);
      expect((await pollingHandshake(url, url)).status).toBe(200);
      for (const origin of [
        `https://${hostname}:${port}`,
        `http://${hostname}:${Number(port) + 1}`,
        `http://${hostname}`,
      ]) {
        expect(REFUSED, origin).toContain((await pollingHandshake(url, origin)).status);
        expect(REFUSED, origin).toContain(await rawWebSocket(url, origin));
      }
    });

    it("refuses a foreign Origin on the raw handshake, on the upgrade and on later polls", async () => {
      const url = nodes.url(0);
      expect(REFUSED).toContain((await pollingHandshake(url, FOREIGN_ORIGIN)).status);
      expect(REFUSED).toContain(await rawWebSocket(url, FOREIGN_ORIGIN));
      expect(await rawWebSocket(url)).toBe("open");

      // A session opened without Origin cannot be taken over from a foreign page.
      const { status, sid } = await pollingHandshake(url);
      expect(status).toBe(200);
      const poll = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        headers: { origin: FOREIGN_ORIGIN },
      });
      expect(REFUSED).toContain(poll.status);
      expect(REFUSED).toContain(await rawWebSocket(url, FOREIGN_ORIGIN, sid));
    });
  });
}

/** The one origin in ALLOWED_ORIGINS of the deployment `allowedOriginsTests` runs on. */
export const ALLOWED_ORIGIN = "https://chat.example";

/** Registers the tests of a deployment with ALLOWED_ORIGINS=ALLOWED_ORIGIN. */
export function allowedOriginsTests(listed: Nodes): void {
  for (const transport of ["polling", "websocket"] as const) {
    it(`over ${transport}: ALLOWED_ORIGINS lets a listed origin through and refuses others`, async () => {
      const options = { transports: [transport], upgrade: false };
      const [user] = names("origin");
      await connected(listed.url(0), user, { ...options, extraHeaders: { origin: ALLOWED_ORIGIN } });
      await connected(listed.url(0), user, options);
      await refused(listed.url(0), user, { ...options, extraHeaders: { origin: FOREIGN_ORIGIN } });
    });
  }
}

/** Registers the tests of a deployment with ALLOWED_ORIGINS=*. */
export function anyOriginTests(open: Nodes): void {
  for (const transport of ["polling", "websocket"] as const) {
    it(`over ${transport}: ALLOWED_ORIGINS=* lets any Origin open a socket, on every node`, async () => {
      const options = { transports: [transport], upgrade: false };
      const [user] = names("origin");
      for (const url of open.urls()) {
        await connected(url, user, options);
        for (const origin of [FOREIGN_ORIGIN, "null", url]) {
          await connected(url, user, { ...options, extraHeaders: { origin } });
        }
      }
    });
  }

  it("ALLOWED_ORIGINS=* lets a foreign Origin through the raw handshake and the upgrade", async () => {
    const url = open.url(0);
    const { status, sid } = await pollingHandshake(url, FOREIGN_ORIGIN);
    expect(status).toBe(200);
    expect(sid).toEqual(expect.any(String));
    expect(await rawWebSocket(url, FOREIGN_ORIGIN)).toBe("open");
    expect(await rawWebSocket(url, FOREIGN_ORIGIN, sid)).toBe("open");
  });
}

/** PUBLIC_URL of the deployment `publicUrlTests` runs on. */
export const PUBLIC_URL = "https://chat.example.org";

/** Registers the tests of a deployment with PUBLIC_URL (and no ALLOWED_ORIGINS). */
export function publicUrlTests(deployed: Nodes): void {
  it("PUBLIC_URL is the only origin allowed: not the Host header's, not another scheme", async () => {
    for (const url of deployed.urls()) {
      expect((await pollingHandshake(url, PUBLIC_URL)).status).toBe(200);
      expect(await rawWebSocket(url, `${PUBLIC_URL}:443`)).toBe("open");
      // The Host header is what a DNS-rebinding page controls: with PUBLIC_URL it does not count.
      for (const origin of [url, "http://chat.example.org", "https://chat.example.org:8443", FOREIGN_ORIGIN]) {
        expect(REFUSED, origin).toContain((await pollingHandshake(url, origin)).status);
        expect(REFUSED, origin).toContain(await rawWebSocket(url, origin));
      }
      expect(await rawWebSocket(url)).toBe("open");
    }
  });
}
