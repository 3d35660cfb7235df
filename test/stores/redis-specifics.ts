/**
 * Redis store tests beyond the conformance suite, for the standalone flavours (ioredis and
 * node-redis on the shared server): the key and record layout, native expiry, the scripts'
 * key discipline (seen with `MONITOR`), NOSCRIPT and type errors, options and a cut connection.
 * The per-user index and commands per call: `redis-index.ts`.
 */

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import {
  type IoredisClientLike,
  REDIS_SCRIPTS,
  type RedisClientLike,
  redisStore,
} from '../../src/stores/redis.js';
import { REDIS_URL } from '../support/backends.js';
import { until } from '../support/redis-servers.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { collect, HOUR, record, type StoreSuiteContext, storeKey } from './conformance.js';
import {
  type Connection,
  configError,
  type Flavour,
  keySlot,
  monitored,
  scanAll,
  tagOf,
} from './redis-helpers.js';

const BUCKET = HOUR;
const later = () => Date.now() + HOUR;

/** Define the standalone-only tests inside the flavour's conformance suite. */
export function specifics(
  ctx: StoreSuiteContext,
  connect: () => Promise<Connection>,
  newPrefix: () => string,
  recommended: NonNullable<Flavour['recommended']>,
): void {
  /** A tracked store on the flavour's shared client (or `client`), under a fresh prefix. */
  const make = async (client?: RedisClientLike) => {
    const { client: shared, raw } = await connect();
    const prefix = newPrefix();
    const store = ctx.track(redisStore({ client: client ?? shared, prefix }));
    return { store, prefix, raw };
  };

  describe('redis specifics', () => {
    it('lays out keys under the prefix: one hash tag per record (+ lock), one per user', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      const user = 'alice@example.com';
      const written = record({ data: 'd\n|x', version: 4, userId: user, expiresAt: later() });
      await store.set(key, written);
      await store.lock!(key, { owner: 'o', ttl: 10_000 });
      const keys = await scanAll(raw, `${prefix}*`);
      const [rk, lk, uk] = [
        `${prefix}s:{${key}}`,
        `${prefix}l:{${key}}`,
        `${prefix}u:{${tagOf(user)}}`,
      ];
      expect([...keys].sort()).toEqual([lk, rk, uk].sort());
      expect(keys.join(' ')).not.toContain(user);
      expect([await raw('TYPE', rk), await raw('TYPE', lk), await raw('TYPE', uk)]).toEqual([
        'string',
        'string',
        'zset',
      ]);
      // The index score: the first bucket boundary at or after the expiry, also in the header.
      const score = Math.ceil(written.expiresAt / BUCKET) * BUCKET;
      expect(score).toBeGreaterThanOrEqual(written.expiresAt);
      expect(await raw('GET', rk)).toBe(`1|4|${written.expiresAt}|${score}|${user}\nd\n|x`);
      expect(Number(await raw('ZSCORE', uk, key))).toBe(score);
      // The record and its lock share the key's slot; the index sits in the user's own slot.
      expect(keySlot(rk)).toBe(keySlot(key));
      expect(keySlot(lk)).toBe(keySlot(key));
      expect(keySlot(uk)).toBe(keySlot(tagOf(user)));
    });

    it('computes Cluster slots like Redis (known vectors)', () => {
      expect(keySlot('foo')).toBe(12_182);
      expect(keySlot('bar')).toBe(5061);
      expect(keySlot('123456789')).toBe(0x31c3 % 16_384);
      expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    });

    it('keeps user ids with the escape character, line feeds and bars apart and exact', async () => {
      const { store, prefix, raw } = await make();
      const users = ['a\nb', 'a%0Ab', '%', '%25', 'x|y\n%0A\n', '\n'];
      const keys = users.map(() => storeKey());
      for (const [i, userId] of users.entries()) {
        await store.set(keys[i]!, record({ data: `d${i}\n`, userId }));
      }
      for (const [i, userId] of users.entries()) {
        await expect(store.get(keys[i]!)).resolves.toMatchObject({ userId, data: `d${i}\n` });
        await expect(store.listByUser!(userId)).resolves.toMatchObject([{ key: keys[i] }]);
      }
      expect(await raw('GET', `${prefix}s:{${keys[0]}}`)).toMatch(/^1\|1\|[^\n]*\|a%0Ab\nd0\n$/);
      await expect(store.deleteByUser!('a\nb')).resolves.toBe(1);
      await expect(store.delete(keys[4]!)).resolves.toBe(true);
      expect(await raw('EXISTS', `${prefix}u:{${tagOf(users[4]!)}}`)).toBe(0);
      for (const [i, userId] of users.entries()) {
        const left = i === 0 || i === 4 ? [] : [{ key: keys[i] }];
        await expect(store.listByUser!(userId)).resolves.toMatchObject(left);
      }
    });

    it('expires records natively at expiresAt; touch moves only the expiry', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      const rk = `${prefix}s:{${key}}`;
      const first = record({ data: 'kept', userId: 'u', expiresAt: later() });
      await store.set(key, first);
      expect(await raw('PEXPIRETIME', rk)).toBe(first.expiresAt);
      expect(await raw('PTTL', rk)).toBeGreaterThan(0);
      const header = String(await raw('GET', rk)).split('|');
      const moved = first.expiresAt + HOUR;
      await expect(store.touch(key, moved)).resolves.toBe(true);
      expect(await raw('PEXPIRETIME', rk)).toBe(moved);
      // Only the expiry changes; the indexed score stays (the next write re-indexes if needed).
      expect(await raw('GET', rk)).toBe(`1|1|${moved}|${header[3]}|u\nkept`);
      // A fractional expiry is kept exactly; Redis gets the next whole millisecond.
      await store.touch(key, moved + 0.5);
      expect(await raw('PEXPIRETIME', rk)).toBe(moved + 1);
      await expect(store.get(key)).resolves.toMatchObject({ expiresAt: moved + 0.5 });
      // Writing or touching into the past deletes the key instead of keeping a dead one.
      await store.touch(key, Date.now() - 1000);
      expect(await raw('EXISTS', rk)).toBe(0);
      await store.set(key, record({ expiresAt: later() }));
      await store.set(key, record({ expiresAt: Date.now() - 1000 }));
      expect(await raw('EXISTS', rk)).toBe(0);
      await store.lock!(key, { owner: 'o', ttl: 5000 });
      const pttl = Number(await raw('PTTL', `${prefix}l:{${key}}`));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(5000);
    });

    it('registers Lua scripts that take keys and values as parameters, one key each but set', () => {
      const names = Object.keys(REDIS_SCRIPTS).sort();
      expect(names).toEqual(['delete', 'lock', 'set', 'touch', 'unindex', 'unlock']);
      for (const [name, { source, sha }] of Object.entries(REDIS_SCRIPTS)) {
        expect(sha, name).toBe(createHash('sha1').update(source).digest('hex'));
        // Only `set` names a second key: the user's index, passed only outside a Cluster.
        const allowed = name === 'set' ? ['KEYS[1]', 'KEYS[2]'] : ['KEYS[1]'];
        const keyRefs = new Set(source.match(/KEYS\[[^\]]*\]/g) ?? []);
        expect(keyRefs.size, name).toBeGreaterThan(0);
        for (const ref of keyRefs) expect(allowed, `${name}: ${ref}`).toContain(ref);
        // Every command names KEYS[n] as its key, or `k` inside `load(k)`, which only ever
        // gets KEYS[1]: never an ARGV, never a built name.
        const calls = [...source.matchAll(/redis\.p?call\('(\w+)', ([^,)]+)/g)];
        expect(calls.length, name).toBeGreaterThan(0);
        for (const [, , key] of calls) expect([...allowed, 'k'], `${name}: ${key}`).toContain(key);
        // `k` is only load's parameter (`function load(k, full)`); load only ever gets KEYS[1].
        expect(source, name).not.toMatch(/local k\b|\bk\s*=[^=]/);
        for (const [, arg] of source.matchAll(/\bload\(([^,)]+)/g)) {
          expect(['k', 'KEYS[1]'], `${name}: load(${arg})`).toContain(arg);
        }
        // No key layout in the text, no key built by concatenation, no code from values.
        expect(source, name).not.toMatch(
          /sessionkit|:\{|KEYS\[\d\]\s*\.\.|\.\.\s*KEYS|redis\.sha1hex|loadstring/,
        );
      }
    });

    it('sends one key per command (scripts: the record, and for set with a user its index), no value inside script text', async () => {
      const { store, prefix, raw } = await make();
      const key = storeKey();
      const user = 'user-secret-4711';
      const owner = 'owner-secret-0815';
      const data = 'payload-secret-1234';
      const uk = `${prefix}u:{${tagOf(user)}}`;
      const seen = await monitored(raw, prefix, async () => {
        await store.set(key, record({ data, userId: user }), { ifVersion: 0 });
        await store.set(key, record({ data, userId: user, version: 2 }), { ifVersion: 1 });
        await store.get(key);
        await store.touch(key, later());
        await store.lock!(key, { owner, ttl: 1000 });
        await store.unlock!(key, { owner });
        await store.listByUser!(user);
        await collect(store.ids!());
        await store.prune!();
        await store.deleteByUser!(user, { except: [storeKey()] });
        await store.set(key, record({ data, userId: user }));
        await store.delete(key, { ifVersion: 1 });
      });
      const shas = new Set(Object.values(REDIS_SCRIPTS).map((s) => s.sha));
      const sources = new Set(Object.values(REDIS_SCRIPTS).map((s) => s.source));
      const names = new Set(seen.map(([name]) => name!.toUpperCase()));
      expect([...names].sort()).toEqual(['EVALSHA', 'GET', 'SCAN', 'ZRANGE', 'ZREM']);
      for (const [name, ...args] of seen) {
        const command = name!.toUpperCase();
        if (command === 'SCAN') continue; // keyless: its MATCH pattern carries the prefix
        if (command === 'EVALSHA' || command === 'EVAL') {
          const [script, numkeys, ...rest] = args as [string, string, ...string[]];
          expect(command === 'EVAL' ? sources.has(script) : shas.has(script)).toBe(true);
          for (const secret of [key, user, owner, data]) expect(script).not.toContain(secret);
          const keys = rest.slice(0, Number(numkeys));
          expect(keys[0]!.startsWith(prefix), `${command} ${args.join(' ')}`).toBe(true);
          // A second key only for set (by its sha), and only the user's index.
          if (numkeys === '2') {
            expect(script).toBe(REDIS_SCRIPTS.set.sha);
            expect(keys[1]).toBe(uk);
          } else expect(numkeys, `${command} ${args.join(' ')}`).toBe('1');
          // Every other argument is a value: none of them names a key of the store.
          for (const value of rest.slice(keys.length)) expect(value.startsWith(prefix)).toBe(false);
        } else {
          // Single-key commands: the key, then members/fields/values that are never keys.
          expect(args[0]!.startsWith(prefix), `${command} ${args[0]}`).toBe(true);
          for (const value of args.slice(1)) expect(value.startsWith(prefix)).toBe(false);
        }
      }
    });

    it('falls back to EVAL when the server has lost a script (NOSCRIPT), and wraps other errors', async () => {
      const { raw } = await connect();
      const sent: string[] = [];
      // A fault injector over the real connection: the first EVALSHA asks for an unknown script.
      const client: IoredisClientLike = {
        call: (command, ...args) => {
          sent.push(command);
          if (command === 'EVALSHA' && sent.length === 1)
            return raw(command, '0'.repeat(40), ...args.slice(1));
          return raw(command, ...args);
        },
      };
      const { store, prefix } = await make(client);
      const key = storeKey();
      const written = record({ data: 'after NOSCRIPT' });
      await expect(store.set(key, written)).resolves.toBe(true);
      expect(sent).toEqual(['EVALSHA', 'EVAL']);
      await expect(store.get(key)).resolves.toStrictEqual(written);
      // A foreign value of another type under the record key: WRONGTYPE becomes a StoreError.
      const other = storeKey();
      await raw('RPUSH', `${prefix}s:{${other}}`, 'not a record');
      for (const call of [() => store.set(other, record()), () => store.get(other)]) {
        const error = await call().catch((e: unknown) => e);
        expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
        expect(String((error as Error).cause)).toMatch(/WRONGTYPE/);
        expect((error as Error).message).not.toContain(other);
      }
      // A foreign string is no record: missing to every read, replaced by a create.
      const odd = storeKey();
      await raw('SET', `${prefix}s:{${odd}}`, '1|not|a|record');
      await expect(store.get(odd)).resolves.toBeUndefined();
      await expect(store.touch(odd, later())).resolves.toBe(false);
      await expect(store.delete(odd)).resolves.toBe(false);
      await expect(store.set(odd, record(), { ifVersion: 1 })).resolves.toBe(false);
      await expect(store.set(odd, record(), { ifVersion: 0 })).resolves.toBe(true);
    });

    it('refuses a bad prefix or client with ERR_SESSION_CONFIG naming the option', async () => {
      const { client } = await connect();
      for (const prefix of ['{tag}', 'a*', 'a?', '[a]', 'a\\b', 'a b', 'é', 'x'.repeat(65), 7]) {
        const error = configError(() => redisStore({ client, prefix: prefix as string }));
        expect(isSessionError(error, 'ERR_SESSION_CONFIG'), String(prefix)).toBe(true);
        expect((error as Error).message).toContain('`prefix`');
      }
      for (const bad of [undefined, null, {}, { get: async () => null }, { sendCommand: 'x' }]) {
        const error = configError(() => redisStore({ client: bad as never }));
        expect(isSessionError(error, 'ERR_SESSION_CONFIG'), JSON.stringify(bad)).toBe(true);
        expect((error as Error).message).toContain('`client`');
      }
      expect(
        isSessionError(
          configError(() => redisStore(undefined as never)),
          'ERR_SESSION_CONFIG',
        ),
      ).toBe(true);
    });

    it('fails fast with StoreError while Redis is unreachable and recovers when it is back', async () => {
      const proxy = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379));
      const { client, quit } = await recommended(`redis://127.0.0.1:${proxy.port}`);
      try {
        const { store } = await make(client);
        const key = storeKey();
        const written = record({ userId: 'outage-user' });
        await store.set(key, written);
        proxy.cut();
        const calls: [string, () => Promise<unknown>][] = [
          ['get', () => store.get(key)],
          ['set', () => store.set(key, record({ version: 2 }), { ifVersion: 1 })],
          ['touch', () => store.touch(key, later())],
          ['delete', () => store.delete(key)],
          ['lock', () => store.lock!(key, { owner: 'o', ttl: 1000 })],
          ['listByUser', () => store.listByUser!('outage-user')],
        ];
        for (const [name, call] of calls) {
          const error = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isSessionError(error, 'ERR_SESSION_STORE'), `${name}: ${String(error)}`).toBe(
            true,
          );
        }
        proxy.restore();
        // The client reconnects on its own; the record came through the outage untouched.
        await until(() =>
          store.get(key).then((r) => (r ? r : Promise.reject(new Error('missing')))),
        );
        await expect(store.get(key)).resolves.toStrictEqual(written);
        await expect(store.listByUser!('outage-user')).resolves.toMatchObject([{ key }]);
      } finally {
        await quit();
        await proxy.close();
      }
    });

    it("uses 'sessionkit:' as the default prefix", async () => {
      const { client, raw } = await connect();
      const store = ctx.track(redisStore({ client }));
      const key = storeKey();
      try {
        await store.set(key, record());
        expect(await raw('EXISTS', `sessionkit:s:{${key}}`)).toBe(1);
      } finally {
        await store.delete(key);
      }
    });
  });
}
