/**
 * The Redis store's per-user index and its cost, for the standalone flavours: commands per call
 * seen with `MONITOR` (those the scripts run included), when a write updates the index (a new
 * user, a later hour, a record it cannot vouch for), and how `listByUser` and `prune` drop
 * dangling entries.
 */

import { describe, expect, it } from 'vitest';
import { redisStore } from '../../src/stores/redis.js';
import { HOUR, record, type StoreSuiteContext, storeKey } from './conformance.js';
import { type Connection, monitored, tagOf } from './redis-helpers.js';

const BUCKET = HOUR;
const later = () => Date.now() + HOUR;

/** Define the index tests inside the flavour's conformance suite. */
export function indexSpecifics(
  ctx: StoreSuiteContext,
  connect: () => Promise<Connection>,
  newPrefix: () => string,
): void {
  const make = async () => {
    const { client, raw } = await connect();
    const prefix = newPrefix();
    const store = ctx.track(redisStore({ client, prefix }));
    return { store, prefix, raw };
  };

  describe('redis per-user index and commands per call', () => {
    it('costs one command per get; a write is one script of two commands, three when it indexes', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      // Early in an index bucket, so the writes below stay inside it.
      const expiresAt = (Math.floor(Date.now() / BUCKET) + 2) * BUCKET + 1;
      await store.set(key, record({ userId: 'u', expiresAt }));
      await store.touch(key, expiresAt); // loads the scripts into the server's cache, if needed
      await store.delete(storeKey());
      const commands = async (fn: () => Promise<unknown>) =>
        (await monitored(raw, prefix, fn, { lua: true })).map(([name]) => name!.toUpperCase());
      expect(await commands(() => store.get(key))).toEqual(['GET']);
      expect(await commands(() => store.get(storeKey()))).toEqual(['GET']);
      expect(
        await commands(async () => {
          await store.get(key);
          await store.touch(key, expiresAt + 1000);
        }),
      ).toEqual(['GET', 'EVALSHA', '>GET', '>SET']);
      const anonymous = storeKey();
      expect(await commands(() => store.set(anonymous, record()))).toEqual([
        'EVALSHA',
        '>GET',
        '>SET',
      ]);
      // A signed-in read-modify-write whose expiry stays in the indexed bucket: no ZADD.
      const next = record({ userId: 'u', version: 2, expiresAt: expiresAt + 2000 });
      expect(
        await commands(async () => {
          const { version } = (await store.get(key))!;
          await store.set(key, next, { ifVersion: version });
        }),
      ).toEqual(['GET', 'EVALSHA', '>GET', '>SET']);
      // The index update, when one is due, runs in the same script: still two round trips.
      const other = record({ userId: 'v', version: 3, expiresAt });
      expect(await commands(() => store.set(key, other, { ifVersion: 2 }))).toEqual([
        'EVALSHA',
        '>GET',
        '>ZADD',
        '>SET',
      ]);
      expect(await commands(() => store.delete(anonymous))).toEqual(['EVALSHA', '>GET', '>DEL']);
      expect(await commands(() => store.delete(key))).toEqual(['EVALSHA', '>GET', '>DEL', 'ZREM']);
    });

    it('updates the index only for a new user, a later bucket or a record it cannot vouch for', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      const uk = (user: string) => `${prefix}u:{${tagOf(user)}}`;
      const zadds = async (fn: () => Promise<unknown>) =>
        (await monitored(raw, prefix, fn, { lua: true })).filter(([name]) => name === '>ZADD')
          .length;
      // Early in a bucket, so a few seconds more stay inside it.
      const start = (Math.floor(Date.now() / BUCKET) + 2) * BUCKET + 1;
      const write = (version: number, expiresAt: number, userId: string | null = 'u') =>
        store.set(key, record({ version, expiresAt, userId }), { ifVersion: version - 1 });
      expect(await zadds(() => write(1, start))).toBe(1);
      expect(await zadds(() => write(2, start + 5000))).toBe(0);
      expect(Number(await raw('ZSCORE', uk('u'), key))).toBe(start - 1 + BUCKET);
      // Earlier (a shorter lifetime): still covered; the header takes the lower bound.
      expect(await zadds(() => write(3, start - 2))).toBe(0);
      expect(await zadds(() => write(4, start + BUCKET))).toBe(1);
      expect(Number(await raw('ZSCORE', uk('u'), key))).toBe(start - 1 + 2 * BUCKET);
      expect(await zadds(() => write(5, start + BUCKET, 'w'))).toBe(1);
      expect(await zadds(() => write(6, start + BUCKET, null))).toBe(0);
      expect(await zadds(() => write(7, start + BUCKET, 'w'))).toBe(1);
      // A record nobody vouches for (written unconditionally over a dead one) is indexed anew.
      await raw('SET', `${prefix}s:{${key}}`, 'foreign');
      expect(await zadds(() => store.set(key, record({ userId: 'w', expiresAt: start })))).toBe(1);
      await expect(store.listByUser!('w')).resolves.toMatchObject([{ key }]);
      await expect(store.listByUser!('u')).resolves.toEqual([]);
    });

    it('drops due dangling index entries lazily, keeps those whose score is ahead', async () => {
      const { store, prefix, raw } = await make();
      const uk = `${prefix}u:{${tagOf('u')}}`;
      const [live, vanished, inFlight] = [storeKey(), storeKey(), storeKey()];
      await store.set(live, record({ userId: 'u' }));
      // A record Redis expired on its own: its index entry is scored with its (past) expiry.
      await raw('ZADD', uk, Date.now() - 1000, vanished);
      // A write in flight (Cluster: indexed first, the record not written yet).
      await raw('ZADD', uk, later(), inFlight);
      expect((await store.listByUser!('u')).map((e) => e.key)).toEqual([live]);
      expect(await raw('ZSCORE', uk, vanished)).toBeNull();
      expect(await raw('ZSCORE', uk, inFlight)).not.toBeNull();
      await store.set(inFlight, record({ userId: 'u' }));
      expect((await store.listByUser!('u')).map((e) => e.key).sort()).toEqual(
        [live, inFlight].sort(),
      );
      // A record that moved to another user is no longer listed for the old one; its entry
      // goes once due (any re-indexing scores ahead, so a removal never races one).
      await store.set(live, record({ userId: 'v', version: 2 }));
      expect((await store.listByUser!('u')).map((e) => e.key)).toEqual([inFlight]);
      expect(await raw('ZSCORE', uk, live)).not.toBeNull();
      await raw('ZADD', uk, Date.now() - 1000, live);
      expect((await store.listByUser!('u')).map((e) => e.key)).toEqual([inFlight]);
      expect(await raw('ZSCORE', uk, live)).toBeNull();
    });

    it('prune removes index entries of vanished records and keeps touched live ones', async () => {
      const { store, prefix, raw } = await make();
      const uk = `${prefix}u:{${tagOf('u')}}`;
      const [touched, vanished] = [storeKey(), storeKey()];
      await store.set(touched, record({ userId: 'u' }));
      // Indexed with an expiry that has passed, but touch kept the record alive since.
      await raw('ZADD', uk, Date.now() - 1000, touched);
      await raw('ZADD', uk, Date.now() - 1000, vanished);
      await raw('ZADD', `${prefix}u:{${tagOf('w')}}`, Date.now() - 1000, storeKey());
      await expect(store.prune!()).resolves.toBe(2);
      expect(await raw('ZRANGE', uk, 0, -1)).toEqual([touched]);
      expect(await raw('EXISTS', `${prefix}u:{${tagOf('w')}}`)).toBe(0);
      await expect(store.listByUser!('u')).resolves.toMatchObject([{ key: touched }]);
      await expect(store.prune!()).resolves.toBe(0);
    });
  });
}
