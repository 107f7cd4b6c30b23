import { script } from "../redis/connection.js";

/**
 * KEYS: log, logStart, and logSeen when there is a clientId. ARGV: from, text, max length, seen TTL ms.
 * Appends unless the clientId was seen; records the clientId in the same step.
 * Returns {1, id, prev} for a new entry, or {0, id, prev, text} for the first one of that clientId.
 */
export const APPEND = script(`
local logKey = KEYS[1]
local logStartKey = KEYS[2]
local logSeenKey = KEYS[3]
local from = ARGV[1]
local text = ARGV[2]
local maxLength = ARGV[3]
local seenTtlMs = ARGV[4]
if logSeenKey then
  local seen = redis.call('GET', logSeenKey)
  if seen then
    local first = cjson.decode(seen)
    return {0, first.id, first.prev, first.text}
  end
end
local last = redis.call('XREVRANGE', logKey, '+', '-', 'COUNT', 1)
local prev = ''
if #last > 0 then prev = last[1][1] end
local id = redis.call('XADD', logKey, 'MAXLEN', '~', maxLength, '*', 'from', from, 'text', text, 'prev', prev)
redis.call('SET', logStartKey, id, 'NX')
if logSeenKey then
  redis.call('SET', logSeenKey, cjson.encode({id = id, prev = prev, text = text}), 'PX', seenTtlMs)
end
return {1, id, prev}`);

/**
 * KEYS: log, logStart. ARGV: stream id.
 * Returns {complete, entries}: the entries after the id, and whether the log still reaches back to
 * it (nothing after it was trimmed, and Redis has not lost the log since). Trimming drops the
 * oldest entries, so the `prev` of the oldest entry held is the newest entry dropped; XINFO's
 * max-deleted-entry-id cannot tell, as XADD's MAXLEN does not update it.
 */
export const AFTER = script(`
local logKey = KEYS[1]
local logStartKey = KEYS[2]
local since = ARGV[1]
local function older(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams < bms or (ams == bms and aseq < bseq)
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
return {complete, redis.call('XRANGE', logKey, '(' .. since, '+')}`);
