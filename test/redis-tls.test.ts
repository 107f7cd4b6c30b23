import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeAllClients, connected, next, ok } from "./support/clients.js";
import { NodeProcess } from "./support/processes.js";
import { freePort, RedisServer, uniquePrefix } from "./support/redis-server.js";

// PaaS Redis add-ons hand out rediss:// URLs: two nodes talk to a TLS-only redis-server.
describe("rediss:// (Redis over TLS)", () => {
  let redis: RedisServer;
  let nodes: NodeProcess[];
  let dir: string;

  beforeAll(async () => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "roomcast-tls-"));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "ignore" },
    );
    // The last --port wins: plain TCP off, TLS on.
    redis = await RedisServer.start([
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--tls-cert-file",
      cert,
      "--tls-key-file",
      key,
      "--tls-auth-clients",
      "no",
    ]);
    const prefix = uniquePrefix();
    nodes = [];
    for (let index = 0; index < 2; index += 1) {
      const node = new NodeProcess(await freePort(), {
        REDIS_URL: `rediss://127.0.0.1:${port}`,
        REDIS_PREFIX: prefix,
        NODE_ID: `tls-${index}`,
        NODE_EXTRA_CA_CERTS: cert,
      });
      await node.start();
      nodes.push(node);
    }
  });
  afterEach(closeAllClients);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop("SIGKILL")));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("chats across two nodes", async () => {
    const alice = await connected(nodes[0]!.url, "alice");
    const bob = await connected(nodes[1]!.url, "bob");
    await ok(alice, "room:join", { room: "secure" });
    await ok(bob, "room:join", { room: "secure" });
    const got = next(bob, "room:message");
    const sent = await ok(alice, "room:send", { room: "secure", text: "over TLS" });
    expect(await got).toEqual(sent.message);
    expect((await fetch(`${nodes[0]!.url}/readyz`)).status).toBe(200);
  });
});
