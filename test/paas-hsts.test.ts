/**
 * HSTS from the security-headers plugin, on real servers: plain HTTP on loopback (as behind a
 * PaaS router, which says X-Forwarded-Proto), and TLS with a self-signed certificate. The header
 * goes only on responses the client received over HTTPS: TLS to this server, or a proxy we trust
 * (TRUST_PROXY) saying so.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrustProxy } from "../server/config.js";
import { securityHeaders } from "../server/plugins/security-headers.js";
import { within } from "./support/clients.js";

const HSTS = "max-age=15552000";

const servers: FastifyInstance[] = [];

/** A server with only the plugin and one route, listening on loopback. */
async function serve(options: { trustProxy?: TrustProxy; https?: { key: string; cert: string } }): Promise<string> {
  // The plugin sees a plain instance either way; only the socket under a request differs.
  const app = (options.https ? Fastify({ https: options.https }) : Fastify()) as FastifyInstance;
  servers.push(app);
  await app.register(securityHeaders, options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy });
  app.get("/", async () => ({ ok: true }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  return `${options.https ? "https" : "http"}://127.0.0.1:${port}`;
}

/** The HSTS header of a plain HTTP response, or null. */
async function hstsOver(url: string, forwardedProto?: string): Promise<string | null> {
  const response = await fetch(url, forwardedProto ? { headers: { "x-forwarded-proto": forwardedProto } } : {});
  await response.arrayBuffer();
  return response.headers.get("strict-transport-security");
}

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

describe("Strict-Transport-Security", () => {
  it("never on plain HTTP without a trusted proxy, whatever X-Forwarded-Proto says", async () => {
    const untrusting: (TrustProxy | undefined)[] = [undefined, false, 0, ["10.0.0.0/8"]];
    for (const trustProxy of untrusting) {
      const url = await serve({ trustProxy });
      expect(await hstsOver(url), String(trustProxy)).toBeNull();
      expect(await hstsOver(url, "https"), String(trustProxy)).toBeNull();
    }
  });

  it("behind a trusted proxy (a hop count, true, or the peer's subnet) that says https", async () => {
    const trusting: TrustProxy[] = [1, true, ["loopback"], ["127.0.0.0/8"]];
    for (const trustProxy of trusting) {
      const url = await serve({ trustProxy });
      expect(await hstsOver(url, "https"), String(trustProxy)).toBe(HSTS);
      expect(await hstsOver(url, "HTTPS"), String(trustProxy)).toBe(HSTS);
      // The last entry is the nearest proxy's word.
      expect(await hstsOver(url, "http, https"), String(trustProxy)).toBe(HSTS);
      expect(await hstsOver(url, "https, http"), String(trustProxy)).toBeNull();
      expect(await hstsOver(url, "http"), String(trustProxy)).toBeNull();
      expect(await hstsOver(url), String(trustProxy)).toBeNull();
    }
  });

  it("keeps the other security headers, with or without HSTS", async () => {
    const url = await serve({ trustProxy: 1 });
    for (const proto of ["http", "https"]) {
      const response = await fetch(url, { headers: { "x-forwarded-proto": proto } });
      await response.arrayBuffer();
      expect(response.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
    }
  });

  describe("directly over TLS", () => {
    let dir: string;
    let cert: string;
    let key: string;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "roomcast-hsts-"));
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
          "-days",
          "1",
          "-subj",
          "/CN=localhost",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ],
        { stdio: "ignore" },
      );
      cert = readFileSync(join(dir, "cert.pem"), "utf8");
      key = readFileSync(join(dir, "key.pem"), "utf8");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /** The HSTS header of a response over TLS, or undefined. */
    const hstsOverTls = (url: string, headers: Record<string, string> = {}) =>
      within(
        new Promise<string | string[] | undefined>((resolve, reject) => {
          request(url, { ca: cert, headers }, (response) => {
            response.resume();
            response.once("end", () => resolve(response.headers["strict-transport-security"]));
          })
            .once("error", reject)
            .end();
        }),
        `a response from ${url}`,
      );

    it("sends it, trusting no proxy, even when a forged X-Forwarded-Proto says http", async () => {
      const url = await serve({ https: { key, cert } });
      expect(await hstsOverTls(url)).toBe(HSTS);
      expect(await hstsOverTls(url, { "x-forwarded-proto": "http" })).toBe(HSTS);
    });
  });
});
