/**
 * `sessionkit/stores/redis` — a session store on Redis ≥ 6.2 (or Valkey), standalone, Sentinel
 * or Cluster, through a client you already have (ioredis or node-redis; {@link RedisClientLike}).
 *
 * Keys (`docs/stores/redis.md`): record `<prefix>s:{<key>}` (a string, layout in
 * `_redis-record.ts`) with native expiry (`SET … PXAT`); lease lock `<prefix>l:{<key>}`; per-user
 * index `<prefix>u:{<base64url(sha256(userId))>}`, a sorted set of store keys scored at or after
 * the expiry they were indexed for. A write is one script (`_redis-scripts.ts`) that also updates
 * the index when the key is new to it — in the same script outside a Cluster, by a `ZADD` sent
 * first on a Cluster. Records of the previous (hash) layout are read and converted on write.
 */

import { createHash } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import {
  assertExpiresAt,
  assertLockOptions,
  assertStoreKey,
  isStoreKey,
  NO_RECORD,
  refusal,
  type SessionStore,
  type StoreEntry,
  throwIfAborted,
  toStoreError,
} from '../core/store.js';
import { connector, isReplyError, type RedisArg, type RedisClientLike } from './_redis-client.js';
import {
  decodeLive,
  decodeRecord,
  encodeRecord,
  escapeUser,
  indexScore,
  LEGACY_FIELDS,
  unescapeUser,
} from './_redis-record.js';
import { REDIS_SCRIPTS, type RedisScriptName } from './_redis-scripts.js';

export type {
  IoredisClientLike,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  NodeRedisSentinelLike,
  RedisClientLike,
} from './_redis-client.js';
export { REDIS_SCRIPTS, type RedisScript, type RedisScriptName } from './_redis-scripts.js';

