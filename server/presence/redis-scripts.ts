import { script } from "../redis/connection.js";

/** KEYS: userNodes. ARGV: node. */
export const USER_DISCONNECT = script(`
local userNodesKey = KEYS[1]
local node = ARGV[1]
if redis.call('HINCRBY', userNodesKey, node, -1) <= 0 then redis.call('HDEL', userNodesKey, node) end
return redis.call('HLEN', userNodesKey)`);

/**
 * KEYS: userNodes, userInbox. ARGV: dm JSON, inbox bound, inbox TTL ms ("" holds nothing).
 * 1 when the recipient is online; else holds the DM (when asked to) and returns 0.
 */
export const HOLD_UNLESS_ONLINE = script(`
local userNodesKey = KEYS[1]
local userInboxKey = KEYS[2]
local dm = ARGV[1]
local maxHeld = tonumber(ARGV[2])
local keepForMs = ARGV[3]
if redis.call('HLEN', userNodesKey) > 0 then return 1 end
if keepForMs == '' then return 0 end
redis.call('RPUSH', userInboxKey, dm)
redis.call('LTRIM', userInboxKey, -maxHeld, -1)
redis.call('PEXPIRE', userInboxKey, keepForMs)
return 0`);

/**
 * KEYS: roomUsers, roomNodeUsers. ARGV: user, sockets on this node now (absolute, so that
 * writing the same state twice is harmless). Returns {firstInRoom, lastInRoom, members}.
 */
export const ROOM_SET = script(`
local roomUsersKey = KEYS[1]
local roomNodeUsersKey = KEYS[2]
local user = ARGV[1]
local now = tonumber(ARGV[2])
local before = tonumber(redis.call('HGET', roomNodeUsersKey, user) or '0')
if now == before then return {0, 0, redis.call('HLEN', roomUsersKey)} end
if now > 0 then redis.call('HSET', roomNodeUsersKey, user, now) else redis.call('HDEL', roomNodeUsersKey, user) end
local total = redis.call('HINCRBY', roomUsersKey, user, now - before)
if total <= 0 then redis.call('HDEL', roomUsersKey, user) end
local first = (total > 0 and total == now - before) and 1 or 0
local last = (total <= 0) and 1 or 0
return {first, last, redis.call('HLEN', roomUsersKey)}`);

/** KEYS: roomUsers, roomNodeUsers. Takes back a dead node's sockets; returns {members, user...} who left. */
export const ROOM_PURGE_NODE = script(`
local roomUsersKey = KEYS[1]
local roomNodeUsersKey = KEYS[2]
local entries = redis.call('HGETALL', roomNodeUsersKey)
redis.call('DEL', roomNodeUsersKey)
local left = {}
for i = 1, #entries, 2 do
  local user = entries[i]
  local sockets = tonumber(entries[i + 1])
  if redis.call('HINCRBY', roomUsersKey, user, -sockets) <= 0 then
    redis.call('HDEL', roomUsersKey, user)
    left[#left + 1] = user
  end
end
table.insert(left, 1, redis.call('HLEN', roomUsersKey))
return left`);
