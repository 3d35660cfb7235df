/**
 * Records of the previous Redis layout (a hash per record: `d`, `v`, `e`, `u`; indexed with
 * their exact expiry), written with raw commands as the previous version wrote them: every
 * method reads them, and every write converts them to the string layout — on every flavour,
 * Cluster included.
 */

import { describe, expect, it } from 'vitest';
import type { StoreRecord } from '../../src/core/store.js';
import { redisStore } from '../../src/stores/redis.js';
import { collect, HOUR, record, type StoreSuiteContext, storeKey } from './conformance.js';
import { type Connection, tagOf, writeLegacy } from './redis-helpers.js';

/** Define the legacy-layout tests inside the flavour's conformance suite. */
export function legacyLayout(
  ctx: StoreSuiteContext,
  connect: () => Promise<Connection>,
  newPrefix: () => string,
): void {
  const make = async () => {
    const { client, raw } = await connect();
    const prefix = newPrefix();
    const store = ctx.track(redisStore({ client, prefix }));
    const type = async (key: string) => raw('TYPE', `${prefix}s:{${key}}`);
    /** A record written by the previous version under a fresh key. */
    const legacy = async (partial: Partial<StoreRecord> = {}) => {
      const key = storeKey();
      const written = record({ data: 'old\n1|2|3', userId: 'alice', version: 7, ...partial });
      await writeLegacy(raw, prefix, key, written);
      return { key, written };
    };
    return { store, prefix, raw, type, legacy };
  };

  describe('records of the previous layout (hashes)', () => {
    it('are read exactly by get, listByUser and ids', async () => {
      const { store, type, legacy } = await make();
      const a = await legacy({ data: 'emoji 😀 and\nlines', expiresAt: Date.now() + HOUR + 0.5 });
      const b = await legacy({ userId: null, data: '' });
      const c = await legacy({ userId: 'a%0A\nb' });
      expect(await type(a.key)).toBe('hash');
      await expect(store.get(a.key)).resolves.toStrictEqual(a.written);
      await expect(store.get(b.key)).resolves.toStrictEqual(b.written);
      await expect(store.get(c.key)).resolves.toStrictEqual(c.written);
      await expect(store.listByUser!('alice')).resolves.toStrictEqual([
        { key: a.key, record: a.written },
      ]);
      await expect(store.listByUser!('a%0A\nb')).resolves.toMatchObject([{ key: c.key }]);
      // A new-layout record beside them.
      const d = storeKey();
      await store.set(d, record({ userId: 'alice' }));
      expect((await store.listByUser!('alice')).map((e) => e.key).sort()).toEqual(
        [a.key, d].sort(),
      );
      expect((await collect(store.ids!())).sort()).toEqual([a.key, b.key, c.key, d].sort());
      expect(await type(a.key)).toBe('hash'); // reads convert nothing
    });

    it('are converted by their next write, which keeps compare-and-set', async () => {
      const { store, raw, prefix, type, legacy } = await make();
      const { key, written } = await legacy();
      await expect(store.set(key, record({ version: 8 }), { ifVersion: 6 })).resolves.toBe(false);
      await expect(store.set(key, record({ version: 8 }), { ifVersion: 0 })).resolves.toBe(false);
      expect(await type(key)).toBe('hash');
      await expect(store.get(key)).resolves.toStrictEqual(written);
      const next = record({ data: 'new', version: 8, userId: 'alice' });
      await expect(store.set(key, next, { ifVersion: 7 })).resolves.toBe(true);
      expect(await type(key)).toBe('string');
      await expect(store.get(key)).resolves.toStrictEqual(next);
      await expect(store.listByUser!('alice')).resolves.toStrictEqual([{ key, record: next }]);
      // Re-indexed in the new layout's bucket (the old entry had the exact expiry).
      const score = Number(await raw('ZSCORE', `${prefix}u:{${tagOf('alice')}}`, key));
      expect(score).toBeGreaterThanOrEqual(next.expiresAt);
      expect(score % HOUR).toBe(0);
      // An unconditional write converts too.
      const other = await legacy({ userId: null });
      await expect(store.set(other.key, record({ userId: 'bob' }))).resolves.toBe(true);
      expect(await type(other.key)).toBe('string');
      await expect(store.listByUser!('bob')).resolves.toMatchObject([{ key: other.key }]);
    });

    it('are converted by touch, which keeps data, version and user', async () => {
      const { store, raw, prefix, type, legacy } = await make();
      const { key, written } = await legacy({ userId: 'x\ny%' });
      const moved = written.expiresAt + HOUR + 0.25;
      await expect(store.touch(key, moved)).resolves.toBe(true);
      expect(await type(key)).toBe('string');
      expect(await raw('PEXPIRETIME', `${prefix}s:{${key}}`)).toBe(Math.ceil(moved));
      await expect(store.get(key)).resolves.toStrictEqual({ ...written, expiresAt: moved });
      await expect(store.listByUser!('x\ny%')).resolves.toMatchObject([{ key }]);
      // The converted record has no indexed score yet: its next write indexes it again.
      const next = record({ version: 8, userId: 'x\ny%', expiresAt: moved });
      await expect(store.set(key, next, { ifVersion: 7 })).resolves.toBe(true);
      const score = Number(await raw('ZSCORE', `${prefix}u:{${tagOf('x\ny%')}}`, key));
      expect(score).toBeGreaterThanOrEqual(moved);
    });

    it('are deleted by delete (with ifVersion), deleteByUser and leave the index', async () => {
      const { store, raw, prefix, legacy } = await make();
      const one = await legacy();
      const two = await legacy();
      const three = await legacy({ userId: 'carol' });
      await expect(store.delete(one.key, { ifVersion: 3 })).resolves.toBe(false);
      await expect(store.delete(one.key, { ifVersion: 7 })).resolves.toBe(true);
      await expect(store.get(one.key)).resolves.toBeUndefined();
      const alice = `${prefix}u:{${tagOf('alice')}}`;
      expect(await raw('ZSCORE', alice, one.key)).toBeNull();
      await expect(store.deleteByUser!('alice')).resolves.toBe(1);
      await expect(store.get(two.key)).resolves.toBeUndefined();
      expect(await raw('EXISTS', alice)).toBe(0);
      await expect(store.get(three.key)).resolves.toStrictEqual(three.written);
      await expect(store.prune!()).resolves.toBe(0);
      await expect(store.listByUser!('carol')).resolves.toMatchObject([{ key: three.key }]);
    });

    it('that expired by the store clock are invisible and replaced by a create', async () => {
      const { store, type, legacy } = await make();
      // Redis still holds it (its own expiry is later), but its expiresAt has passed.
      const { key } = await legacy({ expiresAt: Date.now() - 1000 });
      await expect(store.get(key)).resolves.toBeUndefined();
      await expect(store.touch(key, Date.now() + HOUR)).resolves.toBe(false);
      await expect(store.listByUser!('alice')).resolves.toEqual([]);
      const created = record({ userId: 'alice' });
      await expect(store.set(key, created, { ifVersion: 0 })).resolves.toBe(true);
      expect(await type(key)).toBe('string');
      await expect(store.listByUser!('alice')).resolves.toStrictEqual([{ key, record: created }]);
    });
  });
}