const NAME = 'redis';
const PREFIX_PATTERN = /^[A-Za-z0-9:._-]{0,64}$/;
const SCAN_COUNT = 500;

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
  const { send, masters, cluster } = connector(options?.client);
  const prefix = options.prefix ?? 'sessionkit:';
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError('redisStore: `prefix` must match /^[A-Za-z0-9:._-]{0,64}$/.');
  }
  // Record and index in one script unless they may live on different nodes. A server that
  // refuses it anyway (a proxy in front of a cluster) answers CROSSSLOT before running it.
  let joint = !cluster;
  const rk = (key: string) => `${prefix}s:{${key}}`;
  const lk = (key: string) => `${prefix}l:{${key}}`;
  const uk = (userId: string) => `${prefix}u:{${userTag(userId)}}`;
  // EVALSHA; when the server's script cache is empty (restart, failover, new node), EVAL, which
  // also caches it. Rejects with the client's error (callers map it); never throws.
  const script = (name: RedisScriptName, keys: string[], args: RedisArg[]): Promise<unknown> => {
    const { sha, source } = REDIS_SCRIPTS[name];
    return send(keys[0], ['EVALSHA', sha, keys.length, ...keys, ...args]).then(
      undefined,
      (error: unknown) => {
        if (!isReplyError(error, 'NOSCRIPT')) throw error;
        return send(keys[0], ['EVAL', source, keys.length, ...keys, ...args]);
      },
    );
  };
  const ok = async (name: RedisScriptName, key: string, args: RedisArg[]) =>
    (await script(name, [key], args)) === 1;
  // One GET; a record of the previous layout (a hash) answers WRONGTYPE and is read with HMGET.
  // Rejects with the client's error (callers map it); never throws.
  const read = (key: string): Promise<unknown> => {
    const name = rk(key);
    return send(name, ['GET', name]).then(undefined, (error: unknown) => {
      if (!isReplyError(error, 'WRONGTYPE')) throw error;
      return send(name, ['HMGET', name, ...LEGACY_FIELDS]);
    });
  };
  const rows = (keys: [string, number][]) =>
    Promise.all(keys.map(([key]) => (isStoreKey(key) ? read(key) : null)));
  const index = async (idx: string, ...range: RedisArg[]) =>
    pairs(await send(idx, ['ZRANGE', idx, ...range, 'WITHSCORES']));
  // Every master in turn (a Cluster spreads keys over them); SCAN may repeat a key.
  async function* scan(op: string, signal: AbortSignal | undefined, kind: string) {
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
        const args = ['SCAN', cursor, 'MATCH', match, 'COUNT', SCAN_COUNT];
        const reply = (await backend(op, signal, () => node(args))) as [unknown, unknown[]];
        cursor = String(reply[0]);
        for (const name of reply[1]) yield String(name);
      } while (cursor !== '0');
    }
  }
  /** Index `key` for `userId` at `score` (on a Cluster, before the record is written). */
  const addToIndex = (userId: string, score: number, key: string) =>
    send(uk(userId), ['ZADD', uk(userId), score, key]);

  return {
    name: NAME,
    // `get` and an anonymous `set` are every request's store calls: plain promise chains (one
    // reaction on the client's promise) rather than async functions nested three deep.
    get(key, o) {
      const signal = o?.signal;
      const refused = refusal(signal);
      if (refused !== undefined) return refused;
      if (!isStoreKey(key)) return NO_RECORD;
      return read(key).then(decodeLive, (error: unknown) => {
        throw toStoreError(NAME, 'get', error, signal);
      });
    },
    set(key, record, o) {
      const signal = o?.signal;
      const refused = refusal(signal, key, record);
      if (refused !== undefined) return refused;
      const { expiresAt: e, userId } = record;
      const c = o?.ifVersion === undefined ? '' : String(o.ifVersion);
      if (userId === null) {
        // Anonymous: the script never reads the index arguments (ARGV[7] to [9]), so they are not
        // sent — ioredis copies and encodes every argument of every command.
        const now = Date.now();
        const value = encodeRecord(record, '');
        const args: RedisArg[] = [c, now, e, Math.ceil(e), value, ''];
        return script('set', [rk(key)], args).then(isOne, (error: unknown) => {
          throw toStoreError(NAME, 'set', error, signal);
        });
      }
      return backend('set', signal, async () => {
        const now = Date.now();
        const pxat = Math.ceil(e);
        // A dead write leaves only its index entry, due at once, for prune to count.
        const score = e <= now ? pxat : indexScore(pxat);
        const value = encodeRecord(record, score);
        const args = [c, now, e, pxat, value, escapeUser(userId), key, score];
        const run = async (keys: string[], indexed: '' | '1') =>
          Number(await script('set', keys, [...args, indexed]));
        if (joint) {
          try {
            return (await run([rk(key), uk(userId)], '')) === 1;
          } catch (error) {
            if (!isReplyError(error, 'CROSSSLOT')) throw error;
            joint = false;
          }
        }
        // The index lives on another node: add first, so a written record is always indexed —
        // for a create or an unconditional write at once, for a replace only if the script says
        // the record's index entry does not cover this write (new user, later bucket).
        if (c !== '' && c !== '0' && e > now) {
          const reply = await run([rk(key)], '');
          if (reply !== 2) return reply === 1;
        }
        await addToIndex(userId, score, key);
        return (await run([rk(key)], '1')) === 1;
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
        const user = await script('delete', [rk(key)], [o?.ifVersion ?? '', Date.now(), '']);
        if (typeof user !== 'string') return false;
        const idx = user === '' ? undefined : uk(unescapeUser(user));
        if (idx !== undefined) await send(idx, ['ZREM', idx, key]);
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
        const stale: RedisArg[] = [];
        for (const [i, [key, score]] of members.entries()) {
          const record = decodeRecord(found[i], now);
          if (record?.userId === userId) entries.push({ key, record });
          // Only a due entry goes (as in prune): every (re)indexing scores after `now`.
          else if (score <= now) stale.push(key, score);
        }
        if (stale.length > 0) await script('unindex', [uk(userId)], stale);
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
        const user = escapeUser(userId);
        const users = await Promise.all(
          doomed.map((key) => script('delete', [rk(key)], ['', now, user])),
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
      for await (const idx of scan('prune', o?.signal, 'u')) {
        removed += await backend('prune', o?.signal, async () => {
          const now = Date.now();
          const due = await index(idx, '-inf', now, 'BYSCORE');
          const found = await rows(due);
          const stale = due.flatMap(([key, score], i) => {
            const user = decodeRecord(found[i], now)?.userId;
            return user != null && uk(user) === idx ? [] : [key, score];
          });
          return stale.length > 0 ? Number(await script('unindex', [idx], stale)) : 0;
        });
      }
      return removed;
    },
    async *ids(o) {
      const seen = new Set<string>();
      for await (const name of scan('ids', o?.signal, 's')) {
        const key = name.slice(prefix.length + 3, -1);
        if (isStoreKey(key) && name === rk(key) && !seen.has(key)) {
          seen.add(key);
          yield key;
        }
      }
    },
  };
}

/** A script's `1` (done) reply. */
function isOne(reply: unknown): boolean {
  return Number(reply) === 1;
}

/** Run backend work; with the two hot paths' handlers, where client errors become `StoreError`s. */
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
