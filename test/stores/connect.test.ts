/**
 * `sessionkit/stores/connect` — the conformance suite, unchanged, over three real express-session
 * stores (connect-redis 9 on node-redis, connect-pg-simple on PostgreSQL, express-session's
 * MemoryStore), then the wrapper's own rules against stores that misbehave on purpose.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import { createSessionManager } from '../../src/index.js';
import { type ConnectStoreLike, connectStore } from '../../src/stores/connect.js';
import { postgresPool } from '../support/backends.js';
import {
  brokenConnectPg,
  brokenConnectRedis,
  type NodeRedisClient,
  nodeRedis,
  type OpenConnect,
  openConnectMemory,
  openConnectPg,
  openConnectRedis,
} from '../support/connect-stores.js';
import { type Ability, describeStore, record, storeKey } from './conformance.js';

// What no connect store can give through its API: locks, a per-user index, prune and ids.
const LACKS: Ability[] = ['lock', 'listByUser', 'deleteByUser', 'prune', 'ids'];

const opened: OpenConnect[] = [];
afterAll(async () => {
  for (const one of opened.splice(0)) await one.cleanup();
  await redisClient?.quit();
  await pool.end();
});

let redisClient: NodeRedisClient | undefined;
const pool = postgresPool(undefined, 4);

function keep(one: OpenConnect): OpenConnect {
  opened.push(one);
  return one;
}

describeStore({
  name: 'connect-memorystore',
  create: () => connectStore(keep(openConnectMemory()).store),
  // MemoryStore is in-process: it has no backend that can fail.
  lacks: [...LACKS, 'failure'],
  extra: () => misbehaviour(),
});

describeStore({
  name: 'connect-redis',
  async create() {
    redisClient ??= await nodeRedis();
    return connectStore(keep(await openConnectRedis(undefined, redisClient)).store);
  },
  createBroken: () => connectStore(brokenConnectRedis(), { timeout: 2000 }),
  lacks: LACKS,
});

describeStore({
  name: 'connect-pg-simple',
  create: async () => connectStore(keep(await openConnectPg(undefined, pool, false)).store),
  createBroken: async () => connectStore(keep(await brokenConnectPg()).store, { timeout: 5000 }),
  lacks: LACKS,
});

/** A connect store over a Map whose answers a test shapes (a fake only to inject faults). */
function faulty(
  answer: (op: string, cb: (e?: unknown, v?: unknown) => void) => unknown,
): ConnectStoreLike {
  return {
    get: (_sid, cb) => answer('get', cb),
    set: (_sid, _sess, cb) => answer('set', cb ?? (() => {})),
    destroy: (_sid, cb) => answer('destroy', cb ?? (() => {})),
  };
}

function misbehaviour(): void {
  describe('connect wrapper rules', () => {
    it('settles on the first callback and ignores a second one (never throws into the store)', async () => {
      const data = new Map<string, unknown>();
      let seconds = 0;
      const twice: ConnectStoreLike = {
        get(sid, cb) {
          cb(null, data.get(sid));
          try {
            cb(new Error('second answer'));
          } catch {
            seconds = -1000;
          }
          seconds++;
        },
        set(sid, sess, cb) {
          data.set(sid, JSON.parse(JSON.stringify(sess)));
          cb?.(null);
          cb?.(new Error('second answer'));
        },
        destroy(sid, cb) {
          data.delete(sid);
          cb?.();
        },
      };
      const store = connectStore(twice);
      const key = storeKey();
      const written = record({ data: 'x', userId: 'u' });
      await expect(store.set(key, written)).resolves.toBe(true);
      await expect(store.get(key)).resolves.toStrictEqual(written);
      expect(seconds).toBeGreaterThan(0);
    });

    it('accepts synchronous callbacks, returned promises, and a synchronous throw', async () => {
      const key = storeKey();
      const promised: ConnectStoreLike = {
        get: () =>
          Promise.resolve({ cookie: { originalMaxAge: 1 }, sessionkit: record({ data: 'p' }) }),
        set: () => Promise.reject(new Error('disk full')),
        destroy: () => {
          throw new Error('boom');
        },
      };
      const store = connectStore(promised);
      await expect(store.get(key)).resolves.toMatchObject({ data: 'p' });
      const failed = await store.set(key, record()).catch((e: unknown) => e);
      expect(isSessionError(failed, 'ERR_SESSION_STORE')).toBe(true);
      expect((failed as Error).cause).toBeInstanceOf(Error);
      const thrown = await store.delete(key).catch((e: unknown) => e);
      expect(isSessionError(thrown, 'ERR_SESSION_STORE')).toBe(true);
    });

    it('rejects with StoreError when a store never answers (deadline)', async () => {
      const store = connectStore(
        faulty(() => undefined),
        { timeout: 50 },
      );
      const error = await store.get(storeKey()).catch((e: unknown) => e);
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      expect((error as Error).message).toContain('get');
    });

    it('reads ENOENT as not found and other errors as StoreError without the key', async () => {
      const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
      await expect(
        connectStore(faulty((_op, cb) => cb(enoent))).get(storeKey()),
      ).resolves.toBeUndefined();
      const key = storeKey();
      const error = await connectStore(faulty((_op, cb) => cb(new Error(`bad ${key}`))))
        .get(key)
        .catch((e: unknown) => e);
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      expect((error as Error).message).not.toContain(key);
    });

    it('reads a foreign record (an express-session session) as not found', async () => {
      const store = connectStore(
        faulty((_op, cb) => cb(null, { cookie: { originalMaxAge: null }, user: 'alice' })),
      );
      await expect(store.get(storeKey())).resolves.toBeUndefined();
    });

    it('refuses a non-store and bad options with ERR_SESSION_CONFIG', () => {
      for (const make of [
        () => connectStore({} as ConnectStoreLike),
        () => connectStore(null as unknown as ConnectStoreLike),
        () => connectStore(openConnectMemory().store, { timeout: 0 }),
        () => connectStore(openConnectMemory().store, { timeout: Number.NaN }),
      ]) {
        expect(() => make()).toThrow(expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }));
      }
    });

    it('makes the core refuse the modes it cannot serve, with ERR_SESSION_CONFIG', () => {
      const store = connectStore(openConnectMemory().store);
      expect(store.casScope).toBe('process');
      const secret = 'k'.repeat(64);
      for (const extra of [{ concurrency: 'lock' as const }, { maxSessionsPerUser: 3 }]) {
        expect(() => createSessionManager({ store, secrets: secret, ...extra })).toThrow(
          expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
        );
      }
    });
  });
}
