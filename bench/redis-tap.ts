import { createConnection, createServer, type Server, type Socket } from "node:net";
import { HOST } from "./net.js";

/**
 * The pub/sub deliveries Redis pushed down the connections of one node: `message` (SUBSCRIBE),
 * `pmessage` (PSUBSCRIBE) and `smessage` (SSUBSCRIBE).
 */
export interface PushCounts {
  message: number;
  pmessage: number;
  smessage: number;
}

export const pushTotal = (counts: PushCounts): number => counts.message + counts.pmessage + counts.smessage;

/**
 * The head of each kind of push, the same in RESP2 (`*3\r\n$7\r\nmessage\r\n…`) and RESP3
 * (`>3\r\n$7\r\nmessage\r\n…`). A chat payload never holds these CRLF-framed bytes.
 */
const MARKERS: ReadonlyArray<readonly [keyof PushCounts, Buffer]> = [
  ["message", Buffer.from("\r\n$7\r\nmessage\r\n")],
  ["pmessage", Buffer.from("\r\n$8\r\npmessage\r\n")],
  ["smessage", Buffer.from("\r\n$8\r\nsmessage\r\n")],
];
const LONGEST_MARKER = Math.max(...MARKERS.map(([, marker]) => marker.length));

function count(haystack: Buffer, needle: Buffer): number {
  let found = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) found++;
  return found;
}

/**
 * A counting TCP relay between one node and Redis: the node is given the relay's port as its Redis
 * URL, and every byte is passed on unchanged in both directions. Counting what Redis actually wrote
 * to the node is exact for any adapter and needs neither MONITOR nor a model of who subscribes to what
 * (Redis 7.0 has no per-client output counters).
 */
export class RedisTap {
  private readonly counts: PushCounts = { message: 0, pmessage: 0, smessage: 0 };
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** The port to hand the node instead of Redis's. */
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and relays every connection to Redis on `redisPort`. */
  static open(redisPort: number): Promise<RedisTap> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, HOST, () => {
        const address = server.address();
        if (typeof address !== "object" || address === null) return reject(new Error("tap has no port"));
        const tap = new RedisTap(server, address.port);
        server.on("connection", (client) => tap.relay(client, redisPort));
        resolve(tap);
      });
    });
  }

  private relay(client: Socket, redisPort: number): void {
    const upstream = createConnection({ host: HOST, port: redisPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.sockets.add(client).add(upstream);
    let carry: Buffer = Buffer.alloc(0);
    upstream.on("data", (chunk: Buffer) => {
      // Keep the end of the previous chunk, so a marker split across two chunks is still seen once
      // (the carried bytes are shorter than any marker, so none is counted twice).
      const scan = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      for (const [kind, marker] of MARKERS) this.counts[kind] += count(scan, marker);
      carry = scan.subarray(Math.max(0, scan.length - (LONGEST_MARKER - 1)));
    });
    upstream.pipe(client);
    client.pipe(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("close", close).on("error", close);
    upstream.on("close", close).on("error", close);
  }

  /** The counts so far (a copy). */
  snapshot(): PushCounts {
    return { ...this.counts };
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** `after - before`, kind by kind. */
export function pushDelta(after: PushCounts, before: PushCounts): PushCounts {
  return {
    message: after.message - before.message,
    pmessage: after.pmessage - before.pmessage,
    smessage: after.smessage - before.smessage,
  };
}
