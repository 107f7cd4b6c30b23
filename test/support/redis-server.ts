// The launcher and the port finder are shared with the bench and `npm run cluster`.
export { freePort } from "../../server/dev/ports.js";
export { RedisServer } from "../../server/dev/redis-server.js";

let prefixes = 0;
/** A key prefix no other test uses, so tests may share a Redis. */
export function uniquePrefix(): string {
  prefixes += 1;
  return `t${process.pid}x${prefixes}x${Date.now().toString(36)}`;
}
