import { script } from "../redis/connection.js";

/** Creates a claim unless one exists. Returns 1 when created, 0 when a claim was there. */
export const CLAIM_CREATE = script(`
local claimKey = KEYS[1]
local name, salt, hash, ttlMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', claimKey) == 1 then return 0 end
redis.call('HSET', claimKey, 'name', name, 'salt', salt, 'hash', hash)
redis.call('PEXPIRE', claimKey, ttlMs)
return 1`);

/** Keeps a claim alive if it is the claim of exactly that name. Returns 1 when it was. */
export const CLAIM_TOUCH = script(`
local claimKey = KEYS[1]
local name, ttlMs = ARGV[1], ARGV[2]
if redis.call('HGET', claimKey, 'name') ~= name then return 0 end
redis.call('PEXPIRE', claimKey, ttlMs)
return 1`);
