/**
 * One SHA-256 per session id per request: the store key of an id is computed by one owner and
 * remembered for the request, however many store calls (read, lock, write, touch) use it.
 */

import type * as Crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { manager, request } from './helpers.js';

// Every SHA-256 the code under test computes, by input (fault-free spy: the real hash runs).
const hashed = vi.hoisted(() => [] as string[]);
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
