/**
 * One SHA-256 per session id per request: the store key of an id is computed by one owner and
 * remembered for the request, however many store calls (read, lock, write, touch) use it — and
 * none for a cookie presented again (the verified-cookie memo). `isStoreKey` remembers the last
 * key it accepted and still refuses every other shape.
 */

import type * as Crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { isStoreKey } from '../../src/core/store.js';
import { manager, request } from './helpers.js';

// Every SHA-256 the code under test computes, by input (fault-free spy: the real hash runs), and
// every one-shot SHA-256 whatever its input (the HMAC of core/sha256.ts hashes buffers).
const hashed = vi.hoisted(() => [] as string[]);
const oneShots = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof Crypto>();
  const createHash: typeof actual.createHash = (algorithm, options) => {
    const hash = actual.createHash(algorithm, options);
    if (algorithm !== 'sha256') return hash;
    const update = hash.update.bind(hash) as (data: unknown, encoding?: unknown) => Crypto.Hash;
    hash.update = ((data: unknown, encoding?: unknown) => {
      if (typeof data === 'string') hashed.push(data);
      return update(data, encoding);
    }) as Crypto.Hash['update'];
    return hash;
  };
  // The one-shot form (core/sha256.ts on Node ≥ 20.12) is counted the same way.
  const hash = ((algorithm: string, data: unknown, encoding?: unknown) => {
    if (algorithm === 'sha256') oneShots.count += 1;
    if (algorithm === 'sha256' && typeof data === 'string') hashed.push(data);
    return (actual.hash as (a: string, d: unknown, e?: unknown) => unknown)(
      algorithm,
      data,
      encoding,
    );
  }) as typeof actual.hash;
  return { ...actual, default: { ...actual, createHash, hash }, createHash, hash };
});

function idOf(cookie: string | undefined): string {
  return cookie!.split('=')[1]!.slice(0, 43);
}

function hashesOf(id: string): number {
  return hashed.filter((input) => input === id).length;
}

beforeEach(() => {
  hashed.length = 0;
  oneShots.count = 0;
});

describe('store key: one SHA-256 per id per request', () => {
  it('a read-then-write request hashes its id once', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('n', 1));
    const id = idOf(cookie);
    hashed.length = 0;
    await request(m, cookie, async (s) => s.set('n', ((await s.get('n')) as number) + 1));
    expect(hashesOf(id)).toBe(1);
  });

  it('in lock mode (lock, read, write, unlock) the id is hashed once', async () => {
    const m = manager({ concurrency: 'lock' });
    const { cookie } = await request(m, undefined, (s) => s.set('n', 1));
    const id = idOf(cookie);
    hashed.length = 0;
    await request(m, cookie, async (s) => s.set('n', ((await s.get('n')) as number) + 1));
    expect(hashesOf(id)).toBe(1);
  });

  it('with a flagged fingerprint mismatch the id is still hashed once', async () => {
    const m = manager({ fingerprint: { userAgent: true } });
    const first = m.begin({ userAgent: 'browser A' });
    first.session.set('n', 1);
    const cookie = (await first.end()).setCookie[0]!.split(';')[0];
    const id = idOf(cookie);
    hashed.length = 0;
    const second = m.begin({ cookie, userAgent: 'browser B' });
    second.session.set('n', ((await second.session.get('n')) as number) + 1);
    await second.end();
    expect(second.session.flagged).toBe(true);
    expect(hashesOf(id)).toBe(1);
  });

  it('a new session written, then asked for its handle, hashes its new id once', async () => {
    const m = manager();
    const { cookie, result } = await request(m, undefined, async (s) => {
      s.set('n', 1);
      await s.commit();
      return s.handle();
    });
    expect(result).toBeDefined();
    expect(hashesOf(idOf(cookie))).toBe(1);
  });
});

describe('a cookie presented again (the verified-cookie memo, core/verified-ids.ts)', () => {
  it('costs no SHA-256 at all: neither the HMAC check nor the id’s store key', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('n', 1));
    const id = idOf(cookie);
    await request(m, cookie, (s) => s.get('n')); // verified, and remembered
    hashed.length = 0;
    oneShots.count = 0;
    const r = await request(m, cookie, async (s) => s.set('n', ((await s.get('n')) as number) + 1));
    expect(r.cookie).toBe(cookie);
    expect(hashesOf(id)).toBe(0);
    expect(oneShots.count).toBe(0);
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(2);
  });

  it('a forged signature on the remembered id is checked in full (one HMAC) and refused', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('n', 1));
    await request(m, cookie, (s) => s.get('n'));
    const forged = `${cookie!.slice(0, -1)}${cookie!.endsWith('A') ? 'B' : 'A'}`;
    oneShots.count = 0;
    expect((await request(m, forged, (s) => s.get('n'))).result).toBeUndefined();
    expect(oneShots.count).toBe(2); // the HMAC's two hashes; no store key for a refused id
  });
});

describe('isStoreKey', () => {
  it('refuses a hostile key right after accepting a valid one (the last accepted is remembered)', () => {
    const valid = 'A'.repeat(43);
    expect(isStoreKey(valid)).toBe(true);
    for (const hostile of [
      `${valid}/`,
      `${valid.slice(1)}.`,
      '../../etc/passwd',
      '',
      'A'.repeat(129),
    ]) {
      expect(isStoreKey(hostile)).toBe(false);
    }
    expect(isStoreKey(new String(valid))).toBe(false);
    expect(isStoreKey(valid)).toBe(true);
    expect(isStoreKey(`${'A'.repeat(42)}B`)).toBe(true);
  });
});
