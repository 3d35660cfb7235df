/**
 * A session that grows inside one request (docs/security.md §16): every operation is linear —
 * N writes copy nothing twice and replay nothing, N reads between them replay no op log — and
 * the size bound holds as data grows: the write that crosses `maxPayloadBytes` fails with
 * `TooLargeError`, not the commit after 100 000 of them. No timing: the work is observed through
 * how often update functions run, which containers get copied, and the exact size kept.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DataObject,
  decodePayload,
  emptyObject,
  encodePayload,
  type SessionPayload,
} from '../../src/core/codec.js';
import { Draft } from '../../src/core/draft.js';
import { type SessionOp, WrittenPaths } from '../../src/core/ops.js';
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

function payload(data: DataObject = emptyObject(), flash: DataObject = emptyObject()) {
  return { data, flash, meta: META } satisfies SessionPayload;
}

describe('the size bound as data grows', () => {
  it('flash.add past maxPayloadBytes throws TooLargeError at the add that crosses it, not at commit', async () => {
    const store = memoryStore();
    const m = manager({ store, maxPayloadBytes: 4096 });
    const { cookie } = await request(m, undefined, (s) => s.set('n', 1));
    const scope = m.begin({ cookie });
    await scope.session.get('n'); // loaded: measured exactly from here on
    const message = 'm'.repeat(99); // 101 bytes as JSON, 102 with its comma
    let added = 0;
    let error: { code?: string; size?: number; limit?: number } | undefined;
    for (; added < 100_000; added++) {
      try {
        scope.session.flash.add('info', message as never);
      } catch (e) {
        error = e as typeof error;
        break;
      }
    }
    expect(error).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE', limit: 4096 });
    expect(added).toBeGreaterThan(30);
    const handle = (await scope.session.handle())!;
    await scope.end(); // the adds before the refused one commit
    const stored = Buffer.byteLength((await store.get(handle))!.data);
    expect(stored).toBeLessThanOrEqual(4096);
    // The refused add was the first one that did not fit: exactly one message more.
    expect(error!.size).toBe(stored + 102);
    const next = await request(m, cookie, (s) => s.flash.messages('info'));
    expect(next.result).toHaveLength(added);
  });

  it('a loop of flash.add() before anything is loaded fails fast as well', async () => {
    const m = manager({ maxPayloadBytes: 4096 });
    const scope = m.begin({});
    let added = 0;
    let error: unknown;
    for (; added < 100_000; added++) {
      try {
        scope.session.flash.add('info', 'm'.repeat(99) as never);
      } catch (e) {
        error = e;
        break;
      }
    }
    expect(error).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE', limit: 4096 });
    expect(added).toBeLessThan(4096 / 101);
  });

  it('set() and merge() past the bound throw at the write; the session keeps what fit', async () => {
    const m = manager({ maxPayloadBytes: 2048 });
    const { cookie } = await request(m, undefined, async (s) => {
      await s.all();
      let written = 0;
      let error: unknown;
      for (; written < 100_000; written++) {
        try {
          s.set(`k${written}`, 'v'.repeat(50));
        } catch (e) {
          error = e;
          break;
        }
      }
      expect(error).toMatchObject({ code: 'ERR_SESSION_TOO_LARGE' });
      expect(written).toBeGreaterThan(20);
      const patch = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, i]));
      expect(() => s.merge(patch)).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_TOO_LARGE' }),
      );
      expect(await s.has('p0')).toBe(false); // a refused merge writes no key at all
      s.delete('k0'); // shrinking is always allowed
      s.set('k0', 'small');
    });
    const { result } = await request(m, cookie, (s) => s.all());
    expect(result).toMatchObject({ k0: 'small', k1: 'v'.repeat(50) });
  });
});

describe('linear work', () => {
  it('N reads between N updates replay nothing: each update function runs once, not again at commit', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('n', 0));
    let calls = 0;
    const N = 2000;
    await request(m, cookie, async (s) => {
      for (let i = 0; i < N; i++) {
        await s.update('n', (n) => {
          calls++;
          return (n as number) + 1;
        });
        expect(await s.get('n')).toBe(i + 1);
      }
    });
    expect(calls).toBe(N);
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(N);
  });

  it('appending to a flash list or adding keys copies each container once, not per write', () => {
    const draft = new Draft(payload(), 32);
    draft.apply({ kind: 'flash', key: 'k', value: 0, replace: false });
    draft.apply({ kind: 'set', path: ['a', 'b', 'x'], value: 0 });
    const [list, root, inner] = [draft.flash.k, draft.data, (draft.data.a as DataObject).b];
    for (let i = 1; i < 10_000; i++) {
      draft.apply({ kind: 'flash', key: 'k', value: i, replace: false });
      draft.apply({ kind: 'set', path: [`k${i}`], value: i });
      draft.apply({ kind: 'set', path: ['a', 'b', `k${i}`], value: i });
    }
    draft.apply({ kind: 'merge', patch: { m1: 1, m2: 2 } });
    expect(draft.flash.k).toBe(list);
    expect(draft.data).toBe(root);
    expect((draft.data.a as DataObject).b).toBe(inner);
    const out = draft.result();
    expect(out.flash.k).toHaveLength(10_000);
    expect(Object.keys(out.data)).toHaveLength(10_000 + 2);
    expect(Object.isFrozen(out.data) && Object.isFrozen(out.flash.k)).toBe(true);
  });

  it('a value handed out is frozen and stays as it was; later writes copy it', () => {
    const draft = new Draft(payload(), 32);
    draft.apply({ kind: 'set', path: ['a', 'b'], value: 1 });
    const a = draft.read(['a']) as DataObject;
    expect(Object.isFrozen(a)).toBe(true);
    draft.apply({ kind: 'set', path: ['a', 'c'], value: 2 });
    expect({ ...a }).toEqual({ b: 1 });
    expect({ ...(draft.read(['a']) as DataObject) }).toEqual({ b: 1, c: 2 });
    const root = draft.read([]) as DataObject;
    draft.apply({ kind: 'clear' });
    expect(Object.keys(root)).toEqual(['a']);
  });
});

describe('what the draft keeps', () => {
  const key = fc.constantFrom('a', 'b', 'c', 'é', '"q"', 'x\u0000');
  const path = fc.array(key, { minLength: 1, maxLength: 3 });
  const value = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 8 }),
    fc.integer(),
    fc.constant(null),
    fc.dictionary(key, fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { maxKeys: 3 }),
  );
  const op: fc.Arbitrary<SessionOp> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), path, value }),
    fc.record({
      kind: fc.constant('merge' as const),
      patch: fc.dictionary(key, fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), {
        maxKeys: 3,
      }),
    }),
    fc.constant({ kind: 'clear' as const }),
    fc.record({
      kind: fc.constant('flash' as const),
      key,
      value: fc.string({ maxLength: 6 }),
      replace: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('flash-take' as const), key }),
    fc.record({
      kind: fc.constant('flash-restore' as const),
      key,
      values: fc.array(fc.integer(), { maxLength: 3 }),
    }),
    fc.record({
      kind: fc.constant('meta' as const),
      patch: fc.record({ userId: fc.option(fc.string({ maxLength: 8 })) }),
    }),
    fc.record({
      kind: fc.constant('update' as const),
      path,
      fn: fc.constant((current: unknown) => (typeof current === 'number' ? current + 1 : 0)),
    }),
  );

  it('keeps the exact encoded size through any sequence of ops', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const start = decodePayload(
          encodePayload(payload({ a: { b: 1 } } as never, { f: ['x'] } as never), {
            maxBytes: 1e6,
            maxDepth: 32,
          }),
          { maxBytes: 1e6, maxDepth: 32 },
        )!;
        const draft = new Draft(start, 32, 1e9);
        for (const o of ops) {
          draft.apply(o.kind === 'set' || o.kind === 'merge' ? structuredClone(o) : o);
          const text = encodePayload(draft.result(), { maxBytes: 1e9, maxDepth: 32 });
          expect(draft.encodedBytes()).toBe(Buffer.byteLength(text));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('indexes written paths with the same overlap rule as comparing them one by one', () => {
    const overlap = (a: string, b: string) =>
      a === '' || b === '' || a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
    const dotted = fc.array(fc.constantFrom('a', 'b', 'ab'), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), dotted, (ops, read) => {
        const index = WrittenPaths.of(ops);
        const written = ops.flatMap((o) =>
          o.kind === 'set'
            ? [o.path.join('.')]
            : o.kind === 'clear'
              ? ['']
              : o.kind === 'merge'
                ? Object.keys(o.patch)
                : [],
        );
        for (const p of [read.join('.'), '']) {
          expect(index.overlaps(p)).toBe(written.some((w) => overlap(w, p)));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('dot-path depth', () => {
  it('refuses at write what the stored record could not decode: the path counts toward maxDepth', async () => {
    const m = manager({ maxDepth: 4 });
    let nested: unknown = 1;
    for (let i = 0; i < 4; i++) nested = { n: nested };
    const { cookie } = await request(m, undefined, (s) => {
      for (const write of [
        () => s.set('a', nested),
        () => s.set('a.b.c.d.e', 1),
        () => s.set('a.b', { c: { d: { e: 1 } } }),
        () => s.flash.add('k', nested as never),
      ]) {
        expect(write).toThrow(expect.objectContaining({ code: 'ERR_SESSION_DATA' }));
      }
      s.set('deep.b.c.d', 1);
      s.set('obj', (nested as { n: unknown }).n);
      s.flash.add('k', { a: { b: 1 } } as never);
    });
    const { result } = await request(m, cookie, async (s) => [
      await s.get('deep.b.c.d'),
      await s.get('obj.n.n.n'),
      await s.flash.messages('k'),
    ]);
    expect(result).toEqual([1, 1, [{ a: { b: 1 } }]]);
    expect(m.events.filter((e) => e.type === 'corrupt')).toEqual([]);
  });
});
