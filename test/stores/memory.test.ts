import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/stores/memory.js';
import { collect, describeStore, record, storeKey } from './conformance.js';

describeStore({
  name: 'memory',
  create: () => memoryStore(),
  // An in-process Map has no backend that can fail.
  lacks: ['failure'],
  extra: ({ track }) => {
    describe('memory specifics', () => {
      afterEach(() => {
        vi.useRealTimers();
        vi.restoreAllMocks();
      });

      it('evicts the least recently used record at maxEntries, and unindexes it', async () => {
        const store = track(memoryStore({ maxEntries: 3 }));
        const [a, b, c, d] = [storeKey(), storeKey(), storeKey(), storeKey()];
        await store.set(a, record({ userId: 'u' }));
        await store.set(b, record({ userId: 'u' }));
        await store.set(c, record({ userId: 'u' }));
        await store.get(a); // a is now the most recently used; b the least
        await store.set(d, record({ userId: 'u' }));
        await expect(store.get(b)).resolves.toBeUndefined();
        for (const key of [a, c, d]) await expect(store.get(key)).resolves.toBeDefined();
        const listed = await store.listByUser!('u');
        expect(listed.map((entry) => entry.key).sort()).toEqual([a, c, d].sort());
        expect((await collect(store.ids!())).sort()).toEqual([a, c, d].sort());
        await expect(store.deleteByUser!('u')).resolves.toBe(3);
      });

      it('counts touch as use and does not evict when overwriting an existing key', async () => {
        const store = track(memoryStore({ maxEntries: 2 }));
        const [a, b, c] = [storeKey(), storeKey(), storeKey()];
        await store.set(a, record());
        await store.set(b, record());
        await store.set(b, record({ data: 'again' }));
        await expect(store.get(a)).resolves.toBeDefined();
        await store.touch(b, Date.now() + 60_000);
        await store.set(c, record());
        await expect(store.get(a)).resolves.toBeUndefined();
        await expect(store.get(b)).resolves.toMatchObject({ data: 'again' });
      });

      it('judges expiry and lock leases by the injected clock', async () => {
        let time = 1_000_000;
        const store = track(memoryStore({ now: () => time, sweepInterval: 0 }));
        const key = storeKey();
        await store.set(key, record({ expiresAt: time + 500 }));
        time += 499;
        await expect(store.get(key)).resolves.toBeDefined();
        time += 1;
        await expect(store.get(key)).resolves.toBeUndefined();
        await expect(store.lock!(key, { owner: 'a', ttl: 100 })).resolves.toBe(true);
        time += 99;
        await expect(store.lock!(key, { owner: 'b', ttl: 100 })).resolves.toBe(false);
        time += 1;
        await expect(store.lock!(key, { owner: 'b', ttl: 100 })).resolves.toBe(true);
      });

      it('sweeps expired records on its interval', async () => {
        vi.useFakeTimers();
        let time = 1_000_000;
        const swept = track(memoryStore({ now: () => time, sweepInterval: 1000 }));
        const unswept = track(memoryStore({ now: () => time, sweepInterval: 0 }));
        for (const store of [swept, unswept]) {
          await store.set(storeKey(), record({ expiresAt: time + 10, userId: 'u' }));
          await store.set(storeKey(), record({ expiresAt: time + 10_000 }));
        }
        time += 20;
        vi.advanceTimersByTime(1000);
        // prune counts what is still there to free: the sweep already freed the expired one.
        await expect(swept.prune!()).resolves.toBe(0);
        await expect(unswept.prune!()).resolves.toBe(1);
        expect(await collect(swept.ids!())).toHaveLength(1);
      });

      it('runs one unref()ed timer that close() stops; sweepInterval 0 runs none', async () => {
        const setInterval = vi.spyOn(globalThis, 'setInterval');
        const store = memoryStore({ sweepInterval: 50 });
        expect(setInterval).toHaveBeenCalledTimes(1);
        expect(setInterval.mock.results[0]?.value.hasRef()).toBe(false);
        vi.useFakeTimers();
        const timed = memoryStore({ sweepInterval: 50 });
        expect(vi.getTimerCount()).toBe(1);
        await timed.close!();
        expect(vi.getTimerCount()).toBe(0);
        track(memoryStore({ sweepInterval: 0 }));
        expect(vi.getTimerCount()).toBe(0);
        await store.close!();
      });

      it('refuses invalid options with ERR_SESSION_CONFIG', () => {
        const invalid = [
          { maxEntries: 0 },
          { maxEntries: -1 },
          { maxEntries: 1.5 },
          { maxEntries: Number.NaN },
          { sweepInterval: -1 },
          { sweepInterval: Number.POSITIVE_INFINITY },
          { now: 'Date.now' as unknown as () => number },
        ];
        for (const options of invalid) {
          let error: unknown;
          try {
            memoryStore(options);
          } catch (e) {
            error = e;
          }
          expect(isSessionError(error, 'ERR_SESSION_CONFIG'), JSON.stringify(options)).toBe(true);
        }
      });

      it('refuses a lock without an owner or with a non-positive ttl', async () => {
        const store = track(memoryStore());
        for (const [owner, ttl] of [
          ['', 100],
          ['a', 0],
          ['a', -1],
          ['a', Number.NaN],
        ] as const) {
          await expect(store.lock!(storeKey(), { owner, ttl })).rejects.toThrow(TypeError);
        }
      });
    });
  },
});
