/**
 * Private module (never in the exports map; `redis.ts` re-exports {@link REDIS_SCRIPTS}): the
 * store's Lua scripts. Each receives keys as `KEYS` and every value (user ids, payloads, owners,
 * times) as `ARGV`, never in its text. Every script works on one key, except that `set` also
 * updates the user's index (`KEYS[2]`) when the store is not on a Cluster. Records of the
 * previous (hash) layout are read through `load` and rewritten in the string layout of
 * `_redis-record.ts` by every script that writes them.
 */

import { createHash } from 'node:crypto';

/**
 * Shared by the record scripts. `load(k, full)`: the record under `k` as `v, e, x, u, d`
 * (version, expiresAt, indexed score, escaped user, data when `full`), or nothing when there is
 * no record of either layout; `alive(e, now)`: whether expiry `e` is after `now`.
 */
const PRELUDE = `local function load(k, full)
  local cur = redis.pcall('GET', k)
  if type(cur) == 'table' then
    local r = redis.call('HMGET', k, 'v', 'e', 'u', 'd')
    if not (r[1] and r[2] and r[3] and r[4]) then return nil end
    return r[1], r[2], '', (string.gsub(string.gsub(r[3], '%%', '%%25'), '\\n', '%%0A')), r[4]
  end
  if not cur then return nil end
  local v, e, x, u, p = string.match(cur, '^1|(%d+)|([^|]+)|([^|]*)|([^\\n]*)\\n()')
  if not p then return nil end
  return v, e, x, u, full and string.sub(cur, p)
end
local function alive(e, now)
  local t = e and tonumber(e)
  return t ~= nil and t > now
end
`;

/**
 * KEYS: record[, the user's index]. ARGV: ifVersion ('' | '0' | n), now, expiresAt, Redis
 * expiry (integer ms), value, escaped user or '', store key, index score, '1' when the caller
 * has already indexed the key at that score; with no user (`''`) the last three are never read
 * and may be left out. Returns 1 (written), 0 (precondition failed) or 2 (the index needs the key
 * first and `KEYS[2]` was not given).
 */
const SET = `${PRELUDE}local c, now = ARGV[1], tonumber(ARGV[2])
local v, e, x, u = load(KEYS[1], false)
local live = alive(e, now)
if (c == '0' and live) or (c ~= '' and c ~= '0' and (not live or v ~= c)) then return 0 end
local user, indexed = ARGV[6], ARGV[9] == '1'
if tonumber(ARGV[3]) <= now then
  redis.call('DEL', KEYS[1])
  if user ~= '' and not indexed and KEYS[2] then redis.call('ZADD', KEYS[2], ARGV[8], ARGV[7]) end
  return 1
end
if user ~= '' and not indexed and not (live and u == user and (tonumber(x) or 0) >= tonumber(ARGV[4])) then
  if not KEYS[2] then return 2 end
  redis.call('ZADD', KEYS[2], ARGV[8], ARGV[7])
end
redis.call('SET', KEYS[1], ARGV[5], 'PXAT', ARGV[4])
return 1`;
/** ARGV: expiresAt, now, Redis expiry (integer ms). Rewrites the header's expiry, keeps the rest. */
const TOUCH = `${PRELUDE}local now = tonumber(ARGV[2])
local v, e, x, u, d = load(KEYS[1], true)
if not alive(e, now) then return 0 end
if tonumber(ARGV[1]) <= now then redis.call('DEL', KEYS[1]) return 1 end
redis.call('SET', KEYS[1], '1|' .. v .. '|' .. ARGV[1] .. '|' .. x .. '|' .. u .. '\\n' .. d, 'PXAT', ARGV[3])
return 1`;
/** ARGV: ifVersion or '', now, escaped user or '' (any). Returns the deleted record's escaped user ('' if none). */
const DELETE = `${PRELUDE}local now = tonumber(ARGV[2])
local v, e, x, u = load(KEYS[1], false)
if not e then return false end
if not alive(e, now) then redis.call('DEL', KEYS[1]) return false end
if (ARGV[1] ~= '' and v ~= ARGV[1]) or (ARGV[3] ~= '' and u ~= ARGV[3]) then return false end
redis.call('DEL', KEYS[1])
return u`;
/** ARGV: owner, ttl (integer ms). Takes a free lock or renews the owner's own. */
const LOCK = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;
/** ARGV: owner. Only the owner releases (compare-and-delete). */
const UNLOCK = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;
/** On an index. ARGV: member, score, member, score… — removes members whose score is unchanged. */
const UNINDEX = `local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) == tonumber(ARGV[i + 1]) then n = n + redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return n`;

/** Names of the store's Lua scripts. */
export type RedisScriptName = 'set' | 'touch' | 'delete' | 'lock' | 'unlock' | 'unindex';

/**
 * A Lua script of the store: keys only in `KEYS` (one, or for `set` outside a Cluster the record
 * and its user's index), values only in `ARGV`.
 */
export interface RedisScript {
  /** Lua source. */
  readonly source: string;
  /** SHA-1 of the source, as `EVALSHA` wants it. */
  readonly sha: string;
}

/** Every Lua script of the store (for audits, and for pre-loading with `SCRIPT LOAD`). */
export const REDIS_SCRIPTS: Readonly<Record<RedisScriptName, RedisScript>> = Object.freeze({
  set: lua(SET),
  touch: lua(TOUCH),
  delete: lua(DELETE),
  lock: lua(LOCK),
  unlock: lua(UNLOCK),
  unindex: lua(UNINDEX),
});

function lua(source: string): RedisScript {
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') });
}
