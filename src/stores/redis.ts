/**
 * `sessionkit/stores/redis` — a session store on Redis ≥ 6.2 (or Valkey), standalone, Sentinel
 * or Cluster, through a client you already have (ioredis or node-redis; {@link RedisClientLike}).
 *
 * Keys (`docs/stores/redis.md`): record `<prefix>s:{<key>}` (a hash: `d` data, `v` version,
 * `e` expiresAt, `u` user id or `''`) with native expiry (`PEXPIREAT`); lease lock
 * `<prefix>l:{<key>}`; per-user index `<prefix>u:{<base64url(sha256(userId))>}`, a sorted set of
 * store keys scored by the expiry they were written with. Every Lua script touches exactly one
 * key (Cluster-safe) and receives keys, user ids and payloads as parameters only.
 */

import { createHash } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import {
  assertExpiresAt,
  assertLockOptions,
  assertStoreKey,
  assertStoreRecord,
  isStoreKey,
  type SessionStore,
  type StoreEntry,
  type StoreRecord,
  throwIfAborted,
  toStoreError,
} from '../core/store.js';

const NAME = 'redis';
const PREFIX_PATTERN = /^[A-Za-z0-9:._-]{0,64}$/;
const SCAN_COUNT = 500;

/** ARGV: ifVersion ('' | '0' | n), data, version, expiresAt, userId or '', now, expiry (integer ms). */
const SET = `local k, c, now = KEYS[1], ARGV[1], tonumber(ARGV[6])
local r = redis.call('HMGET', k, 'v', 'e')
local live = r[2] and tonumber(r[2]) > now
if (c == '0' and live) or (c ~= '' and c ~= '0' and (not live or r[1] ~= c)) then return 0 end
if tonumber(ARGV[4]) <= now then redis.call('DEL', k) return 1 end
redis.call('HSET', k, 'd', ARGV[2], 'v', ARGV[3], 'e', ARGV[4], 'u', ARGV[5])
redis.call('PEXPIREAT', k, ARGV[7])
return 1`;
/** ARGV: expiresAt, now, expiry (integer ms). Rewrites only `e` and the key's expiry. */
const TOUCH = `local e = redis.call('HGET', KEYS[1], 'e')
if not e or tonumber(e) <= tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[1]) <= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return 1 end
redis.call('HSET', KEYS[1], 'e', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1`;
/** ARGV: ifVersion or '', now, userId or '' (any). Returns the deleted record's user ('' if none). */
const DELETE = `local r = redis.call('HMGET', KEYS[1], 'v', 'e', 'u')
if not r[2] then return false end
if tonumber(r[2]) <= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return false end
if (ARGV[1] ~= '' and r[1] ~= ARGV[1]) or (ARGV[3] ~= '' and r[3] ~= ARGV[3]) then return false end
redis.call('DEL', KEYS[1])
return r[3]`;
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

/** A Lua script of the store: always over exactly one key (`KEYS[1]`), values only in `ARGV`. */
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

type Arg = string | number;
/** ioredis `Redis` (standalone or Sentinel) or `Cluster` (v5, v6): raw commands via `call`. */
export interface IoredisClientLike {
  /** Send one command. */
  call(command: string, ...args: Arg[]): Promise<unknown>;
  /** A Cluster's nodes (used to `SCAN` every master). */
  nodes?(role: 'master'): IoredisClientLike[];
}
/** A node-redis (v4–v6) `createClient()` client. */
export interface NodeRedisClientLike {
  /** Send one command. */
  sendCommand(args: string[]): Promise<unknown>;
}
/** A node-redis `createCluster()` cluster. */
export interface NodeRedisClusterLike {
  /** Send one command to the master of `firstKey`'s slot. */
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  /** The masters (used to `SCAN` every master). */
  readonly masters: readonly unknown[];
  /** The client of one node. */
  nodeClient(node: unknown): Promise<NodeRedisClientLike>;
}
/** A node-redis `createSentinel()` client. */
export interface NodeRedisSentinelLike {
  /** Send one command (to the master when `isReadonly` is false). */
  sendCommand(isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
  /** The current master. */
  getMasterNode(): unknown;
}
/** A connected Redis client: ioredis or node-redis, standalone, Sentinel or Cluster. */
export type RedisClientLike =
  | IoredisClientLike
  | NodeRedisClientLike
  | NodeRedisClusterLike
  | NodeRedisSentinelLike;

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /** A connected client. The store never connects, quits or closes it. Required. */
  client: RedisClientLike;
  /** Prefix of every key; must match `/^[A-Za-z0-9:._-]{0,64}$/` (no hash tag, no glob). @default 'sessionkit:' */
  prefix?: string | undefined;
}

/**
 * Create a Redis session store. Throws `ConfigError` (`ERR_SESSION_CONFIG`) for a client of
 * neither known shape or an invalid `prefix`. Implements the whole contract (`lock`, `prune`,
 * `ids`, `listByUser`, `deleteByUser`); a failing backend rejects with `StoreError`
 * (`ERR_SESSION_STORE`), an aborted signal with its reason. No `close`: the store owns nothing.
 */
