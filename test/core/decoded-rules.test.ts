/**
 * The lazily copied decoded payload's rules (`src/core/decoded.ts`), one by one: a read finds own
 * keys of the record only (not `Object.prototype`'s names, not a forbidden key), a top-level
 * value is copied once and is the same object when the data is later used whole, the whole data
 * holds no dropped key, and the decode-time depth walk skips what is dropped and counts `[` as a
 * level as well as `{`. Neighbours: codec.test.ts (boundaries), hot-path.test.ts (the copy).
 */

import { describe, expect, it } from 'vitest';
import { decodePayload, readAt } from '../../src/core/codec.js';
import { recordMeta } from '../support/record-meta.js';
import { manager, request } from './helpers.js';

const meta = recordMeta();
const limits = { maxBytes: 1 << 16, maxDepth: 4 };

/** A record's text with data `d` (JSON text) and no flash. */
function record(d: string): string {
  return `{"v":1,"d":${d},"f":{},"m":${JSON.stringify(meta)}}`;
}

describe('a read of a decoded record', () => {
  it("finds the record's own keys only: Object.prototype's names read as absent", () => {
    const payload = decodePayload(record('{"n":1}'), limits)!;
    for (const name of ['toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) {
      expect(readAt(payload, [name]), name).toBeUndefined();
    }
    expect(readAt(payload, ['n'])).toBe(1);
    expect(Object.keys(payload.data)).toEqual(['n']);
  });

  it('drops forbidden top-level keys, read alone or whole', () => {
    const text = record('{"__proto__":{"x":1},"constructor":2,"prototype":[3],"ok":4}');
    const alone = decodePayload(text, limits)!;
    expect(['__proto__', 'constructor', 'prototype', 'ok'].map((k) => readAt(alone, [k]))).toEqual([
      undefined,
      undefined,
      undefined,
      4,
    ]);
    expect(Object.keys(alone.data)).toEqual(['ok']);
    const whole = decodePayload(text, limits)!;
    expect(Object.keys(whole.data)).toEqual(['ok']);
    expect(readAt(whole, ['constructor'])).toBeUndefined();
    expect(readAt(whole, ['toString'])).toBeUndefined();
  });

  it('copies a top-level value once: read twice, then whole, it is one object', () => {
    const payload = decodePayload(record('{"o":{"p":[1,2]},"q":{"r":3}}'), limits)!;
    const o = readAt(payload, ['o']);
    expect(readAt(payload, ['o'])).toBe(o);
    expect(readAt(payload, ['o', 'p'])).toBe((o as { p: unknown }).p);
    const data = payload.data;
    expect(data.o).toBe(o);
    expect(payload.data).toBe(data);
    expect(readAt(payload, ['q'])).toBe(data.q);
    expect(readAt(payload, ['o'])).toBe(o);
  });

  it('through a request: a stored session reads a prototype name as absent', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('n', 1));
    const { result } = await request(m, cookie, async (s) => [
      await s.get('toString'),
      await s.has('valueOf'),
      await s.get('n'),
    ]);
    expect(result).toEqual([undefined, false, 1]);
  });
});

describe('the depth walk at decode', () => {
  it('skips what sits under a forbidden key (it is dropped), in data at any level', () => {
    const deep = `${'{"k":'.repeat(8)}1${'}'.repeat(8)}`;
    const top = decodePayload(record(`{"__proto__":${deep},"ok":1}`), limits)!;
    expect(Object.keys(top.data)).toEqual(['ok']);
    const inner = decodePayload(record(`{"a":{"constructor":${deep},"b":2}}`), limits)!;
    expect(JSON.stringify(inner.data)).toBe('{"a":{"b":2}}');
    // Not under a forbidden key, the same nesting is refused.
    expect(decodePayload(record(`{"a":{"c":${deep}}}`), limits)).toBeUndefined();
  });

  it('counts arrays as levels however few braces the text has', () => {
    // Levels: the data object, then four arrays: five, one past maxDepth 4.
    expect(decodePayload(record('{"a":[[[[1]]]]}'), limits)).toBeUndefined();
    expect(JSON.stringify(decodePayload(record('{"a":[[[1]]]}'), limits)?.data)).toBe(
      '{"a":[[[1]]]}',
    );
    // Objects only, one past the bound.
    expect(decodePayload(record('{"a":{"b":{"c":{"d":{}}}}}'), limits)).toBeUndefined();
  });
});
