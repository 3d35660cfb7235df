/**
 * The JSON data rules of `src/core/data.ts` that codec.test.ts leaves at their edges: when data
 * already frozen and null-prototype is kept as it is and when it is checked and copied (a
 * non-finite number, a mutable or plain-prototype child, an unfrozen array inside, array levels past `maxDepth`), and
 * `jsonEqual`, the equality a commit's read-write check uses (a reloaded equal value is no
 * conflict): arrays by length and order, objects by keys in any order, never across kinds; and
 * `jsonQuote`/`jsonBytes`, `JSON.stringify` without the serializer, equal to it for every input.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DataObject, decodePayload, readAt, toSessionValue } from '../../src/core/codec.js';
import { jsonBytes, jsonEqual, jsonQuote, nullObject } from '../../src/core/data.js';
import { Draft } from '../../src/core/draft.js';
import { memoryStore } from '../../src/stores/memory.js';
import { manager, request } from './helpers.js';

/** A frozen null-prototype object with `members`. */
function frozen(members: Record<string, unknown>): DataObject {
  return Object.freeze(Object.assign(Object.create(null) as DataObject, members));
}

describe('session data kept as it is, or checked and copied', () => {
  it('refuses a non-finite number inside frozen null-prototype data', () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => toSessionValue(frozen({ n }), 8)).toThrow(
        'Session data cannot hold NaN or Infinity.',
      );
    }
    const ok = frozen({ n: 1.5, s: 'x', b: false, z: null });
    expect(toSessionValue(ok, 8)).toBe(ok);
  });

  it('copies a frozen child with a plain prototype into a null-prototype one', () => {
    const input = frozen({ child: Object.freeze({ a: 1 }) });
    const out = toSessionValue(input, 8) as DataObject;
    expect(out).not.toBe(input);
    expect(Object.getPrototypeOf(out.child)).toBeNull();
    expect(JSON.stringify(out)).toBe('{"child":{"a":1}}');
  });

  it('keeps frozen arrays of session data, and copies an array with a mutable or unfrozen item', () => {
    const kept = frozen({ list: Object.freeze([1, frozen({ a: 2 })]) });
    expect(toSessionValue(kept, 8)).toBe(kept);
    const unfrozenArray = frozen({ list: [1, 2] });
    const copy = toSessionValue(unfrozenArray, 8) as DataObject;
    expect(copy).not.toBe(unfrozenArray);
    expect(Object.isFrozen(copy.list)).toBe(true);
    const mutableItem = frozen({ list: Object.freeze([{ a: 1 }]) });
    const copied = toSessionValue(mutableItem, 8) as DataObject;
    expect(copied).not.toBe(mutableItem);
    expect(Object.getPrototypeOf((copied.list as unknown[])[0])).toBeNull();
  });

  it('counts every array level of frozen data against maxDepth: one past it is refused', () => {
    const fits = frozen({ list: Object.freeze([Object.freeze([1])]) });
    expect(toSessionValue(fits, 3)).toBe(fits);
    const deep = frozen({ list: Object.freeze([Object.freeze([Object.freeze([1])])]) });
    expect(() => toSessionValue(deep, 3)).toThrow('Session data is nested deeper than 3.');
  });
});

describe('null-prototype containers', () => {
  it('are made without a prototype before any key is added: an Object.prototype setter never runs', () => {
    const calls: unknown[] = [];
    Object.defineProperty(Object.prototype, 'hooked', {
      configurable: true,
      set(value: unknown) {
        calls.push(value);
      },
    });
    try {
      const made = nullObject();
      made.hooked = 1;
      expect(Object.getPrototypeOf(made)).toBeNull();
      expect(Object.getOwnPropertyDescriptor(made, 'hooked')?.value).toBe(1);
      // Copied in (toSessionValue), decoded (the copy of each top-level value as read, and of
      // the whole data), and written by a draft (a copied container, a new wrapping object).
      const copied = toSessionValue({ hooked: 2, inner: { hooked: 3 } }, 8) as DataObject;
      expect(JSON.stringify(copied)).toBe('{"hooked":2,"inner":{"hooked":3}}');
      const text =
        '{"v":1,"d":{"hooked":4,"inner":{"hooked":5}},"f":{},"m":{"createdAt":1,"lastSeenAt":1,"absoluteExpiresAt":2,"userId":null,"ip":null,"userAgent":null,"persistent":false}}';
      const lazy = decodePayload(text, { maxBytes: 4096, maxDepth: 8 })!;
      expect(readAt(lazy, ['inner', 'hooked'])).toBe(5);
      const whole = decodePayload(text, { maxBytes: 4096, maxDepth: 8 })!;
      expect(Object.getPrototypeOf(whole.data)).toBeNull();
      expect(JSON.stringify(whole.data)).toBe('{"hooked":4,"inner":{"hooked":5}}');
      const draft = new Draft(whole, 8, 4096);
      draft.apply({ kind: 'set', path: ['hooked'], value: 6 });
      draft.apply({ kind: 'set', path: ['added', 'hooked'], value: 7 });
      const { data } = draft.result();
      expect(Object.getPrototypeOf(data)).toBeNull();
      expect(Object.getPrototypeOf(data.added)).toBeNull();
      expect(Object.isFrozen(data) && Object.isFrozen(data.added)).toBe(true);
      expect(JSON.stringify(data)).toBe('{"hooked":6,"inner":{"hooked":5},"added":{"hooked":7}}');
      expect(calls).toEqual([]);
    } finally {
      delete (Object.prototype as { hooked?: unknown }).hooked;
    }
  });
});

