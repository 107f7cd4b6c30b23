import { createHash } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { createClient, createCluster, ErrorReply } from "redis";
import { isTlsUrl, type Config } from "../config.js";
import { UnavailableError } from "../errors.js";

/** A Lua script with its SHA1, so that it is sent whole only once per Redis server. */
export interface Script {
  source: string;
  sha: string;
}

/** Prepares a Lua script for `RedisConnection.run`. */
export function script(source: string): Script {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/**
 * The node's Redis, standalone or Redis Cluster, behind the two calls the stores need. Replies
 * are RESP2 values (strings, numbers, arrays, null). A failure to reach Redis becomes
 * UnavailableError; an error reply from Redis stays an error (a bug).
 */
export interface RedisConnection {
  /** Runs a command; `key` routes it to its shard on a cluster. */
  command<T>(key: string, args: string[]): Promise<T>;
  /** Runs a Lua script whose keys all share one hash slot. */
  run<T>(script: Script, keys: string[], args: string[]): Promise<T>;
}

type Client = ReturnType<typeof createClient>;
type Cluster = ReturnType<typeof createCluster>;

/**
 * The listener `subscribedTo` passes: one function for every call, because node-redis keeps a
 * channel's listeners in a Set and calls each on every message until the channel is unsubscribed.
 * A new function per call would grow that set with every join while the room stays held.
 */
const settled = (): void => {};

/** Reconnect quickly (Redis restarts take a second or two) but never hammer it. */
const reconnectDelay = (retries: number) => Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 100);

/** OpenSSL's verdicts on a certificate that does not verify, as Node reports them in `error.code`. */
const CERTIFICATE_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

const isCertificateError = (error: unknown): error is Error & { code: string } =>
  error instanceof Error && CERTIFICATE_ERRORS.has((error as { code?: unknown }).code as string);

/** What to do about a Redis certificate that does not verify. */
const CERTIFICATE_HINT =
  "the Redis server's TLS certificate did not verify: trust its CA with REDIS_TLS_CA, " +
  "or set REDIS_TLS_REJECT_UNAUTHORIZED=0 to skip verification";

/**
 * The TLS part of node-redis's socket options for rediss:// URLs (none for redis://, where
 * node-redis would refuse `tls: true`). The same options reach the nodes a Redis Cluster client
 * discovers, which it opens from its defaults rather than from a URL.
 */
function tlsOptions(config: Config): { tls: true; rejectUnauthorized: boolean; ca?: string } | undefined {
  if (!config.redisUrls.some(isTlsUrl)) return undefined;
  const { ca, rejectUnauthorized } = config.redisTls;
  return { tls: true, rejectUnauthorized, ...(ca !== undefined ? { ca } : {}) };
}

/**
 * Opens the clients a node needs: one for commands and publishing, one for subscriptions.
 * Each has its error listener; an outage is logged once when it starts and once when it ends.
 */
