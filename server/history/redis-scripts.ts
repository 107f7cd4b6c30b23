import { script } from "../redis/connection.js";

/**
 * KEYS: log, logStart, and logSeen when there is a clientId. ARGV: from, text, max length, seen TTL ms.
 * Appends unless the clientId was seen; records the clientId in the same step.
 * Returns {1, id, prev} for a new entry, or {0, id, prev, text} for the first one of that clientId.
 */
export const APPEND = script(`
if #KEYS == 3 then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local first = cjson.decode(seen)
    return {0, first.id, first.prev, first.text}
  end
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local prev = ''
if #last > 0 then prev = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'from', ARGV[1], 'text', ARGV[2], 'prev', prev)
redis.call('SET', KEYS[2], id, 'NX')
if #KEYS == 3 then
  redis.call('SET', KEYS[3], cjson.encode({id = id, prev = prev, text = ARGV[2]}), 'PX', ARGV[4])
end
return {1, id, prev}`);

/**
 * KEYS: log, logStart. ARGV: stream id.
 * Returns {complete, entries}: the entries after the id, and whether the log still reaches back to
 * it (nothing after it was trimmed, and Redis has not lost the log since).
 */
export const AFTER = script(`
local function older(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  return ams < bms or (ams == bms and aseq < bseq)
end
local start = redis.call('GET', KEYS[2])
if not start or redis.call('EXISTS', KEYS[1]) == 0 then return {0, {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local trimmed = '0-0'
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then trimmed = info[i + 1] end
end
local complete = 1
if older(ARGV[1], start) or older(ARGV[1], trimmed) then complete = 0 end
return {complete, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')}`);