describe('jsonEqual', () => {
  it('equal JSON data: identical, arrays item by item, objects by keys in any order', () => {
    expect(jsonEqual(1, 1)).toBe(true);
    expect(jsonEqual(undefined, undefined)).toBe(true);
    expect(jsonEqual([1, [2, { a: 3 }]], [1, [2, { a: 3 }]])).toBe(true);
    expect(jsonEqual({ a: 1, b: { c: [1] } }, { b: { c: [1] }, a: 1 })).toBe(true);
    expect(jsonEqual([], [])).toBe(true);
    expect(jsonEqual({}, {})).toBe(true);
  });

  it('different data: another scalar, length, order, key set or kind', () => {
    const pairs: [unknown, unknown][] = [
      [1, 2],
      [1, '1'],
      [null, {}],
      [{}, null],
      [undefined, null],
      [[1], [1, 2]],
      [[1, 2], [1]],
      [
        [1, 2],
        [2, 1],
      ],
      [
        [1, [2]],
        [1, [3]],
      ],
      [{ a: 1 }, { a: 1, b: 2 }],
      [{ a: 1, b: 2 }, { a: 1 }],
      [{ a: 1 }, { b: 1 }],
      [{ a: undefined }, { b: undefined }],
      [{ a: { b: 1 } }, { a: { b: 2 } }],
      [[], {}],
      [{}, []],
      [{ 0: 1 }, [1]],
      [[1], { 0: 1 }],
      // An object that looks like the array item by item, with a length.
      [[1], { 0: 1, length: 1 }],
      ['a', ['a']],
    ];
    for (const [a, b] of pairs) {
      expect(jsonEqual(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(false);
    }
  });

  it('through a request: a reloaded equal value is no conflict, a changed one is', async () => {
    const store = memoryStore();
    const [a, b] = [manager({ store }), manager({ store })];
    const { cookie } = await request(a, undefined, (s) => s.set('x', { list: [1, 2] }));
    const slow = a.begin({ cookie });
    await slow.session.get('x');
    // Another request writes the same value again: a new version, equal data.
    await request(b, cookie, (s) => s.set('x', { list: [1, 2] }));
    slow.session.set('x', { list: [1, 2, 3] });
    await slow.end();
    const late = a.begin({ cookie });
    await late.session.get('x');
    await request(b, cookie, (s) => s.set('x', { list: [1, 2, 3, 4] }));
    late.session.set('x', { list: [0] });
    await expect(late.end()).rejects.toMatchObject({ reason: 'read-write', keys: ['x'] });
    expect((await request(a, cookie, (s) => s.get('x'))).result).toEqual({ list: [1, 2, 3, 4] });
  });
});

describe('jsonQuote and jsonBytes: JSON.stringify without the serializer', () => {
  const edges = [
    '',
    'plain text 127.0.0.1',
    ' !#[]~', // the verbatim range's edges
    '"',
    '\\',
    '\u001f',
    '\u007f',
    '\u0080',
    'é',
    '\u2028',
    '\ud800', // a lone surrogate: escaped by JSON.stringify
    '\udfff',
    '\u{1F600}',
    'a\nb',
    '</script>',
  ];

  it('jsonQuote(s) is JSON.stringify(s) for every string', () => {
    for (const text of edges) expect(jsonQuote(text)).toBe(JSON.stringify(text));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        expect(jsonQuote(text)).toBe(JSON.stringify(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('jsonBytes(v) is the UTF-8 length of JSON.stringify(v) for every JSON value', () => {
    const numbers = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, -1.5e300, 2 ** 53];
    for (const value of [...edges, ...numbers, Number.NaN, Infinity, true, false, null, [], {}]) {
      expect(jsonBytes(value)).toBe(Buffer.byteLength(JSON.stringify(value)));
    }
    const value = fc.oneof(
      fc.jsonValue(),
      fc.double(),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    fc.assert(
      fc.property(value, (v) => {
        expect(jsonBytes(v)).toBe(Buffer.byteLength(JSON.stringify(v)));
      }),
      { numRuns: 2000 },
    );
  });
});
