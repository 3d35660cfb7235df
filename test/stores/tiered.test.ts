import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import type { SessionStore } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { redisStore } from '../../src/stores/redis.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { tieredStore } from '../../src/stores/tiered.js';
import { connectRedis, deletePrefix, postgresPool, uniqueName } from '../support/backends.js';
import { probeStore } from '../support/probe-store.js';
import { collect, describeStore, HOUR, record, storeKey } from './conformance.js';
import { rewriteAsLegacy } from './redis-helpers.js';

const dbs: Database.Database[] = [];
function sqlite(): Database.Database {
  const db = new Database(':memory:');
  dbs.push(db);
  return db;
}
afterAll(() => {
  for (const db of dbs) if (db.open) db.close();
});

/** A memory store whose every call fails like a dead backend. */
function deadStore(name = 'dead'): SessionStore {
  const dead = probeStore(memoryStore());
  for (const m of ['get', 'set', 'touch', 'delete', 'lock', 'unlock', 'listByUser'])
    dead.failing.add(m);
  for (const m of ['deleteByUser', 'prune', 'ids']) dead.failing.add(m);
  return Object.assign(dead, { name });
}

describeStore({
  name: 'tiered (memory over memory)',
  create: () => tieredStore({ cache: memoryStore(), persistent: memoryStore() }),
  createBroken: () => {
    const db = sqlite();
    const persistent = sqliteStore({ client: db });
    db.close();
    return tieredStore({ cache: memoryStore(), persistent });
  },
  extra: ({ track }) => {
    describe('tiered specifics', () => {
      function pair() {
        const cache = probeStore(memoryStore());
        const persistent = probeStore(memoryStore());
        const store = track(tieredStore({ cache, persistent }));
        return { cache, persistent, store };
      }

      it('a cache miss reads persistent and fills the cache with that exact record', async () => {
        const { cache, persistent, store } = pair();
        const key = storeKey();
        const written = record({ version: 7, expiresAt: Date.now() + 2 * HOUR, userId: 'u' });
        await persistent.set(key, written);
        await expect(store.get(key)).resolves.toStrictEqual(written);
        await expect(cache.get(key)).resolves.toStrictEqual(written);
        persistent.calls.clear();
        await expect(store.get(key)).resolves.toStrictEqual(written);
        expect(persistent.total()).toBe(0); // served by the cache
      });

      it('writes persistent first, then the cache; CAS is decided by persistent', async () => {
        const { cache, persistent, store } = pair();
        const key = storeKey();
        await store.set(key, record({ version: 1 }), { ifVersion: 0 });
        await expect(cache.get(key)).resolves.toMatchObject({ version: 1 });
        // The cache says version 1, persistent (the truth) says 5: the replace must fail.
        await persistent.set(key, record({ version: 5, data: 'truth' }));
        await expect(store.set(key, record({ version: 2 }), { ifVersion: 1 })).resolves.toBe(false);
        await expect(cache.get(key)).resolves.toBeUndefined(); // invalidated on the conflict
        await expect(store.get(key)).resolves.toMatchObject({ version: 5, data: 'truth' });
        await expect(store.set(key, record({ version: 6 }), { ifVersion: 5 })).resolves.toBe(true);
        await expect(cache.get(key)).resolves.toMatchObject({ version: 6 });
        await expect(persistent.get(key)).resolves.toMatchObject({ version: 6 });
        // A cache holding some other version than the one replaced is dropped, not kept stale.
        await cache.set(key, record({ version: 3, data: 'stale' }));
        await expect(store.set(key, record({ version: 7 }), { ifVersion: 6 })).resolves.toBe(true);
        await expect(cache.get(key)).resolves.toBeUndefined();
        await expect(store.get(key)).resolves.toMatchObject({ version: 7 });
      });

      it('an unconditional write drops the cache entry instead of racing another writer there', async () => {
        const { cache, persistent, store } = pair();
        const key = storeKey();
        await store.set(key, record({ version: 1 }), { ifVersion: 0 });
        await store.set(key, record({ version: 2, data: 'blind' }));
        await expect(cache.get(key)).resolves.toBeUndefined();
        await expect(store.get(key)).resolves.toMatchObject({ version: 2, data: 'blind' });
        await expect(persistent.get(key)).resolves.toMatchObject({ version: 2 });
      });

      it('destroy deletes both tiers; touch moves both', async () => {
        const { cache, persistent, store } = pair();
        const key = storeKey();
        await store.set(key, record(), { ifVersion: 0 });
        const later = Date.now() + 3 * HOUR;
        await expect(store.touch(key, later)).resolves.toBe(true);
        await expect(cache.get(key)).resolves.toMatchObject({ expiresAt: later });
        await expect(persistent.get(key)).resolves.toMatchObject({ expiresAt: later });
        await expect(store.delete(key)).resolves.toBe(true);
        await expect(cache.get(key)).resolves.toBeUndefined();
        await expect(persistent.get(key)).resolves.toBeUndefined();
      });

      it('write on demand: a session never written costs no persistent write', async () => {
        const { persistent, store } = pair();
        const key = storeKey();
        await expect(store.get(key)).resolves.toBeUndefined();
        await expect(store.touch(key, Date.now() + HOUR)).resolves.toBe(false);
        expect([...persistent.calls.keys()].sort()).toEqual(['get', 'touch']);
        expect(persistent.calls.get('set')).toBeUndefined();
      });

      it('a fill that raced a delete is taken back: the deleted session stays deleted', async () => {
        const cache = memoryStore();
        const inner = memoryStore();
        const key = storeKey();
        await inner.set(key, record({ data: 'logged-in' }));
        let gets = 0;
        let store: SessionStore | undefined;
        // The first persistent read returns the live record, and the delete lands right after it
        // (before the reader fills the cache) — the interleaving of a logout racing a reader.
        const persistent: SessionStore = {
          ...inner,
          name: 'racy',
          get: async (k, o) => {
            const found = await inner.get(k, o);
            if (++gets === 1) await store!.delete(key);
            return found;
          },
          set: (...a) => inner.set(...a),
          touch: (...a) => inner.touch(...a),
          delete: (...a) => inner.delete(...a),
        };
        store = track(tieredStore({ cache, persistent }));
        await store.get(key); // this read saw the record before the delete: that is fine
        await expect(cache.get(key)).resolves.toBeUndefined(); // but it must not stay cached
        await expect(store.get(key)).resolves.toBeUndefined();
      });

      it('a failing cache never fails a request: it degrades to the persistent tier', async () => {
        const persistent = probeStore(memoryStore());
        const store = track(tieredStore({ cache: deadStore(), persistent }));
        const key = storeKey();
        await expect(store.set(key, record({ userId: 'u' }), { ifVersion: 0 })).resolves.toBe(true);
        await expect(store.get(key)).resolves.toMatchObject({ data: 'payload' });
        await expect(store.set(key, record({ version: 2 }), { ifVersion: 1 })).resolves.toBe(true);
        await expect(store.touch(key, Date.now() + HOUR)).resolves.toBe(true);
        await expect(store.deleteByUser!('nobody')).resolves.toBe(0);
        await expect(store.prune!()).resolves.toBe(0);
        await expect(store.delete(key)).resolves.toBe(true);
        await expect(store.get(key)).resolves.toBeUndefined();
      });

      it('a cache that failed to invalidate is bypassed for that key until it recovers', async () => {
        const cache = probeStore(memoryStore());
        const persistent = memoryStore();
        const store = track(tieredStore({ cache, persistent }));
        const key = storeKey();
        await store.set(key, record({ data: 'old' }), { ifVersion: 0 });
        await expect(cache.get(key)).resolves.toMatchObject({ data: 'old' });
        cache.failing.add('delete');
        cache.failing.add('set');
        await expect(store.delete(key)).resolves.toBe(true); // cache still holds 'old'
        cache.failing.clear();
        await expect(store.get(key)).resolves.toBeUndefined(); // never served from the stale cache
        await expect(cache.get(key)).resolves.toBeUndefined(); // and cleaned up once it works
      });

      it('persistent down: cached reads are served; everything else rejects and drops the entry', async () => {
        const cache = memoryStore();
        const persistent = probeStore(memoryStore());
        const store = track(tieredStore({ cache, persistent }));
        const [hit, miss, w, t, d] = [storeKey(), storeKey(), storeKey(), storeKey(), storeKey()];
        for (const key of [hit, w, t, d]) {
          await store.set(key, record({ userId: 'u' }), { ifVersion: 0 });
        }
        await persistent.set(miss, record()); // in persistent only
        for (const m of ['get', 'set', 'touch', 'delete', 'lock']) persistent.failing.add(m);
        const rejects = async (call: Promise<unknown>): Promise<void> => {
          const error = await call.then(
            () => 'resolved',
            (e: unknown) => e,
          );
          expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
          expect((error as Error).cause).toBeInstanceOf(Error);
        };
        await expect(store.get(hit)).resolves.toMatchObject({ data: 'payload', version: 1 });
        await rejects(store.get(miss));
        await rejects(store.set(w, record({ version: 2 }), { ifVersion: 1 }));
        await rejects(store.set(storeKey(), record(), { ifVersion: 0 }));
        await rejects(store.touch(t, Date.now() + 2 * HOUR));
        await rejects(store.delete(d));
        // Locks are the persistent tier's own calls, its errors passed through as they are.
        await expect(store.lock!(hit, { owner: 'o', ttl: 1000 })).rejects.toThrow(/injected lock/);
        // Each failed call may have landed: its entry is gone, so it is refused, never stale.
        for (const key of [w, t, d]) {
          await expect(cache.get(key)).resolves.toBeUndefined();
          await rejects(store.get(key));
        }
        await expect(store.get(hit)).resolves.toMatchObject({ version: 1 }); // a lock wrote nothing
        persistent.failing.clear();
        await expect(store.get(w)).resolves.toMatchObject({ version: 1 });
      });

      it('persistent down: a failed deleteByUser drops the user’s cache entries', async () => {
        for (const indexed of [true, false]) {
          const inner = memoryStore();
          // Without deleteByUser the tiered store learns the keys from persistent first.
          const cache: SessionStore = indexed
            ? inner
            : {
                name: 'plain',
                get: inner.get,
                set: inner.set,
                touch: inner.touch,
                delete: inner.delete,
              };
          const persistent = probeStore(memoryStore());
          const store = track(tieredStore({ cache, persistent }));
          const [a, b, other] = [storeKey(), storeKey(), storeKey()];
          await store.set(a, record({ userId: 'u' }), { ifVersion: 0 });
          await store.set(b, record({ userId: 'u' }), { ifVersion: 0 });
          await store.set(other, record({ userId: 'v' }), { ifVersion: 0 });
          persistent.failing.add('deleteByUser');
          const error = await store.deleteByUser!('u', { except: [b] }).catch((e: unknown) => e);
          expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
          await expect(cache.get(a)).resolves.toBeUndefined();
          await expect(cache.get(b)).resolves.toBeDefined();
          await expect(cache.get(other)).resolves.toBeDefined();
        }
      });

      it('a fill whose re-check fails is dropped: an unchecked fill is never served later', async () => {
        const cache = memoryStore();
        const persistent = probeStore(memoryStore());
        const key = storeKey();
        await persistent.set(key, record({ data: 'maybe-logged-out' }));
        let gets = 0;
        const racy: SessionStore = {
          ...persistent,
          name: 'racy',
          // The first read answers; the re-check after the fill finds the tier gone.
          get: async (k, o) => {
            if (++gets === 2) persistent.failing.add('get');
            return persistent.get(k, o);
          },
        };
        const store = track(tieredStore({ cache, persistent: racy }));
        const error = await store.get(key).catch((e: unknown) => e);
        expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
        await expect(cache.get(key)).resolves.toBeUndefined();
      });

      it('delegates locks, the user index, prune and ids to the persistent tier', async () => {
        const { cache, persistent, store } = pair();
        const [a, b] = [storeKey(), storeKey()];
        await expect(store.lock!(a, { owner: 'x', ttl: 10_000 })).resolves.toBe(true);
        await expect(persistent.lock!(a, { owner: 'y', ttl: 10_000 })).resolves.toBe(false);
        await expect(cache.lock!(a, { owner: 'y', ttl: 10_000 })).resolves.toBe(true);
        await store.set(a, record({ userId: 'u' }), { ifVersion: 0 });
        await store.set(b, record({ userId: 'u' }), { ifVersion: 0 });
        await expect(store.deleteByUser!('u', { except: [b] })).resolves.toBe(1);
        await expect(cache.get(a)).resolves.toBeUndefined();
        await expect(cache.get(b)).resolves.toBeDefined();
        expect(await collect(store.ids!())).toEqual([b]);
        expect((await store.listByUser!('u')).map((e) => e.key)).toEqual([b]);
        await store.set(a, record({ expiresAt: Date.now() + 20 }));
        await new Promise((r) => setTimeout(r, 30));
        await expect(store.prune!()).resolves.toBe(1);
      });

      it('has the optional abilities only when the persistent tier has them', () => {
        const bare: SessionStore = {
          name: 'bare',
          get: async () => undefined,
          set: async () => true,
          touch: async () => false,
          delete: async () => false,
        };
        const store = tieredStore({ cache: memoryStore(), persistent: bare });
        for (const m of ['lock', 'unlock', 'listByUser', 'deleteByUser', 'prune', 'ids'] as const) {
          expect(typeof store[m]).toBe('undefined');
        }
      });

      it('refuses missing or identical tiers with ERR_SESSION_CONFIG naming the option', () => {
        const m = memoryStore();
        const cases: [unknown, string][] = [
          [{ persistent: m }, '`cache`'],
          [{ cache: m }, '`persistent`'],
          [{ cache: m, persistent: {} }, '`persistent`'],
          [{ cache: m, persistent: m }, '`cache` and `persistent`'],
          [{ cache: m, persistent: memoryStore(), maxPendingInvalidations: 0 }, 'maxPending'],
        ];
        for (const [options, name] of cases) {
          let error: unknown;
          try {
            tieredStore(options as never);
          } catch (e) {
            error = e;
          }
          expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
          expect((error as Error).message).toContain(name);
        }
      });
    });
  },
});

