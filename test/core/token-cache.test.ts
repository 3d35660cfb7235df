/**
 * `cookieStore({ tokenCache })` through the manager: a token this process sealed or opened is not
 * decrypted again when presented again (decryptions counted on node:crypto), and everything else
 * is as without the cache — forged tokens, deadlines, rotation, what a request reads and writes.
 * The memo alone: token-memo.test.ts.
 */

import type * as Crypto from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKeyRing } from '../../src/core/keys.js';
import { aeadCodec, createSealKeys } from '../../src/core/sealed.js';
import type { Unsealed } from '../../src/core/sealed-text.js';
import { isSessionError, type Session } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { hybridStore } from '../../src/stores/hybrid.js';
import { jwtStore } from '../../src/stores/jwt.js';
import { memoryStore } from '../../src/stores/memory.js';
import { Jar } from '../support/cookie-jar.js';
import { recordMeta } from '../support/record-meta.js';
import { clock, manager, SECRET, type TestManager } from './helpers.js';

// AES-GCM deciphers made by the code under test (a fault-free spy: the real decipher runs).
const deciphers = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof Crypto>();
  const createDecipheriv = ((...args: Parameters<typeof actual.createDecipheriv>) => {
    deciphers.count++;
    return actual.createDecipheriv(...args);
  }) as typeof actual.createDecipheriv;
  return { ...actual, default: { ...actual, createDecipheriv }, createDecipheriv };
});

type S = Session<Record<string, unknown>, Record<string, unknown>>;
const MINUTE = 60_000;

afterEach(() => {
  deciphers.count = 0;
});

function sealed(
  options: Parameters<typeof cookieStore>[0] = {},
  secrets?: { id: string; secret: string }[],
) {
  const c = clock();
  const m = manager({
    store: cookieStore(options),
    now: c.now,
    idleTimeout: 30 * MINUTE,
    ...(secrets === undefined ? {} : { secrets }),
  });
  return { m, clock: c };
}

/** One request presenting `cookie`; returns the handler's result and the new cookie header. */
async function run<T>(m: TestManager, cookie: string | undefined, handler: (s: S) => T) {
  const scope = m.begin({ cookie, ip: '10.0.0.1', userAgent: 'vitest' });
  const result = await handler(scope.session);
  const out = await scope.end();
  const jar = new Jar(cookie ?? '');
  jar.take(out.setCookie);
  return { result, out, cookie: jar.header };
}

