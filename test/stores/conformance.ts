/**
 * THE store conformance suite. Every store's test file calls {@link describeStore} with a factory
 * for a fresh, isolated store and a visible list of what the store lacks; the suite checks the
 * whole contract of `src/core/store.ts` against it.
 *
 * ```ts
 * describeStore({ name: 'memory', create: () => memoryStore(), lacks: ['failure'] });
 * ```
 *
 * A factory that throws (backend unreachable) skips the suite visibly outside CI and fails it
 * under `CI=true`. A factory that throws `ConfigError` fails it everywhere: a store refusing its
 * own options is a bug, never an unreachable backend (and a mutant that breaks the option checks
 * must not pass as a skipped suite).
 */

import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import { isStoreKey, type SessionStore, type StoreRecord } from '../../src/core/store.js';

/**
 * What a store may lack. The optional methods (`lock` covers `lock` + `unlock`); `failure`: the
 * test file cannot build a store whose backend fails (no `createBroken`); `isolation`: two
 * `create()` calls share their records.
 */
export type Ability =
  | 'lock'
  | 'listByUser'
  | 'deleteByUser'
  | 'prune'
  | 'ids'
  | 'failure'
  | 'isolation';

/** What a test file hands to {@link describeStore}. */
export interface DescribeStoreOptions {
  /** Store name, shown in test titles. */
  name: string;
  /** A fresh, isolated store (random prefix, temp dir, new table…). Throw if unreachable. */
  create: () => Promise<SessionStore> | SessionStore;
  /** Abilities the store visibly does not have; the suite checks they are really absent. */
  lacks?: readonly Ability[];
  /** A store whose backend fails on every call (closed client, dead port). Omit only with `lacks: ['failure']`. */
  createBroken?: () => Promise<SessionStore> | SessionStore;
  /** Store-specific tests, defined inside the suite's `describe` (so skips and cleanup apply). */
  extra?: (ctx: StoreSuiteContext) => void;
  /** The clock the store judges expiry by, in epoch ms. @default Date.now */
  now?: () => number;
}

/** Given to {@link DescribeStoreOptions.extra}. */
export interface StoreSuiteContext {
  /** Create a store with the suite's factory; the suite closes it after the test. */
  create(): Promise<SessionStore>;
  /** Track a store made by other means, so the suite closes it after the test. */
  track<T extends SessionStore>(store: T): T;
  /** The store clock. */
  now(): number;
}

/** A fresh valid store key: 32 random bytes in base64url (43 chars), the shape the core uses. */
export function storeKey(): string {
  return randomBytes(32).toString('base64url');
}

/** One hour in milliseconds. */
export const HOUR = 3_600_000;

/**
 * A valid record with overrides: data `'payload'`, version 1, expiring one hour after
 * `Date.now()` (pass `expiresAt` for another clock), anonymous.
 */
export function record(partial: Partial<StoreRecord> = {}): StoreRecord {
  return { data: 'payload', version: 1, expiresAt: Date.now() + HOUR, userId: null, ...partial };
}

/** Every value of an async iterable, in order. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of iterable) values.push(value);
  return values;
}

/** Resolve after `ms` milliseconds (only for real lock TTLs, never for record expiry). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Keys a store must refuse: traversal, SQL/Redis/glob metacharacters, NUL, unicode, size. */
export const HOSTILE_KEYS: readonly string[] = [
  '../../etc/passwd',
  '..',
  '.',
  'a/b',
  'a\\b',
  "x' OR '1'='1",
  'key*',
  '{tag}x',
  '\u0000abc',
  `${'A'.repeat(20)}\u0000`,
  'é'.repeat(50),
  `${'A'.repeat(42)}=`,
  `${'A'.repeat(20)} ${'A'.repeat(20)}`,
  `${'A'.repeat(42)}\n`,
  'a'.repeat(10_000),
  'a'.repeat(129),
  '',
  'abc',
  '__proto__',
];

type Method = 'lock' | 'unlock' | 'listByUser' | 'deleteByUser' | 'prune' | 'ids';

const OPTIONAL: Record<Exclude<Ability, 'failure' | 'isolation'>, readonly Method[]> = {
  lock: ['lock', 'unlock'],
  listByUser: ['listByUser'],
  deleteByUser: ['deleteByUser'],
  prune: ['prune'],
  ids: ['ids'],
};

const ODD_USERS = ['a:b', 'a', 'b', '../x', 'x', '用户', 'x'.repeat(300), 'a b', 'a%3Ab', 'A:B'];

/**
 * Define the conformance suite for one store. Call it at the top level of the store's test file.
 */
