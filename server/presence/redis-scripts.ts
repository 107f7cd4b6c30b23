import { script } from "../redis/connection.js";

/** KEYS: userNodes, userInbox. ARGV: node. Counts a socket and hands over the held DMs. */
export const USER_CONNECT = script(`
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local held = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return held`);

/** KEYS: userNodes. ARGV: node. */
export const USER_DISCONNECT = script(`
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return redis.call('HLEN', KEYS[1])`);

/** KEYS: userNodes, userInbox. ARGV: dm JSON, inbox bound. 1 when online, else holds the DM. */
export const HOLD_UNLESS_ONLINE = script(`
if redis.call('HLEN', KEYS[1]) > 0 then return 1 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return 0`);

/**
 * KEYS: roomUsers, roomNodeUsers. ARGV: user, sockets on this node now (absolute, so that
 * writing the same state twice is harmless). Returns {firstInRoom, lastInRoom, members}.
 */
export const ROOM_SET = script(`
local before = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local now = tonumber(ARGV[2])
if now == before then return {0, 0, redis.call('HLEN', KEYS[1])} end
if now > 0 then redis.call('HSET', KEYS[2], ARGV[1], now) else redis.call('HDEL', KEYS[2], ARGV[1]) end
local total = redis.call('HINCRBY', KEYS[1], ARGV[1], now - before)
if total <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local first = (total > 0 and total == now - before) and 1 or 0
local last = (total <= 0) and 1 or 0
return {first, last, redis.call('HLEN', KEYS[1])}`);

/** KEYS: roomUsers, roomNodeUsers. Takes back a dead node's sockets; returns {members, user...} who left. */
export const ROOM_PURGE_NODE = script(`
local entries = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
local left = {}
for i = 1, #entries, 2 do
  local user = entries[i]
  if redis.call('HINCRBY', KEYS[1], user, -tonumber(entries[i + 1])) <= 0 then
    redis.call('HDEL', KEYS[1], user)
    left[#left + 1] = user
  end
end
table.insert(left, 1, redis.call('HLEN', KEYS[1]))
return left`);
