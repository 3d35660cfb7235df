/**
 * The op log's rules (`src/core/ops.ts`), one by one: which paths a log writes blindly and how
 * they overlap a read, which reads are recorded and what value each keeps, which recorded reads
 * a commit checks, and when a pending op already sets the CSRF secret. Each rule is pinned on the
 * pure functions with exact values and, where a request can reach it, through the session API on
 * a real memory store shared by two managers ("processes").
 */

import { describe, expect, it } from 'vitest';
import { type DataObject, emptyObject, type SessionPayload } from '../../src/core/codec.js';
import {
  csrfPending,
  observe,
  type SessionOp,
  staleReads,
  WrittenPaths,
} from '../../src/core/ops.js';
import { memoryStore } from '../../src/stores/memory.js';
import { manager, request } from './helpers.js';

const META = {
  createdAt: 1_700_000_000_000,
  lastSeenAt: 1_700_000_000_000,
  absoluteExpiresAt: 1_700_043_200_000,
  userId: null,
  ip: '203.0.113.9',
  userAgent: 'UA',
  persistent: false,
  csrf: null,
  fingerprint: null,
  generation: 0,
};

function payload(data: DataObject = emptyObject()): SessionPayload {
  return { data, flash: emptyObject(), meta: META };
}

const set = (path: string[], value: unknown): SessionOp => ({ kind: 'set', path, value });
const merge = (patch: DataObject): SessionOp => ({ kind: 'merge', patch });

describe('WrittenPaths', () => {
  it('joins a set path with dots: a.b overlaps a, a.b and a.b.c, not ab or b', () => {
    const index = WrittenPaths.of([set(['a', 'b'], 1)]);
    expect(['a', 'a.b', 'a.b.c', 'ab', 'b', 'a.bc'].map((p) => index.overlaps(p))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('finds a written prefix of a read path at any of its dots', () => {
    const index = WrittenPaths.of([set(['x', 'y'], 1)]);
    expect(['x.y.z', 'x.y.z.w', 'x.yz', 'w.x.y'].map((p) => index.overlaps(p))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('a merged key named "" is a top-level key like any other: it overlaps no other key', () => {
    const index = WrittenPaths.of([merge({ '': 1 } as DataObject)]);
    expect(['x', 'x.y', ''].map((p) => index.overlaps(p))).toEqual([false, false, true]);
  });

  it('a log with only updates, flash or meta ops writes nothing blindly', () => {
    const index = WrittenPaths.of([
      { kind: 'update', path: ['a'], fn: () => 1 },
      { kind: 'flash', key: 'a', value: 1, replace: false },
      { kind: 'meta', patch: { userId: 'u' } },
    ]);
    expect(['a', ''].map((p) => index.overlaps(p))).toEqual([false, false]);
  });
});

describe('observe', () => {
  const base = payload({ a: { b: 2 }, c: 3 } as DataObject);

  it('records a read under its dot path, with the value read', () => {
    const map = observe(undefined, new WrittenPaths(), base, ['a', 'b']);
    expect([...map!]).toEqual([['a.b', 2]]);
    expect([...observe(map, new WrittenPaths(), base, ['c'])!]).toEqual([
      ['a.b', 2],
      ['c', 3],
    ]);
  });

  it('keeps the first value seen: a path read again on a newer base is not recorded again', () => {
    const first = observe(undefined, new WrittenPaths(), base, ['c']);
    const newer = payload({ a: { b: 2 }, c: 4 } as DataObject);
    const again = observe(first, new WrittenPaths(), newer, ['c']);
    expect(again).toBe(first);
    expect([...again!]).toEqual([['c', 3]]);
  });

  it('does not record a read of a path the request wrote itself', () => {
    const written = WrittenPaths.of([set(['a', 'b'], 9)]);
    expect(observe(undefined, written, base, ['a'])).toBeUndefined();
    expect(observe(undefined, written, base, ['a', 'b', 'c'])).toBeUndefined();
    expect([...observe(undefined, written, base, ['c'])!]).toEqual([['c', 3]]);
  });
});

describe('staleReads', () => {
  const seen = new Map<string, unknown>([
    ['a', 1],
    ['b', 1],
  ]);

  it('reports an observed path only when the log writes it blindly and its value changed', () => {
    const fresh = payload({ a: 2, b: 2 } as DataObject);
    expect(staleReads(seen, [set(['a'], 5)], fresh)).toEqual(['a']);
    expect(staleReads(seen, [set(['c'], 5)], fresh)).toEqual([]);
    expect(staleReads(seen, [{ kind: 'clear' }], fresh)).toEqual(['a', 'b']);
  });

  it('an equal value reloaded is no change, and no reads is no conflict', () => {
    expect(staleReads(seen, [set(['a'], 5)], payload({ a: 1 } as DataObject))).toEqual([]);
    expect(staleReads(undefined, [set(['a'], 5)], payload())).toEqual([]);
    expect(staleReads(new Map(), [set(['a'], 5)], payload())).toEqual([]);
  });
});

describe('csrfPending', () => {
  it('is true only for a pending meta op that names the CSRF secret', () => {
    expect(csrfPending([])).toBe(false);
    expect(csrfPending([{ kind: 'meta', patch: { csrf: null } }])).toBe(true);
    expect(csrfPending([set(['x'], 1), { kind: 'meta', patch: { csrf: 'secret' } }])).toBe(true);
    expect(csrfPending([{ kind: 'meta', patch: { persistent: true } }])).toBe(false);
    // A data key named `csrf` is not the secret.
    expect(csrfPending([merge({ csrf: 'x' } as DataObject)])).toBe(false);
  });
});

describe('the rules through a request', () => {
  const pair = () => {
    const store = memoryStore();
    return [manager({ store }), manager({ store })] as const;
  };

  it('a blind write of one key is not checked against a concurrent change of another key read', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.merge({ x: 1, y: 1 }));
    const slow = a.begin({ cookie });
    expect(await slow.session.get('x')).toBe(1);
    await request(b, cookie, (s) => s.set('x', 2));
    slow.session.set('y', 5);
    await slow.end();
    expect((await request(a, cookie, (s) => s.all())).result).toEqual({ x: 2, y: 5 });
  });

  it('a merged key "" does not hide a later read of another key from the conflict check', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.set('x', 1));
    const slow = a.begin({ cookie });
    slow.session.merge({ '': 0 });
    expect(await slow.session.get('x')).toBe(1);
    await request(b, cookie, (s) => s.set('x', 2));
    slow.session.set('x', 3);
    await expect(slow.end()).rejects.toMatchObject({ reason: 'read-write', keys: ['x'] });
  });

  it('a pending write that is not the secret still creates it in the store at once', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.set('x', 1));
    const first = a.begin({ cookie });
    first.session.setPersistent(true);
    first.session.merge({ csrf: 'data' });
    const token = await first.session.csrfToken();
    // Before the first request ends, another one already sees the same secret.
    const { result } = await request(b, cookie, (s) => s.verifyCsrfToken(token));
    expect(result).toBe(true);
    await first.end();
  });
});