export function describeStore(options: DescribeStoreOptions): void {
  const { name } = options;
  const lacks = new Set(options.lacks ?? []);
  const has = (ability: Ability): boolean => !lacks.has(ability);
  const now = options.now ?? Date.now;
  const rec = (partial: Partial<StoreRecord> = {}): StoreRecord =>
    record({ expiresAt: now() + HOUR, ...partial });
  const past = (): number => now() - 1000;

  describe(`store conformance: ${name}`, () => {
    let unavailable: string | undefined;
    const open: SessionStore[] = [];
    const broken = new Set<SessionStore>();
    const track = <T extends SessionStore>(store: T): T => {
      open.push(store);
      return store;
    };
    const fresh = async (): Promise<SessionStore> => track(await options.create());

    beforeAll(async () => {
      try {
        await (await options.create()).close?.();
      } catch (error) {
        if (isSessionError(error, 'ERR_SESSION_CONFIG')) {
          throw new Error(`${name}: the store factory refused its options.`, { cause: error });
        }
        if (process.env.CI === 'true') {
          throw new Error(
            `${name}: the store factory failed; under CI=true this fails the suite.`,
            {
              cause: error,
            },
          );
        }
        unavailable = `${name} store unavailable: ${error instanceof Error ? error.message : String(error)}`;
        console.warn(`[describeStore] skipping — ${unavailable}`);
      }
    });
    beforeEach((ctx) => {
      if (unavailable !== undefined) ctx.skip(unavailable);
    });
    afterEach(async () => {
      for (const store of open.splice(0)) {
        const closing = store.close?.();
        // A broken store's close may fail too; that is not what the test is about.
        if (broken.has(store)) await closing?.catch(() => {});
        else await closing;
      }
    });

    describe('abilities', () => {
      it('has a name and the required methods', async () => {
        const store = await fresh();
        expect(store.name).toMatch(/^[a-z][a-z0-9-]*$/);
        for (const method of ['get', 'set', 'touch', 'delete'] as const) {
          expect(typeof store[method], method).toBe('function');
        }
      });
      for (const [ability, methods] of Object.entries(OPTIONAL)) {
        const title = has(ability as Ability)
          ? `implements ${ability}`
          : `declares it lacks ${ability}, and really does`;
        it(title, async () => {
          const store = await fresh();
          for (const method of methods) {
            expect(typeof store[method], method).toBe(
              has(ability as Ability) ? 'function' : 'undefined',
            );
          }
        });
      }
      it(
        has('failure') ? 'provides createBroken' : 'declares it lacks failure: no createBroken',
        () => {
          expect(typeof options.createBroken).toBe(has('failure') ? 'function' : 'undefined');
        },
      );
    });

    describe('round trips', () => {
      const payloads: [string, string][] = [
        ['an empty payload', ''],
        [
          'a 64 KiB ASCII payload',
          'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(1821).slice(0, 65_536),
        ],
        ['a 64 KiB multi-byte payload', '😀中ع'.repeat(16_384)],
        ['emoji, CJK and RTL text', 'emoji 😀👍🏽👨‍👩‍👧 CJK 中文日本語한국어 RTL עברית العربية'],
        ['NUL and odd characters', 'a\u0000b\u2028c\u2029d\uFEFFe\r\n\t\u001b[0m\\"\''],
        ['a JSON object', '{"__proto__":{"admin":true},"a":[1,null,true]}'],
        ['a JSON number', '42'],
        ['JSON null', 'null'],
        ['a JSON string', '"quoted"'],
        ['base64-looking text', 'eyJhbGciOiJIUzI1NiJ9.e30.'],
      ];
      for (const [label, data] of payloads) {
        it(`keeps ${label} exactly`, async () => {
          const store = await fresh();
          const key = storeKey();
          const written = rec({ data, version: 3, userId: 'user-1' });
          await expect(store.set(key, written)).resolves.toBe(true);
          await expect(store.get(key)).resolves.toStrictEqual(written);
        });
      }
      it('keeps an anonymous record (userId null)', async () => {
        const store = await fresh();
        const key = storeKey();
        const written = rec({ userId: null });
        await store.set(key, written);
        await expect(store.get(key)).resolves.toStrictEqual(written);
      });
      it('keeps extreme numbers: the largest safe version, a far expiry', async () => {
        const store = await fresh();
        const key = storeKey();
        const written = rec({ version: Number.MAX_SAFE_INTEGER, expiresAt: 253_402_300_799_000 });
        await store.set(key, written);
        await expect(store.get(key)).resolves.toStrictEqual(written);
      });
      it('accepts valid keys at the edges of the key pattern', async () => {
        const store = await fresh();
        const keys = ['-'.repeat(16), '_'.repeat(128), `-rf${storeKey()}`, `_${storeKey()}`];
        for (const [i, key] of keys.entries()) {
          expect(isStoreKey(key)).toBe(true);
          await expect(store.set(key, rec({ data: `v${i}` }))).resolves.toBe(true);
        }
        for (const [i, key] of keys.entries()) {
          await expect(store.get(key)).resolves.toMatchObject({ data: `v${i}` });
        }
      });
      it('keeps keys that differ only in case apart', async () => {
        const store = await fresh();
        const lower = storeKey().toLowerCase().replace(/^./, 'a');
        const upper = lower.toUpperCase();
        await store.set(lower, rec({ data: 'lower' }));
        await store.set(upper, rec({ data: 'upper' }));
        await expect(store.get(lower)).resolves.toMatchObject({ data: 'lower' });
        await expect(store.get(upper)).resolves.toMatchObject({ data: 'upper' });
        await expect(store.delete(upper)).resolves.toBe(true);
        await expect(store.get(lower)).resolves.toMatchObject({ data: 'lower' });
      });
      it('copies records on the way in and out', async () => {
        const store = await fresh();
        const key = storeKey();
        const written = rec({ data: 'original', userId: 'u' });
        await store.set(key, written);
        written.data = 'changed after set';
        const read = await store.get(key);
        expect(read).toMatchObject({ data: 'original' });
        read!.data = 'changed after get';
        await expect(store.get(key)).resolves.toMatchObject({ data: 'original' });
      });
    });

    describe('basics', () => {
      it('get of an unknown key resolves undefined', async () => {
        const store = await fresh();
        await expect(store.get(storeKey())).resolves.toBeUndefined();
      });
      it('an unconditional set overwrites data, version and user', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ data: 'first', version: 1, userId: 'u1' }));
        const second = rec({
          data: 'second',
          version: 2,
          userId: 'u2',
          expiresAt: now() + 2 * HOUR,
        });
        await expect(store.set(key, second)).resolves.toBe(true);
        await expect(store.get(key)).resolves.toStrictEqual(second);
      });
      it('an unconditional set ignores versions (may lower them)', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ version: 7 }));
        await expect(store.set(key, rec({ version: 2, data: 'lower' }))).resolves.toBe(true);
        await expect(store.get(key)).resolves.toMatchObject({ version: 2, data: 'lower' });
      });
      it('delete of a missing key resolves false', async () => {
        const store = await fresh();
        await expect(store.delete(storeKey())).resolves.toBe(false);
        await expect(store.delete(storeKey(), { ifVersion: 1 })).resolves.toBe(false);
      });
      it('delete of an existing key resolves true once, then the key is gone', async () => {
        const store = await fresh();
        const key = storeKey();
        const other = storeKey();
        await store.set(key, rec());
        await store.set(other, rec({ data: 'other' }));
        await expect(store.delete(key)).resolves.toBe(true);
        await expect(store.get(key)).resolves.toBeUndefined();
        await expect(store.delete(key)).resolves.toBe(false);
        await expect(store.get(other)).resolves.toMatchObject({ data: 'other' });
      });
    });

    describe('expiry', () => {
      it('a record already expired when written is invisible to every method', async () => {
        const store = await fresh();
        const key = storeKey();
        await expect(
          store.set(key, rec({ expiresAt: past(), userId: 'exp-user' })),
        ).resolves.toBeTypeOf('boolean');
        await expect(store.get(key)).resolves.toBeUndefined();
        await expect(store.touch(key, now() + HOUR)).resolves.toBe(false);
        await expect(store.get(key)).resolves.toBeUndefined();
        if (store.listByUser) await expect(store.listByUser('exp-user')).resolves.toEqual([]);
        if (store.ids) await expect(collect(store.ids())).resolves.toEqual([]);
        await expect(store.delete(key)).resolves.toBe(false);
        await expect(store.delete(key, { ifVersion: 1 })).resolves.toBe(false);
        if (store.deleteByUser) await expect(store.deleteByUser('exp-user')).resolves.toBe(0);
        if (store.prune) await expect(store.prune()).resolves.toBeLessThanOrEqual(1);
        if (store.listByUser) await expect(store.listByUser('exp-user')).resolves.toEqual([]);
      });
      it('a record expiring exactly now is expired', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ expiresAt: now() }));
        await expect(store.get(key)).resolves.toBeUndefined();
      });
      it('a create (ifVersion 0) over an expired record succeeds', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ expiresAt: past(), version: 4, data: 'old' }));
        const fresh1 = rec({ data: 'new', version: 1 });
        await expect(store.set(key, fresh1, { ifVersion: 0 })).resolves.toBe(true);
        await expect(store.get(key)).resolves.toStrictEqual(fresh1);
      });
      it('a replace (ifVersion n) over an expired record fails and writes nothing', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ expiresAt: past(), version: 4 }));
        await expect(store.set(key, rec({ version: 5 }), { ifVersion: 4 })).resolves.toBe(false);
        await expect(store.get(key)).resolves.toBeUndefined();
      });
    });

    describe('compare-and-set', () => {
      it('ifVersion 0 creates only when absent', async () => {
        const store = await fresh();
        const key = storeKey();
        const first = rec({ data: 'first' });
        await expect(store.set(key, first, { ifVersion: 0 })).resolves.toBe(true);
        await expect(store.set(key, rec({ data: 'second' }), { ifVersion: 0 })).resolves.toBe(
          false,
        );
        await expect(store.get(key)).resolves.toStrictEqual(first);
      });
      it('ifVersion n replaces on an exact match', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ version: 3 }));
        const next = rec({ version: 4, data: 'next', userId: 'u' });
        await expect(store.set(key, next, { ifVersion: 3 })).resolves.toBe(true);
        await expect(store.get(key)).resolves.toStrictEqual(next);
      });
      it('ifVersion n fails on a lower or higher version and changes nothing', async () => {
        const store = await fresh();
        const key = storeKey();
        const current = rec({ version: 3, data: 'current' });
        await store.set(key, current);
        for (const ifVersion of [2, 4, 1, 0]) {
          const result = store.set(key, rec({ version: 9, data: 'lost' }), { ifVersion });
          await expect(result).resolves.toBe(false);
        }
        await expect(store.get(key)).resolves.toStrictEqual(current);
      });
      it('ifVersion n on a missing key fails and creates nothing', async () => {
        const store = await fresh();
        const key = storeKey();
        await expect(store.set(key, rec({ version: 2 }), { ifVersion: 1 })).resolves.toBe(false);
        await expect(store.get(key)).resolves.toBeUndefined();
      });
      it('delete with ifVersion deletes only on an exact match', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ version: 5 }));
        await expect(store.delete(key, { ifVersion: 4 })).resolves.toBe(false);
        await expect(store.delete(key, { ifVersion: 6 })).resolves.toBe(false);
        await expect(store.get(key)).resolves.toMatchObject({ version: 5 });
        await expect(store.delete(key, { ifVersion: 5 })).resolves.toBe(true);
        await expect(store.get(key)).resolves.toBeUndefined();
      });
    });

    describe('compare-and-set races', () => {
      it('20 concurrent replaces of the same version: exactly one wins', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ version: 1 }));
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.set(key, rec({ version: 2, data: `writer-${i}` }), { ifVersion: 1 }),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        await expect(store.get(key)).resolves.toMatchObject({
          version: 2,
          data: `writer-${winner}`,
        });
      });
      it('20 concurrent creates: exactly one wins', async () => {
        const store = await fresh();
        const key = storeKey();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.set(key, rec({ data: `creator-${i}` }), { ifVersion: 0 }),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        await expect(store.get(key)).resolves.toMatchObject({ data: `creator-${winner}` });
      });
      it('50 workers doing read-increment-CAS end at exactly 50', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ data: '0', version: 1 }));
        const worker = async (): Promise<void> => {
          for (let attempt = 0; attempt < 10_000; attempt++) {
            const current = await store.get(key);
            if (current === undefined) throw new Error('the counter record vanished');
            const next = rec({
              data: String(Number(current.data) + 1),
              version: current.version + 1,
            });
            if (await store.set(key, next, { ifVersion: current.version })) return;
          }
          throw new Error('a worker never won its compare-and-set');
        };
        await Promise.all(Array.from({ length: 50 }, worker));
        await expect(store.get(key)).resolves.toMatchObject({ data: '50', version: 51 });
      });
    });

    describe('touch', () => {
      it('moves expiresAt and keeps data, version and user', async () => {
        const store = await fresh();
        const key = storeKey();
        const written = rec({ data: 'kept', version: 6, userId: 'u' });
        await store.set(key, written);
        const later = now() + 5 * HOUR;
        await expect(store.touch(key, later)).resolves.toBe(true);
        await expect(store.get(key)).resolves.toStrictEqual({ ...written, expiresAt: later });
        if (store.listByUser) {
          await expect(store.listByUser('u')).resolves.toStrictEqual([
            { key, record: { ...written, expiresAt: later } },
          ]);
        }
      });
      it('touch of a missing key resolves false and creates nothing', async () => {
        const store = await fresh();
        const key = storeKey();
        await expect(store.touch(key, now() + HOUR)).resolves.toBe(false);
        await expect(store.get(key)).resolves.toBeUndefined();
        await expect(store.set(key, rec(), { ifVersion: 0 })).resolves.toBe(true);
      });
    });

    describe('hostile keys', () => {
      for (const key of HOSTILE_KEYS) {
        it(`refuses ${label(key)}`, async () => {
          expect(isStoreKey(key)).toBe(false);
          const store = await fresh();
          await expect(store.get(key)).resolves.toBeUndefined();
          await expect(store.touch(key, now() + HOUR)).resolves.toBe(false);
          await expect(store.delete(key)).resolves.toBe(false);
          await expect(store.delete(key, { ifVersion: 1 })).resolves.toBe(false);
          for (const ifVersion of [undefined, 0, 1]) {
            const error = await store.set(key, rec({ userId: 'hostile' }), { ifVersion }).then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(isSessionError(error, 'ERR_SESSION_INVALID_KEY'), String(error)).toBe(true);
          }
          if (store.lock) {
            const error = await store
              .lock(key, { owner: 'o', ttl: 10_000 })
              .catch((e: unknown) => e);
            expect(isSessionError(error, 'ERR_SESSION_INVALID_KEY'), String(error)).toBe(true);
            await expect(store.unlock!(key, { owner: 'o' })).resolves.toBe(false);
          }
          await expect(store.get(key)).resolves.toBeUndefined();
          if (store.ids) await expect(collect(store.ids())).resolves.toEqual([]);
          if (store.listByUser) await expect(store.listByUser('hostile')).resolves.toEqual([]);
        });
      }
    });

    describe.skipIf(!has('listByUser'))('listByUser', () => {
      it('lists the live records of one user, with their keys', async () => {
        const store = await fresh();
        const mine = [0, 1, 2].map((i) => ({
          key: storeKey(),
          record: rec({ data: `mine-${i}`, version: i + 1, userId: 'me' }),
        }));
        for (const { key, record } of mine) await store.set(key, record);
        await store.set(storeKey(), rec({ userId: 'someone-else' }));
        await store.set(storeKey(), rec({ userId: null }));
        const listed = await store.listByUser!('me');
        expect(sortEntries(listed)).toStrictEqual(sortEntries(mine));
      });
      it('resolves [] for an unknown user', async () => {
        const store = await fresh();
        await expect(store.listByUser!('nobody')).resolves.toEqual([]);
      });
      it('moves a record between users when an overwrite changes userId', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ userId: 'before' }));
        await store.set(key, rec({ userId: 'after', version: 2 }));
        await expect(store.listByUser!('before')).resolves.toEqual([]);
        await expect(store.listByUser!('after')).resolves.toMatchObject([{ key }]);
        await store.set(key, rec({ userId: null, version: 3 }));
        await expect(store.listByUser!('after')).resolves.toEqual([]);
      });
      it('does not list deleted or expired records', async () => {
        const store = await fresh();
        const [live, deleted, expired] = [storeKey(), storeKey(), storeKey()];
        await store.set(live, rec({ userId: 'u' }));
        await store.set(deleted, rec({ userId: 'u' }));
        await store.set(expired, rec({ userId: 'u', expiresAt: past() }));
        await store.delete(deleted);
        const listed = await store.listByUser!('u');
        expect(listed.map((entry) => entry.key)).toEqual([live]);
      });
      it('keeps odd user ids apart', async () => {
        const store = await fresh();
        const keys = new Map(ODD_USERS.map((user) => [user, storeKey()]));
        for (const [user, key] of keys) await store.set(key, rec({ userId: user }));
        for (const [user, key] of keys) {
          const listed = await store.listByUser!(user);
          expect(listed, user).toStrictEqual([
            { key, record: expect.objectContaining({ userId: user }) },
          ]);
        }
      });
    });

    describe.skipIf(!has('deleteByUser'))('deleteByUser', () => {
      it('deletes every record of the user except the given keys and counts them', async () => {
        const store = await fresh();
        const [keep, drop1, drop2, other, anonymous] = [
          storeKey(),
          storeKey(),
          storeKey(),
          storeKey(),
          storeKey(),
        ];
        for (const key of [keep, drop1, drop2]) await store.set(key, rec({ userId: 'u' }));
        await store.set(other, rec({ userId: 'other' }));
        await store.set(anonymous, rec({ userId: null }));
        await expect(store.deleteByUser!('u', { except: [keep] })).resolves.toBe(2);
        await expect(store.get(drop1)).resolves.toBeUndefined();
        await expect(store.get(drop2)).resolves.toBeUndefined();
        for (const key of [keep, other, anonymous])
          await expect(store.get(key)).resolves.toBeDefined();
        if (store.listByUser)
          await expect(store.listByUser('u')).resolves.toMatchObject([{ key: keep }]);
      });
      it('deletes all records of the user without except', async () => {
        const store = await fresh();
        const keys = [storeKey(), storeKey()];
        for (const key of keys) await store.set(key, rec({ userId: 'u' }));
        await expect(store.deleteByUser!('u')).resolves.toBe(2);
        for (const key of keys) await expect(store.get(key)).resolves.toBeUndefined();
        await expect(store.deleteByUser!('u')).resolves.toBe(0);
      });
      it('counts only live records', async () => {
        const store = await fresh();
        await store.set(storeKey(), rec({ userId: 'u' }));
        await store.set(storeKey(), rec({ userId: 'u', expiresAt: past() }));
        await expect(store.deleteByUser!('u')).resolves.toBe(1);
      });
      it('does not follow a record whose userId changed', async () => {
        const store = await fresh();
        const key = storeKey();
        await store.set(key, rec({ userId: 'before' }));
        await store.set(key, rec({ userId: 'after', version: 2 }));
        await expect(store.deleteByUser!('before')).resolves.toBe(0);
        await expect(store.get(key)).resolves.toMatchObject({ userId: 'after' });
      });
      it('keeps odd user ids apart', async () => {
        const store = await fresh();
        const keys = new Map(ODD_USERS.map((user) => [user, storeKey()]));
        for (const [user, key] of keys) await store.set(key, rec({ userId: user }));
        // Delete user by user: each deletion removes exactly its own record, none of the rest.
        const remaining = [...keys];
        for (const [user, key] of keys) {
          await expect(store.deleteByUser!(user), user).resolves.toBe(1);
          await expect(store.get(key), user).resolves.toBeUndefined();
          remaining.shift();
          for (const [other, otherKey] of remaining) {
            await expect(
              store.get(otherKey),
              `${other} after deleting ${user}`,
            ).resolves.toBeDefined();
          }
        }
      });
    });

    describe.skipIf(!has('lock'))('locks', () => {
      const lock = (
        store: SessionStore,
        key: string,
        owner: string,
        ttl = 10_000,
      ): Promise<boolean> => store.lock!(key, { owner, ttl });
      it('locks a free key', async () => {
        const store = await fresh();
        await expect(lock(store, storeKey(), 'a')).resolves.toBe(true);
      });
      it('refuses a second owner and renews for the same owner', async () => {
        const store = await fresh();
        const key = storeKey();
        await lock(store, key, 'a');
        await expect(lock(store, key, 'b')).resolves.toBe(false);
        await expect(lock(store, key, 'a')).resolves.toBe(true);
        await expect(lock(store, key, 'b')).resolves.toBe(false);
      });
      it('keeps keys independent', async () => {
        const store = await fresh();
        const [one, two] = [storeKey(), storeKey()];
        await lock(store, one, 'a');
        await expect(lock(store, two, 'b')).resolves.toBe(true);
      });
      it('does not let a wrong owner unlock', async () => {
        const store = await fresh();
        const key = storeKey();
        await lock(store, key, 'a');
        await expect(store.unlock!(key, { owner: 'b' })).resolves.toBe(false);
        await expect(lock(store, key, 'b')).resolves.toBe(false);
      });
      it('unlocks for the owner, then another owner can lock', async () => {
        const store = await fresh();
        const key = storeKey();
        await lock(store, key, 'a');
        await expect(store.unlock!(key, { owner: 'a' })).resolves.toBe(true);
        await expect(store.unlock!(key, { owner: 'a' })).resolves.toBe(false);
        await expect(lock(store, key, 'b')).resolves.toBe(true);
      });
      it('unlock of a key never locked resolves false', async () => {
        const store = await fresh();
        await expect(store.unlock!(storeKey(), { owner: 'a' })).resolves.toBe(false);
      });
      it('lets another owner take a lock whose ttl has passed', async () => {
        const store = await fresh();
        const key = storeKey();
        await expect(lock(store, key, 'a', 30)).resolves.toBe(true);
        await sleep(120);
        await expect(lock(store, key, 'b')).resolves.toBe(true);
        await expect(store.unlock!(key, { owner: 'a' })).resolves.toBe(false);
        await expect(lock(store, key, 'a')).resolves.toBe(false);
      });
      it('renewing by the same owner extends the lease', async () => {
        const store = await fresh();
        const key = storeKey();
        await lock(store, key, 'a', 30);
        await expect(lock(store, key, 'a', 10_000)).resolves.toBe(true);
        await sleep(120);
        await expect(lock(store, key, 'b')).resolves.toBe(false);
      });
      it('is separate from records: locking creates none, records hold no lock', async () => {
        const store = await fresh();
        const [locked, stored] = [storeKey(), storeKey()];
        await lock(store, locked, 'a');
        await expect(store.get(locked)).resolves.toBeUndefined();
        if (store.ids) await expect(collect(store.ids())).resolves.toEqual([]);
        await store.set(stored, rec());
        await expect(lock(store, stored, 'a')).resolves.toBe(true);
        await expect(store.get(stored)).resolves.toMatchObject({ data: 'payload' });
      });
    });

    describe.skipIf(!has('prune'))('prune', () => {
      it('removes expired records and keeps live ones', async () => {
        const store = await fresh();
        const live = [storeKey(), storeKey()];
        for (const key of live) await store.set(key, rec({ userId: 'u' }));
        for (let i = 0; i < 3; i++)
          await store.set(storeKey(), rec({ expiresAt: past(), userId: 'u' }));
        await expect(store.prune!()).resolves.toBeGreaterThanOrEqual(3);
        for (const key of live) await expect(store.get(key)).resolves.toBeDefined();
        if (store.ids) expect((await collect(store.ids())).sort()).toEqual([...live].sort());
        if (store.listByUser) expect(await store.listByUser('u')).toHaveLength(2);
        await expect(store.prune!()).resolves.toBe(0);
      });
    });

    describe.skipIf(!has('ids'))('ids', () => {
      it('yields every live key exactly once and no expired one', async () => {
        const store = await fresh();
        const live = Array.from({ length: 25 }, storeKey);
        for (const key of live) await store.set(key, rec());
        for (let i = 0; i < 5; i++) await store.set(storeKey(), rec({ expiresAt: past() }));
        const ids = await collect(store.ids!());
        expect(ids.sort()).toEqual([...live].sort());
      });
      it('yields nothing for an empty store', async () => {
        const store = await fresh();
        await expect(collect(store.ids!())).resolves.toEqual([]);
      });
    });

    describe('abort signal', () => {
      for (const [label, makeSignal] of [
        ['the default abort reason', () => AbortSignal.abort()],
        ['a custom abort reason', () => AbortSignal.abort(new Error('stopped by the test'))],
      ] as const) {
        it(`an aborted signal rejects every method with ${label} before any work`, async () => {
          const store = await fresh();
          const key = storeKey();
          const signal = makeSignal();
          const reason: unknown = signal.reason;
          await expect(store.get(key, { signal })).rejects.toBe(reason);
          await expect(store.set(key, rec(), { signal })).rejects.toBe(reason);
          await expect(store.set(key, rec(), { signal, ifVersion: 0 })).rejects.toBe(reason);
          await expect(store.get(key)).resolves.toBeUndefined();
          const written = rec({ userId: 'u' });
          await store.set(key, written);
          await expect(store.touch(key, now() + 2 * HOUR, { signal })).rejects.toBe(reason);
          await expect(store.delete(key, { signal })).rejects.toBe(reason);
          if (store.lock) {
            await expect(store.lock(key, { owner: 'a', ttl: 10_000, signal })).rejects.toBe(reason);
            await expect(store.lock(key, { owner: 'b', ttl: 10_000 })).resolves.toBe(true);
            await expect(store.unlock!(key, { owner: 'b', signal })).rejects.toBe(reason);
            await expect(store.lock(key, { owner: 'c', ttl: 10_000 })).resolves.toBe(false);
          }
          if (store.listByUser)
            await expect(store.listByUser('u', { signal })).rejects.toBe(reason);
          if (store.deleteByUser) {
            await expect(store.deleteByUser('u', { signal })).rejects.toBe(reason);
          }
          if (store.prune) await expect(store.prune({ signal })).rejects.toBe(reason);
          if (store.ids) await expect(collect(store.ids({ signal }))).rejects.toBe(reason);
          await expect(store.get(key)).resolves.toStrictEqual(written);
        });
      }
    });

    describe('invalid records', () => {
      const bad: [string, unknown][] = [
        ['version 0', { version: 0 }],
        ['a negative version', { version: -1 }],
        ['a fractional version', { version: 1.5 }],
        ['a NaN expiresAt', { expiresAt: Number.NaN }],
        ['an infinite expiresAt', { expiresAt: Number.POSITIVE_INFINITY }],
        ['non-string data', { data: 42 }],
        ['a numeric userId', { userId: 7 }],
      ];
      for (const [label, partial] of bad) {
        it(`set refuses a record with ${label} (TypeError) and writes nothing`, async () => {
          const store = await fresh();
          const key = storeKey();
          const bogus = { ...rec(), ...(partial as object) } as StoreRecord;
          await expect(store.set(key, bogus)).rejects.toThrow(TypeError);
          await expect(store.set(key, bogus, { ifVersion: 0 })).rejects.toThrow(TypeError);
          await expect(store.get(key)).resolves.toBeUndefined();
        });
      }
    });

    describe('malformed lease and expiry arguments', () => {
      it.skipIf(!has('lock'))(
        'lock refuses an empty owner or a bad ttl with TypeError',
        async () => {
          const store = await fresh();
          const key = storeKey();
          for (const [owner, ttl] of [
            ['', 100],
            ['a', 0],
            ['a', -1],
            ['a', Number.NaN],
            ['a', Number.POSITIVE_INFINITY],
          ] as const) {
            await expect(store.lock!(key, { owner, ttl })).rejects.toThrow(TypeError);
          }
          await expect(store.lock!(key, { owner: 'a', ttl: 1000 })).resolves.toBe(true);
        },
      );

      it('touch refuses a non-finite expiry with TypeError and changes nothing', async () => {
        const store = await fresh();
        const key = storeKey();
        const written = rec();
        await store.set(key, written);
        await expect(store.touch(key, Number.NaN)).rejects.toThrow(TypeError);
        await expect(store.get(key)).resolves.toStrictEqual(written);
      });
    });

    describe.skipIf(!has('failure'))('backend failure', () => {
      const key = storeKey();
      const calls: [string, Ability | undefined, (s: SessionStore) => Promise<unknown>][] = [
        ['get', undefined, (s) => s.get(key)],
        ['set', undefined, (s) => s.set(key, rec({ userId: 'failing-user' }))],
        ['set (create)', undefined, (s) => s.set(key, rec(), { ifVersion: 0 })],
        ['set (replace)', undefined, (s) => s.set(key, rec({ version: 2 }), { ifVersion: 1 })],
        ['touch', undefined, (s) => s.touch(key, now() + HOUR)],
        ['delete', undefined, (s) => s.delete(key)],
        ['lock', 'lock', (s) => s.lock!(key, { owner: 'failing-owner', ttl: 10_000 })],
        ['unlock', 'lock', (s) => s.unlock!(key, { owner: 'failing-owner' })],
        ['listByUser', 'listByUser', (s) => s.listByUser!('failing-user')],
        ['deleteByUser', 'deleteByUser', (s) => s.deleteByUser!('failing-user', { except: [key] })],
        ['prune', 'prune', (s) => s.prune!()],
        ['ids', 'ids', (s) => collect(s.ids!())],
      ];
      for (const [method, ability, call] of calls) {
        if (ability !== undefined && !has(ability)) continue;
        it(`${method} rejects with ERR_SESSION_STORE, an Error cause and no key in the message`, async () => {
          const store = track(await options.createBroken!());
          broken.add(store);
          const error = await call(store).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isSessionError(error, 'ERR_SESSION_STORE'), String(error)).toBe(true);
          const { cause, message } = error as Error;
          expect(cause).toBeInstanceOf(Error);
          for (const secret of [key, 'failing-user', 'failing-owner'])
            expect(message).not.toContain(secret);
        });
      }
    });

    describe('isolation', () => {
      it(
        has('isolation')
          ? 'two stores from two create() calls do not see each other'
          : 'declares it lacks isolation: two stores share records',
        async () => {
          const [a, b] = [await fresh(), await fresh()];
          const key = storeKey();
          await a.set(key, rec({ userId: 'shared-user' }));
          if (!has('isolation')) {
            await expect(b.get(key)).resolves.toBeDefined();
            return;
          }
          await expect(b.get(key)).resolves.toBeUndefined();
          await expect(b.touch(key, now() + HOUR)).resolves.toBe(false);
          await expect(b.delete(key)).resolves.toBe(false);
          if (b.listByUser) await expect(b.listByUser('shared-user')).resolves.toEqual([]);
          if (b.ids) await expect(collect(b.ids())).resolves.toEqual([]);
          await expect(b.set(key, rec({ data: 'b' }), { ifVersion: 0 })).resolves.toBe(true);
          await expect(a.get(key)).resolves.toMatchObject({ data: 'payload' });
        },
      );
    });

    options.extra?.({ create: fresh, track, now });
  });
}

function label(key: string): string {
  const json = JSON.stringify(key);
  return json.length > 40 ? `${json.slice(0, 30)}…" (${key.length} chars)` : json;
}

function sortEntries<T extends { key: string }>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