export function redisStore(options: RedisStoreOptions): SessionStore {
  const { send, masters } = connector(options?.client);
  const prefix = options.prefix ?? 'sessionkit:';
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError('redisStore: `prefix` must match /^[A-Za-z0-9:._-]{0,64}$/.');
  }
  const rk = (key: string) => `${prefix}s:{${key}}`;
  const lk = (key: string) => `${prefix}l:{${key}}`;
  const uk = (userId: string) => `${prefix}u:{${userTag(userId)}}`;
  const script = async (name: RedisScriptName, key: string, args: Arg[]) => {
    const { sha, source } = REDIS_SCRIPTS[name];
    try {
      return await send(key, ['EVALSHA', sha, 1, key, ...args]);
    } catch (error) {
      // The server's script cache is empty (restart, failover, new node): EVAL also caches it.
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return await send(key, ['EVAL', source, 1, key, ...args]);
    }
  };
  const ok = async (name: RedisScriptName, key: string, args: Arg[]) =>
    (await script(name, key, args)) === 1;
  const read = (key: string) => send(rk(key), ['HMGET', rk(key), 'd', 'v', 'e', 'u']);
  const rows = (keys: [string, number][]) =>
    Promise.all(keys.map(([key]) => (isStoreKey(key) ? read(key) : null)));
  const index = async (idx: string, ...range: Arg[]) =>
    pairs(await send(idx, ['ZRANGE', idx, ...range, 'WITHSCORES']));
  // Every master in turn (a Cluster spreads keys over them); SCAN may repeat a key.
  async function* scan(op: string, signal: AbortSignal | undefined, kind: string, type: string) {
    const nodes = await backend(op, signal, async () => {
      const found = await masters();
      if (found.length === 0) throw new Error('No Redis master node is known (not connected).');
      return found;
    });
    const match = `${prefix}${kind}:{*}`;
    for (const node of nodes) {
      let cursor = '0';
      do {
        throwIfAborted(signal);
        const args = ['SCAN', cursor, 'MATCH', match, 'COUNT', SCAN_COUNT, 'TYPE', type];
        const reply = (await backend(op, signal, () => node(args))) as [unknown, unknown[]];
        cursor = String(reply[0]);
        for (const name of reply[1]) yield String(name);
      } while (cursor !== '0');
    }
  }

  return {
    name: NAME,
    async get(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return undefined;
      return toRecord(await backend('get', o?.signal, () => read(key)), Date.now());
    },
    async set(key, record, o) {
      throwIfAborted(o?.signal);
      assertStoreKey(key);
      assertStoreRecord(record);
      const { data, version, expiresAt: e, userId } = record;
      const c = o?.ifVersion === undefined ? '' : String(o.ifVersion);
      return backend('set', o?.signal, async () => {
        // The index lives in another slot: add first, so a written record is always indexed.
        if (userId !== null) await send(uk(userId), ['ZADD', uk(userId), e, key]);
        const now = Date.now();
        return ok('set', rk(key), [c, data, version, e, userId ?? '', now, Math.ceil(e)]);
      });
    },
    async touch(key, e, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      assertExpiresAt(e);
      return backend('touch', o?.signal, () => ok('touch', rk(key), [e, Date.now(), Math.ceil(e)]));
    },
    async delete(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      return backend('delete', o?.signal, async () => {
        const user = await script('delete', rk(key), [o?.ifVersion ?? '', Date.now(), '']);
        if (typeof user !== 'string') return false;
        if (user !== '') await send(uk(user), ['ZREM', uk(user), key]);
        return true;
      });
    },
    async lock(key, o) {
      throwIfAborted(o.signal);
      assertStoreKey(key);
      assertLockOptions(o);
      return backend('lock', o.signal, () => ok('lock', lk(key), [o.owner, Math.ceil(o.ttl)]));
    },
    async unlock(key, o) {
      throwIfAborted(o.signal);
      if (!isStoreKey(key)) return false;
      assertLockOptions(o, false);
      return backend('unlock', o.signal, () => ok('unlock', lk(key), [o.owner]));
    },
    async listByUser(userId, o) {
      throwIfAborted(o?.signal);
      return backend('listByUser', o?.signal, async () => {
        const members = await index(uk(userId), 0, -1);
        const found = await rows(members);
        const now = Date.now();
        const entries: StoreEntry[] = [];
        const stale: Arg[] = [];
        for (const [i, [key, score]] of members.entries()) {
          const record = toRecord(found[i], now);
          if (record?.userId === userId) entries.push({ key, record });
          // A missing record whose indexed expiry is still ahead may be a write in flight: keep it.
          else if (!isMissing(found[i]) || score <= now) stale.push(key, score);
        }
        if (stale.length > 0) await script('unindex', uk(userId), stale);
        return entries;
      });
    },
    async deleteByUser(userId, o) {
      throwIfAborted(o?.signal);
      const keep = new Set(o?.except ?? []);
      return backend('deleteByUser', o?.signal, async () => {
        const members = await index(uk(userId), 0, -1);
        const doomed = members.map(([key]) => key).filter((k) => isStoreKey(k) && !keep.has(k));
        const now = Date.now();
        const users = await Promise.all(
          doomed.map((key) => script('delete', rk(key), ['', now, userId])),
        );
        const deleted = doomed.filter((_, i) => typeof users[i] === 'string');
        if (deleted.length > 0) await send(uk(userId), ['ZREM', uk(userId), ...deleted]);
        return deleted.length;
      });
    },
    async prune(o) {
      throwIfAborted(o?.signal);
      let removed = 0;
      // Records and locks expire natively: what is left are index entries of vanished records.
      for await (const idx of scan('prune', o?.signal, 'u', 'zset')) {
        removed += await backend('prune', o?.signal, async () => {
          const now = Date.now();
          const due = await index(idx, '-inf', now, 'BYSCORE');
          const found = await rows(due);
          const stale = due.flatMap(([key, score], i) => {
            const user = toRecord(found[i], now)?.userId;
            return user != null && uk(user) === idx ? [] : [key, score];
          });
          return stale.length > 0 ? Number(await script('unindex', idx, stale)) : 0;
        });
      }
      return removed;
    },
    async *ids(o) {
      const seen = new Set<string>();
      for await (const name of scan('ids', o?.signal, 's', 'hash')) {
        const key = name.slice(prefix.length + 3, -1);
        if (isStoreKey(key) && name === rk(key) && !seen.has(key)) {
          seen.add(key);
          yield key;
        }
      }
    },
  };
}

