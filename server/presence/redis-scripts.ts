import { script } from "../redis/connection.js";

/**
 * KEYS: userNodes. ARGV: node, most sockets the user may have cluster-wide (0: no cap).
 * Counts one more socket of the user on the node and returns 1; at the cap, changes nothing and returns 0.
 */
export const USER_CONNECT = script(`
local userNodesKey = KEYS[1]
local node = ARGV[1]
local maxSockets = tonumber(ARGV[2])
if maxSockets > 0 then
  local sockets = 0
  for _, count in ipairs(redis.call('HVALS', userNodesKey)) do sockets = sockets + tonumber(count) end
  if sockets >= maxSockets then return 0 end
end
redis.call('HINCRBY', userNodesKey, node, 1)
return 1`);

/** KEYS: userNodes. ARGV: node. */
export const USER_DISCONNECT = script(`
local userNodesKey = KEYS[1]
local node = ARGV[1]
if redis.call('HINCRBY', userNodesKey, node, -1) <= 0 then redis.call('HDEL', userNodesKey, node) end
return redis.call('HLEN', userNodesKey)`);

/**
 * KEYS: heldFrom (of the sender). ARGV: most DMs the sender may have held, holding time ms.
 * Counts one more held DM of the sender, refreshing the count's expiry, and returns 1; at the cap,
 * changes nothing and returns 0.
 */
export const HELD_FROM_RESERVE = script(`
local heldFromKey = KEYS[1]
local maxHeld = tonumber(ARGV[1])
local keepForMs = ARGV[2]
if tonumber(redis.call('GET', heldFromKey) or '0') >= maxHeld then return 0 end
redis.call('INCR', heldFromKey)
redis.call('PEXPIRE', heldFromKey, keepForMs)
return 1`);

/** KEYS: heldFrom (of the sender). Counts one held DM of the sender less, never below none. */
export const HELD_FROM_RELEASE = script(`
local heldFromKey = KEYS[1]
if tonumber(redis.call('GET', heldFromKey) or '0') > 1 then
  redis.call('DECR', heldFromKey)
else
  redis.call('DEL', heldFromKey)
end
return 0`);

/**
 * KEYS: userNodes, userInbox (of the recipient). ARGV: dm JSON, inbox bound, inbox TTL ms ("" holds nothing).
 * 'online' when the recipient has a socket; else 'held' when it appended the DM to a live inbox
 * that had room; else 'not_held'. It never evicts a DM already held.
 */
export const HOLD_UNLESS_ONLINE = script(`
local userNodesKey = KEYS[1]
local userInboxKey = KEYS[2]
local dm = ARGV[1]
local maxHeld = tonumber(ARGV[2])
local keepForMs = ARGV[3]
if redis.call('HLEN', userNodesKey) > 0 then return 'online' end
if keepForMs == '' or redis.call('LLEN', userInboxKey) >= maxHeld then return 'not_held' end
redis.call('RPUSH', userInboxKey, dm)
redis.call('PEXPIRE', userInboxKey, keepForMs)
return 'held'`);

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

/**
 * KEYS: roomUsers. ARGV: limit. Returns {members, user...}: every user when there are at most
 * `limit`, else some `limit` of them, read by HSCAN so that the work is bounded by `limit`
 * rather than by the size of the room.
 */
export const ROOM_MEMBERS = script(`
local roomUsersKey = KEYS[1]
local limit = tonumber(ARGV[1])
local count = redis.call('HLEN', roomUsersKey)
if count <= limit then
  local users = redis.call('HKEYS', roomUsersKey)
  table.insert(users, 1, count)
  return users
end
if limit < 1 then return {count} end
local answer = {count}
local seen = {}
local cursor = '0'
repeat
  local page = redis.call('HSCAN', roomUsersKey, cursor, 'COUNT', limit)
  cursor = page[1]
  local entries = page[2]
  -- HSCAN may answer a user twice; entries alternate user, sockets.
  for i = 1, #entries, 2 do
    local user = entries[i]
    if #answer > limit then break end
    if not seen[user] then
      seen[user] = true
      answer[#answer + 1] = user
    end
  end
until cursor == '0' or #answer > limit
return answer`);

/**
 * KEYS: roomUsers, roomNodeUsers. Takes back a dead node's sockets; returns {members left in the
 * room, memberships the node held, user...} with the users who left the room.
 */
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
table.insert(left, 1, #entries / 2)
table.insert(left, 1, redis.call('HLEN', roomUsersKey))
return left`);
