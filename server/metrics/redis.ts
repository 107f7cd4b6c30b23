import { performance } from "node:perf_hooks";
import type { RedisConnection } from "../redis/connection.js";
import type { AdapterFactory } from "../stores/stores.js";
import type { Tallies } from "./tallies.js";

/**
 * The same connection, timing every command and script (failures too: a timeout is latency) into
 * `tallies.redisLatency`, by command name; every script is "script".
 */
export function timedRedis(connection: RedisConnection, tallies: Tallies): RedisConnection {
  // The caller gets the command's own promise: timing adds a handler, not a promise to wait on.
  const timed = <T>(name: string, start: number, work: Promise<T>): Promise<T> => {
    const histogram = tallies.redisCommand(name);
    const done = () => histogram.observe((performance.now() - start) / 1000);
    work.then(done, done);
    return work;
  };
  return {
    command: (key, args) => timed(args[0] ?? "", performance.now(), connection.command(key, args)),
    run: (script, keys, args) => timed("script", performance.now(), connection.run(script, keys, args)),
  };
}

/** What the sharded adapter does with Redis: the methods `ShardedRedisAdapter` calls through `this`. */
interface RedisAdapterInternals {
  doPublish(message: unknown): Promise<string>;
  doPublishResponse(requesterUid: string, response: unknown): Promise<void>;
  onRawMessage(message: Buffer, channel: Buffer): void;
}

/**
 * The same adapter factory, counting the messages each adapter publishes to Redis and receives
 * from it. The sharded adapter calls these three methods through `this`, so wrapping them on the
 * instance sees every message (broadcasts, requests and responses alike).
 */
export function countingAdapter(factory: AdapterFactory, tallies: Tallies): AdapterFactory {
  const make = factory as unknown as (namespace: unknown) => RedisAdapterInternals;
  // Socket.IO calls the factory with `new`: a function, not an arrow, returning the adapter.
  return function (namespace: unknown) {
    const adapter = make(namespace);
    const { doPublish, doPublishResponse, onRawMessage } = adapter;
    adapter.doPublish = (message) => {
      tallies.adapterPublished += 1;
      return doPublish.call(adapter, message);
    };
    adapter.doPublishResponse = (requesterUid, response) => {
      tallies.adapterPublished += 1;
      return doPublishResponse.call(adapter, requesterUid, response);
    };
    adapter.onRawMessage = (message, channel) => {
      tallies.adapterReceived += 1;
      onRawMessage.call(adapter, message, channel);
    };
    return adapter;
  } as unknown as AdapterFactory;
}