export async function openRedis(config: Config, log: FastifyBaseLogger) {
  const cluster = config.redisCluster || config.redisUrls.length > 1;
  const name = `roomcast:${config.nodeId}`;
  let down = false;
  let closing = false;
  /** Set once both clients have connected; until then a certificate that does not verify stops start-up. */
  let started = false;
  /** The certificate error seen while connecting, for the start-up failure to name. */
  let refusedCertificate: (Error & { code: string }) | undefined;
  const markDown = (role: string) => (error: Error) => {
    if (isCertificateError(error)) refusedCertificate ??= error;
    if (down || closing) return;
    down = true;
    if (isCertificateError(error)) {
      // Retrying will not help until the configuration changes; say what to change.
      log.error({ role, err: { message: error.message, code: error.code } }, CERTIFICATE_HINT);
    } else {
      log.warn({ role, err: { message: error.message, name: error.name } }, "lost the Redis connection; retrying");
    }
  };
  // A cluster client has no "ready" event of its own: any command that succeeds also says so.
  const markUp = () => {
    if (!down) return;
    down = false;
    log.info("Redis connection restored");
  };
  const subscriptionFailed = (error: Error) => {
    if (!closing) log.warn({ err: { message: error.message, name: error.name } }, "a Redis (un)subscription failed");
  };

  // A certificate that does not verify at start-up will not verify on a retry: give up, so that
  // start-up fails with the reason. Later (a rotated certificate) the node keeps retrying.
  const reconnectStrategy = (retries: number, cause: Error): number | Error =>
    !started && isCertificateError(cause) ? cause : reconnectDelay(retries);
  const socket = { reconnectStrategy, connectTimeout: 5000, ...tlsOptions(config) };
  // Commands fail at once while Redis is unreachable, so that callers can answer `unavailable`.
  // Subscriptions instead wait in the offline queue and are made once Redis is back.
  let commands: Client | Cluster;
  let subscriber: Client | Cluster;
  if (cluster) {
    const rootNodes = config.redisUrls.map((url) => ({ url }));
    commands = createCluster({ rootNodes, defaults: { socket, disableOfflineQueue: true, name } });
    subscriber = createCluster({ rootNodes, defaults: { socket, name } });
  } else {
    const url = config.redisUrls[0]!;
    commands = createClient({ url, socket, disableOfflineQueue: true, name });
    subscriber = createClient({ url, socket, name });
  }
  for (const [role, client] of [
    ["commands", commands],
    ["subscriber", subscriber],
  ] as const) {
    client.on("error", markDown(role));
    (client as Client).on("ready", markUp);
  }
  try {
    await Promise.all([commands.connect(), subscriber.connect()]);
  } catch (error) {
    for (const client of [commands, subscriber]) {
      try {
        client.destroy();
      } catch {
        // Already closed by its failure.
      }
    }
    if (refusedCertificate === undefined) throw error;
    throw new Error(`${CERTIFICATE_HINT} (${refusedCertificate.message}, ${refusedCertificate.code})`, {
      cause: error,
    });
  }
  started = true;

  /**
   * SUNSUBSCRIBEs still waiting for their reply, by channel. node-redis drops a channel's listeners
   * when that reply comes, and meanwhile takes the channel for subscribed: a subscription made in
   * between would add its listener without an SSUBSCRIBE, then lose it. (The adapter unsubscribes
   * when a room's last local socket leaves; a socket that joins within a round trip hit this.)
   */
  const unsubscribing = new Map<string, Promise<unknown>>();
  const afterUnsubscribing = <T>(channels: string | string[], subscribe: () => Promise<T>): Promise<T> => {
    const pending = (typeof channels === "string" ? [channels] : channels).flatMap((channel) => {
      const done = unsubscribing.get(channel);
      return done ? [done] : [];
    });
    return pending.length === 0 ? subscribe() : Promise.all(pending).then(subscribe);
  };

  const send = <T>(key: string, args: string[]): Promise<T> =>
    cluster ? (commands as Cluster).sendCommand<T>(key, false, args) : (commands as Client).sendCommand<T>(args);

  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      const result = await work();
      markUp();
      return result;
    } catch (error) {
      if (error instanceof ErrorReply) throw error;
      throw new UnavailableError("Redis", { cause: error });
    }
  };

  const connection: RedisConnection = {
    command: (key, args) => guard(() => send(key, args)),
    run: (script, keys, args) =>
      guard(async () => {
        const tail = [String(keys.length), ...keys, ...args];
        try {
          return await send(keys[0]!, ["EVALSHA", script.sha, ...tail]);
        } catch (error) {
          if (!(error instanceof ErrorReply) || !error.message.startsWith("NOSCRIPT")) throw error;
          return await send(keys[0]!, ["EVAL", script.source, ...tail]);
        }
      }),
  };

  return {
    connection,
    /** For the Socket.IO adapter: publishes on the command client. */
    publisher: commands,
    /**
     * For the Socket.IO adapter: the subscriber, with rejections caught (the adapter does not
     * await its SSUBSCRIBE and SUNSUBSCRIBE calls, so a rejection would otherwise crash the process).
     */
    subscriber: {
      sSubscribe: (channels: string | string[], listener: (message: Buffer, channel: Buffer) => void, buffers: true) =>
        afterUnsubscribing(channels, () => subscriber.sSubscribe(channels, listener, buffers)).catch(
          subscriptionFailed,
        ),
      sUnsubscribe: (channels: string | string[]) => {
        const done = subscriber.sUnsubscribe(channels).catch(subscriptionFailed);
        for (const channel of typeof channels === "string" ? [channels] : channels) {
          unsubscribing.set(channel, done);
          void done.finally(() => {
            if (unsubscribing.get(channel) === done) unsubscribing.delete(channel);
          });
        }
        return done;
      },
    },
    /**
     * Resolves once every SSUBSCRIBE queued before it on `channel` has been answered: a second
     * subscription to the same channel is queued behind the first on the same connection.
     */
    subscribedTo: (channel: string) => afterUnsubscribing(channel, () => subscriber.sSubscribe(channel, settled, true)),
    /** Listeners node-redis holds for a sharded channel (summed over the shards of a cluster). */
    listenerCount(channel: string): number {
      // On a cluster, sharded subscriptions live on each master's own pub/sub client.
      const clients = cluster
        ? (subscriber as Cluster).masters.flatMap((master) => (master.pubSub ? [master.pubSub.client] : []))
        : [subscriber as Client];
      let count = 0;
      for (const client of clients) {
        const listeners = client.getPubSubListeners("SHARDED").get(channel);
        if (listeners) count += listeners.buffers.size + listeners.strings.size;
      }
      return count;
    },
    /** Every key matching a SCAN `pattern`, in batches, from every master of a cluster. */
    async *scan(pattern: string): AsyncGenerator<string[]> {
      const clients: Client[] = cluster
        ? await Promise.all((commands as Cluster).masters.map((master) => (commands as Cluster).nodeClient(master)))
        : [commands as Client];
      for (const client of clients) {
        for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) yield batch;
      }
    },
    /** True while both clients are connected. */
    isReady: () =>
      !down &&
      (cluster ? commands.isOpen && subscriber.isOpen : (commands as Client).isReady && (subscriber as Client).isReady),
    async close(): Promise<void> {
      closing = true;
      await Promise.allSettled([commands.close(), subscriber.close()]);
    },
  };
}

export type RedisHandles = Awaited<ReturnType<typeof openRedis>>;