/** Run backend work; the single place where client errors become `StoreError`s. */
async function backend<T>(
  op: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toStoreError(NAME, op, error, signal);
  }
}

function lua(source: string): RedisScript {
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') });
}

type Send = (key: string | undefined, args: Arg[]) => Promise<unknown>;
type NodeSend = (args: Arg[]) => Promise<unknown>;

/** Detect the client's flavour once: how to send a command, and how to reach every master. */
function connector(client: RedisClientLike): { send: Send; masters: () => Promise<NodeSend[]> } {
  const c = client as Partial<IoredisClientLike & NodeRedisClusterLike & NodeRedisSentinelLike>;
  const str = (args: Arg[]) => args.map(String);
  if (typeof c?.call === 'function') {
    const io = client as IoredisClientLike;
    const via = (node: IoredisClientLike) => (args: Arg[]) =>
      node.call(String(args[0]), ...args.slice(1));
    const one = via(io);
    return {
      send: (_key, args) => one(args),
      masters: async () => (typeof io.nodes === 'function' ? io.nodes('master').map(via) : [one]),
    };
  }
  if (typeof c?.sendCommand !== 'function') {
    throw new ConfigError('redisStore: `client` must be a connected ioredis or node-redis client.');
  }
  if (typeof c.nodeClient === 'function' && c.masters !== undefined) {
    const cluster = client as NodeRedisClusterLike;
    return {
      send: (key, args) => cluster.sendCommand(key, false, str(args)),
      masters: async () =>
        (await Promise.all(cluster.masters.map((m) => cluster.nodeClient(m)))).map(
          (node) => (args: Arg[]) => node.sendCommand(str(args)),
        ),
    };
  }
  const one: NodeSend =
    typeof c.getMasterNode === 'function'
      ? (args) => (client as NodeRedisSentinelLike).sendCommand(false, str(args))
      : (args) => (client as NodeRedisClientLike).sendCommand(str(args));
  return { send: (_key, args) => one(args), masters: async () => [one] };
}

/** The hash tag of a user's index: a digest, so no user id (or `{`) ever reaches a key. */
function userTag(userId: string): string {
  return createHash('sha256').update(userId).digest('base64url');
}

/** `ZRANGE … WITHSCORES` as [member, score] pairs, from a RESP2 (flat) or RESP3 (nested) reply. */
function pairs(reply: unknown): [string, number][] {
  const flat = Array.isArray(reply) ? (reply.flat() as unknown[]) : [];
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), Number(flat[i + 1])]);
  return out;
}

function isMissing(row: unknown): boolean {
  return !Array.isArray(row) || row.every((field) => field === null || field === undefined);
}

/** An `HMGET d v e u` reply as a live record, or `undefined` (missing, expired or malformed). */
function toRecord(row: unknown, now: number): StoreRecord | undefined {
  if (!Array.isArray(row)) return undefined;
  const [data, v, e, u] = row as unknown[];
  const version = Number(v);
  const expiresAt = Number(e);
  if (typeof data !== 'string' || !Number.isSafeInteger(version) || version < 1) return undefined;
  if (typeof e !== 'string' || !(expiresAt > now) || typeof u !== 'string') return undefined;
  return { data, version, expiresAt, userId: u === '' ? null : u };
}