describe('the token cache (cookieStore tokenCache)', () => {
  it('a token this process sealed opens without a decryption, every time it is presented', async () => {
    const { m } = sealed();
    const { cookie } = await run(m, undefined, (s) => s.set('cart', { items: [1, 2] }));
    deciphers.count = 0;
    for (let i = 0; i < 3; i++) {
      const read = await run(m, cookie, (s) => s.get('cart'));
      expect(read.result).toEqual({ items: [1, 2] });
    }
    expect(deciphers.count).toBe(0);
  });

  it('a token sealed elsewhere is decrypted once, then served from the cache', async () => {
    const issuer = sealed().m;
    const { m } = sealed();
    const { cookie } = await run(issuer, undefined, (s) => s.set('n', 7));
    deciphers.count = 0;
    for (let i = 0; i < 3; i++) expect((await run(m, cookie, (s) => s.get('n'))).result).toBe(7);
    expect(deciphers.count).toBe(1);
  });

  it('with tokenCache: 0 every presented token is decrypted', async () => {
    const { m } = sealed({ tokenCache: 0 });
    const { cookie } = await run(m, undefined, (s) => s.set('n', 7));
    deciphers.count = 0;
    for (let i = 0; i < 3; i++) expect((await run(m, cookie, (s) => s.get('n'))).result).toBe(7);
    expect(deciphers.count).toBe(3);
  });

  it('a forged token under a cached token’s IV is decrypted and refused; the real one still opens', async () => {
    const { m } = sealed();
    const { cookie } = await run(m, undefined, (s) => s.set('n', 7));
    const token = cookie!.slice('sid='.length);
    const at = token.length - 5; // inside the tag: same key id and IV, another body
    const forged = `sid=${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    deciphers.count = 0;
    m.events.length = 0;
    expect((await run(m, forged, (s) => s.get('n'))).result).toBeUndefined();
    expect(deciphers.count).toBe(1);
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'invalid-cookie', reason: 'signature' }),
    );
    expect((await run(m, cookie, (s) => s.get('n'))).result).toBe(7);
    expect(deciphers.count).toBe(1);
  });

  it('a cached token past its idle deadline is expired, as without the cache', async () => {
    const { m, clock: c } = sealed();
    const { cookie } = await run(m, undefined, (s) => s.set('n', 7));
    c.advance(30 * MINUTE + 5_001); // past idle + the default leeway
    m.events.length = 0;
    expect((await run(m, cookie, (s) => s.get('n'))).result).toBeUndefined();
    expect(m.events).toContainEqual(expect.objectContaining({ type: 'expire', reason: 'idle' }));
    expect(deciphers.count).toBe(0);
  });

  it('what a request changes never reaches another request presenting the same token', async () => {
    const { m } = sealed();
    const { cookie } = await run(m, undefined, (s) => s.set('cart', { items: [1] }));
    const writer = await run(m, cookie, async (s) => {
      await s.update('cart', (cart) => ({ items: [...(cart as { items: number[] }).items, 2] }));
      await s.set('other', true);
      return s.all();
    });
    expect(writer.result).toEqual({ cart: { items: [1, 2] }, other: true });
    expect(deciphers.count).toBe(0);
    // The writer's token replaced the one it was sealed from in the cache (one sealed token per
    // session): presented again, the superseded token is decrypted — and holds its own state.
    const reader = await run(m, cookie, (s) => s.all());
    expect(reader.result).toEqual({ cart: { items: [1] } });
    expect(deciphers.count).toBe(1);
    // The writer's own new token reads back its changes, from the cache.
    expect((await run(m, writer.cookie, (s) => s.all())).result).toEqual(writer.result);
    expect(deciphers.count).toBe(1);
  });

  it('a session read from the cache is the session a decryption gives', async () => {
    const cached = sealed().m;
    const uncached = sealed({ tokenCache: 0 }).m;
    const data = {
      text: 'Zoë ✓ \u{1F600}',
      nested: { list: [1, 'two', { three: [null, true, 3.5] }], empty: {} },
      n: -0,
    };
    const { cookie } = await run(cached, undefined, (s) => {
      s.merge(data);
      s.flash.add('notice', 'saved');
      s.login('user-1');
    });
    const snapshot = async (m: TestManager) =>
      (
        await run(m, cookie, async (s) => ({
          all: await s.all(),
          meta: await s.meta(),
          handle: await s.handle(),
          flash: await s.flash.peek('notice'),
        }))
      ).result;
    const fromCache = await snapshot(cached);
    expect(deciphers.count).toBe(0);
    expect(await snapshot(uncached)).toEqual(fromCache);
    expect(deciphers.count).toBe(1);
    expect(fromCache.all).toEqual({ ...data, n: 0 });
    expect(fromCache.flash).toEqual(['saved']);
    expect(fromCache.meta.userId).toBe('user-1');
  });

  it('a cached token sealed under an older key is still re-sealed under the primary', async () => {
    const primary = { id: 'k2', secret: `${SECRET}-second-key-material` };
    const previous = { id: 'k1', secret: SECRET };
    const old = sealed({}, [previous]).m;
    const { cookie } = await run(old, undefined, (s) => s.set('n', 1));
    expect(cookie).toMatch(/^sid=k1\./);
    const { m, clock: c } = sealed({}, [primary, previous]);
    deciphers.count = 0;
    const first = await run(m, cookie, (s) => s.get('n'));
    expect([first.result, first.cookie]).toEqual([1, cookie]); // within touchInterval: left alone
    c.advance(60_000);
    const touched = await run(m, cookie, (s) => s.get('n'));
    expect(touched.result).toBe(1);
    expect(touched.cookie).toMatch(/^sid=k2\./);
    expect(deciphers.count).toBe(1); // the first open only: the touch read the cached token
  });

  it('refuses a tokenCache that is not a whole number from 0 to 100 000', () => {
    for (const tokenCache of [-1, 1.5, 100_001, Number.NaN, '10' as unknown as number]) {
      let error: unknown;
      try {
        cookieStore({ tokenCache });
      } catch (e) {
        error = e;
      }
      expect(isSessionError(error) && error.code).toBe('ERR_SESSION_CONFIG');
      expect((error as Error).message).toBe(
        'cookieStore: `tokenCache` must be an integer from 0 (off) to 100000 (default 1000).',
      );
    }
    expect(() => cookieStore({ tokenCache: 100_000 })).not.toThrow();
    expect(() => hybridStore({ store: memoryStore(), tokenCache: -1 })).toThrow(
      'hybridStore: `tokenCache` must be an integer from 0 (off) to 100000 (default 1000).',
    );
    expect(() => jwtStore({ tokenCache: 10 } as never)).toThrow(
      "jwtStore: `tokenCache` is cookieStore()'s (the AES-GCM token's memo); a jwt store verifies every token.",
    );
  });

  it('the hybrid store’s stateless side caches too, and tokenCache: 0 turns it off', async () => {
    for (const [tokenCache, expected] of [
      [undefined, 0],
      [0, 2],
    ] as const) {
      const m = manager({
        store: hybridStore({
          store: memoryStore(),
          ...(tokenCache === undefined ? {} : { tokenCache }),
        }),
        secrets: [SECRET],
      });
      const { cookie } = await run(m, undefined, (s) => s.set('n', 1));
      deciphers.count = 0;
      for (let i = 0; i < 2; i++) expect((await run(m, cookie, (s) => s.get('n'))).result).toBe(1);
      expect(deciphers.count).toBe(expected);
    }
  });
});

describe('the token cache in the AES-GCM codec', () => {
  const LIMITS = { maxBytes: 4096, maxDepth: 32 };
  const claims = { sid: 'A'.repeat(43), iat: 1, idle: 5, exp: 9, gen: 0 };
  const payload = () => ({
    data: Object.freeze({ a: 1 }) as never,
    flash: Object.freeze({}) as never,
    meta: recordMeta({ absoluteExpiresAt: 9, csrf: null, fingerprint: null, generation: 0 }),
  });
  const ring = (...ids: string[]) =>
    createKeyRing(ids.map((id) => ({ id, secret: `${SECRET}-${id}-key-material` })));

  it('a cached token opened under other limits is read again under them, keeping its key', () => {
    const token = aeadCodec(createSealKeys(ring('old'))).seal(claims, payload(), LIMITS) as string;
    const codec = aeadCodec(createSealKeys(ring('new', 'old')), 10);
    expect((codec.open(token, LIMITS, 0) as Unsealed).keyIndex).toBe(1);
    expect(deciphers.count).toBe(1);
    const other = { ...LIMITS };
    expect(codec.open(token, other, 0)).toMatchObject({ claims, keyIndex: 1 });
    // Too small for the text under the new limits: 'claims', as a decryption would say.
    expect(codec.open(token, { ...LIMITS, maxBytes: 10 }, 0)).toBe('claims');
    expect(codec.open(token, other, 0)).toMatchObject({ claims, keyIndex: 1 });
    expect(deciphers.count).toBe(1);
  });

  it('every change to a cached genuine token fails closed', () => {
    const codec = aeadCodec(createSealKeys(ring('k1')), 10);
    const genuine = codec.seal(claims, payload(), LIMITS) as string;
    const B64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
    const mutation = fc.oneof(
      fc
        .tuple(fc.nat({ max: genuine.length - 1 }), fc.constantFrom(...B64URL, '.'))
        .filter(([i, c]) => genuine[i] !== c)
        .map(([i, c]) => `${genuine.slice(0, i)}${c}${genuine.slice(i + 1)}`),
      fc.nat({ max: genuine.length - 1 }).map((n) => genuine.slice(0, n)),
      fc.string({ minLength: 1, maxLength: 8 }).map((x) => `${genuine}${x}`),
    );
    fc.assert(
      fc.property(mutation, (token) => {
        expect(typeof codec.open(token, LIMITS, 0)).toBe('string');
      }),
      { numRuns: 500 },
    );
    expect(codec.open(genuine, LIMITS, 0)).toMatchObject({ claims, keyIndex: 0 });
  });
});