describeStore({
  name: 'tiered (memory over sqlite)',
  create: () =>
    tieredStore({ cache: memoryStore(), persistent: sqliteStore({ client: sqlite() }) }),
  createBroken: () => {
    const db = sqlite();
    const persistent = sqliteStore({ client: db });
    db.close();
    return tieredStore({ cache: memoryStore(), persistent });
  },
});

// Redis over PostgreSQL: one client and one pool, a fresh prefix and table per store.
let shared: Promise<{ redis: Redis; pool: pg.Pool }> | undefined;
const prefixes: string[] = [];
const tables: string[] = [];
function servers(): Promise<{ redis: Redis; pool: pg.Pool }> {
  shared ??= (async () => {
    const redis = await connectRedis();
    const pool = postgresPool();
    await pool.query('SELECT 1').catch(async (error: unknown) => {
      redis.disconnect();
      await pool.end();
      throw error;
    });
    return { redis, pool };
  })();
  return shared;
}
afterAll(async () => {
  const s = await shared?.catch(() => undefined);
  if (s === undefined) return;
  for (const prefix of prefixes) await deletePrefix(prefix);
  for (const table of tables) await s.pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_locks`);
  s.redis.disconnect();
  await s.pool.end();
});

/** A tiered store over a fresh Redis prefix and PostgreSQL table, with that prefix. */
async function redisOverPostgres(): Promise<{ store: SessionStore; prefix: string }> {
  const { redis, pool } = await servers();
  const name = uniqueName();
  const prefix = `sktest:${name}:`;
  prefixes.push(prefix);
  tables.push(name);
  const persistent = postgresStore({ pool, table: name });
  await persistent.migrate();
  return {
    store: tieredStore({ cache: redisStore({ client: redis, prefix }), persistent }),
    prefix,
  };
}

describeStore({
  name: 'tiered (redis over postgres)',
  create: async () => (await redisOverPostgres()).store,
  extra: (ctx) => {
    it('serves cache entries of the previous Redis layout (hashes) and converts them on write', async () => {
      const { store, prefix } = await redisOverPostgres();
      ctx.track(store);
      const { redis } = await servers();
      const raw = (command: string | number, ...args: (string | number)[]) =>
        redis.call(String(command), ...args);
      const key = storeKey();
      const first = record({ data: 'first', userId: 'u' });
      await store.set(key, first);
      await expect(store.get(key)).resolves.toStrictEqual(first); // fills the cache
      await expect(rewriteAsLegacy(raw, prefix)).resolves.toBe(1);
      expect(await raw('TYPE', `${prefix}s:{${key}}`)).toBe('hash');
      await expect(store.get(key)).resolves.toStrictEqual(first);
      const next = record({ data: 'next', version: 2, userId: 'u' });
      await expect(store.set(key, next, { ifVersion: 1 })).resolves.toBe(true);
      expect(await raw('TYPE', `${prefix}s:{${key}}`)).toBe('string');
      await expect(store.get(key)).resolves.toStrictEqual(next);
      await expect(store.listByUser!('u')).resolves.toStrictEqual([{ key, record: next }]);
    });
  },
  createBroken: async () => {
    const { redis } = await servers();
    const dead = postgresPool('postgres://postgres@127.0.0.1:1/test', 1);
    const persistent = postgresStore({ pool: dead, table: 'sk_broken' });
    const name = uniqueName();
    prefixes.push(`sktest:${name}:`);
    return tieredStore({
      cache: redisStore({ client: redis, prefix: `sktest:${name}:` }),
      persistent,
    });
  },
});
