import { script } from "../redis/connection.js";

/**
 * Lua: `markDeleted(deletedKey, entries)` blanks the text of every entry whose id the log's
 * tombstone hash holds, and adds the field `deleted` 1. One EXISTS when nothing was deleted.
 */
const MARK_DELETED = `
local function markDeleted(deletedKey, entries)
  if redis.call('EXISTS', deletedKey) == 0 then return entries end
  for _, entry in ipairs(entries) do
    if redis.call('HEXISTS', deletedKey, entry[1]) == 1 then
      local fields = entry[2]
      for i = 1, #fields, 2 do
        if fields[i] == 'text' then fields[i + 1] = '' end
      end
      fields[#fields + 1] = 'deleted'
      fields[#fields + 1] = '1'
    end
  end
  return entries
end`;

/**
 * KEYS: log, logStart, logDeleted, then the guard when ARGV says so, and logSeen when there is a
 * clientId.
 * ARGV: from, text, max length, log TTL ms, clientId TTL ms, publish channel ("" for none),
 * publish head, publish tail, "1" when there is a guard (else "0"), then field, value pairs to
 * store too.
 * Appends unless the clientId was seen, and records the clientId (its stream id alone) in the same
 * step. While the guard key exists (a mute), nothing is stored and the answer is {2, the guard's
 * value}, even for a repeated clientId. Every append sets the TTL of the log and of its start key,
 * so a log lives `log TTL` after its last append. With a channel, a new entry is also published
 * there (SPUBLISH, in the log's slot) as
 * head .. `,"id":"<message id>","ts":<ms>,"prev":"<message id>"` .. tail:
 * one round trip per message, and every subscriber sees a log's messages in id order.
 * Returns {1, id, prev} for a new entry; for a clientId seen before, {0, id, prev, text, fields} of
 * the entry it produced (text "" and fields ending in deleted 1 when it was deleted since), or
 * {0, id} when the log no longer holds that entry (trimmed).
 */
export const APPEND = script(`
${MARK_DELETED}
local logKey = KEYS[1]
local logStartKey = KEYS[2]
local logDeletedKey = KEYS[3]
local from = ARGV[1]
local text = ARGV[2]
local maxLength = ARGV[3]
local logTtlMs = ARGV[4]
local seenTtlMs = ARGV[5]
local channel = ARGV[6]
local guardKey = nil
local logSeenKey = KEYS[4]
if ARGV[9] == '1' then
  guardKey = KEYS[4]
  logSeenKey = KEYS[5]
end
local FIRST_ATTR = 10
if guardKey then
  local guard = redis.call('GET', guardKey)
  if guard then return {2, guard} end
end
if logSeenKey then
  local firstId = redis.call('GET', logSeenKey)
  if firstId then
    local entries = markDeleted(logDeletedKey, redis.call('XRANGE', logKey, firstId, firstId))
    if #entries == 0 then return {0, firstId} end
    local fields = entries[1][2]
    local first = {}
    for i = 1, #fields, 2 do first[fields[i]] = fields[i + 1] end
    return {0, firstId, first.prev, first.text, fields}
  end
end
local last = redis.call('XREVRANGE', logKey, '+', '-', 'COUNT', 1)
local prev = ''
if #last > 0 then prev = last[1][1] end
local add = {'XADD', logKey, 'MAXLEN', '~', maxLength, '*', 'from', from, 'text', text, 'prev', prev}
for i = FIRST_ATTR, #ARGV do add[#add + 1] = ARGV[i] end
local id = redis.call(unpack(add))
if prev == '' then
  -- The log held nothing: a new life starts here, whatever start key an older one left behind.
  redis.call('SET', logStartKey, id)
else
  -- Only a start key Redis lost is written again, and then conservatively at this entry.
  redis.call('SET', logStartKey, id, 'NX')
end
redis.call('PEXPIRE', logKey, logTtlMs)
redis.call('PEXPIRE', logStartKey, logTtlMs)
redis.call('PEXPIRE', logDeletedKey, logTtlMs)
if logSeenKey then redis.call('SET', logSeenKey, id, 'PX', seenTtlMs) end
if channel ~= '' then
  -- A message id is the stream id with its parts zero-padded to 13 and 6 digits (redis.ts).
  local function messageId(streamId)
    if streamId == '' then return '' end
    local ms, seq = string.match(streamId, '^(%d+)-(%d+)$')
    return string.rep('0', 13 - #ms) .. ms .. '-' .. string.rep('0', 6 - #seq) .. seq
  end
  local ms = string.match(id, '^(%d+)-')
  redis.call('SPUBLISH', channel, ARGV[7] .. ',"id":"' .. messageId(id) .. '","ts":' .. ms ..
    ',"prev":"' .. messageId(prev) .. '"' .. ARGV[8])
end
return {1, id, prev}`);

/**
 * KEYS: log, logStart, logDeleted. ARGV: stream id.
 * Returns {complete, entries}: the entries after the id, and whether the log still reaches back to
 * it (nothing after it was trimmed, and the log has not expired nor been lost by Redis since).
 * Trimming drops the oldest entries, so the `prev` of the oldest entry held is the newest entry
 * dropped; XINFO's max-deleted-entry-id cannot tell, as XADD's MAXLEN does not update it.
 * Ids (Redis's own, and ARGV's, both without leading zeros) are compared digit by digit: a sequence
 * may exceed what a Lua number holds exactly (2^53).
 */
export const AFTER = script(`
${MARK_DELETED}
local logKey = KEYS[1]
local logStartKey = KEYS[2]
local logDeletedKey = KEYS[3]
local since = ARGV[1]
local function lessDigits(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function older(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if ams ~= bms then return lessDigits(ams, bms) end
  return lessDigits(aseq, bseq)
end
local start = redis.call('GET', logStartKey)
if not start or redis.call('EXISTS', logKey) == 0 then return {0, {}} end
local dropped = '0-0'
local oldest = redis.call('XRANGE', logKey, '-', '+', 'COUNT', 1)
if #oldest > 0 then
  local fields = oldest[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'prev' and fields[i + 1] ~= '' then dropped = fields[i + 1] end
  end
end
local complete = 1
if older(since, start) or older(since, dropped) then complete = 0 end
return {complete, markDeleted(logDeletedKey, redis.call('XRANGE', logKey, '(' .. since, '+'))}`);

/**
 * KEYS: log, logDeleted. ARGV: end ('+', or an exclusive '(id'), count.
 * Returns up to count entries before the end, newest first, deleted ones marked.
 */
export const BEFORE = script(`
${MARK_DELETED}
return markDeleted(KEYS[2], redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', ARGV[2]))`);

/**
 * KEYS: log, logDeleted. ARGV: stream id.
 * Tombstones the entry: reads give it back without its text, marked deleted, with its id and
 * prev, so chains stay whole. The tombstones live as long as the log. Returns 0 when the log does
 * not hold that entry.
 */
export const DELETE = script(`
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], '1')
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1`);
