/**
 * The core's hot path does each piece of work once (issue 12, item 2): an `update()` function runs
 * once per version of the data it is applied to, a read records what it saw without serializing
 * it, and a decoded record copies only the data that is read — while the semantics those
 * shortcuts must keep (replay on a lost race, read-write conflicts, frozen null-prototype data
 * without forbidden keys) stay observable.
 */

import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DataObject, decodePayload, readAt } from '../../src/core/codec.js';
import { memoryStore } from '../../src/stores/memory.js';
import { recordMeta } from '../support/record-meta.js';
import { manager, request } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('update() runs its function once', () => {
  it('once per request when nothing races: loaded before, or loaded by the update itself', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('n', 0));
    const calls: unknown[] = [];
    const increment = (n: unknown): number => {
      calls.push(n);
      return Number(n) + 1;
    };
    // Not loaded yet: the update loads the session.
    const first = await request(m, cookie, (s) => s.update('n', increment));
    expect(first.result).toBe(1);
    expect(calls).toEqual([0]);
    // Loaded by an earlier read.
    const second = await request(m, cookie, async (s) => {
      await s.get('other');
      return s.update('n', increment);
    });
    expect(second.result).toBe(2);
    expect(calls).toEqual([0, 1]);
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(2);
  });

  it('once more, on the fresh value, after a lost compare-and-set', async () => {
    const store = memoryStore({ sweepInterval: 0 });
    const [a, b] = [manager({ store }), manager({ store })];
    const { cookie } = await request(a, undefined, (s) => s.set('n', 0));
    const seen: unknown[] = [];
    const slow = a.begin({ cookie });
    const addTen = (n: unknown): number => {
      seen.push(n);
      return Number(n) + 10;
    };
    expect(await slow.session.update('n', addTen)).toBe(10);
    await request(b, cookie, (s) => s.update('n', (n) => Number(n) + 1));
    await slow.end();
    expect(seen).toEqual([0, 1]);
    expect((await request(a, cookie, (s) => s.get('n'))).result).toBe(11);
    expect(a.events).toContainEqual(expect.objectContaining({ type: 'commit', attempts: 2 }));
  });

  it('an update recorded before the load, followed by writes, keeps their order', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('n', 1));
    const calls: unknown[] = [];
    const { result } = await request(m, cookie, async (s) => {
      const pending = s.update('n', (n) => {
        calls.push(n);
        return Number(n) * 10;
      });
      s.set('n', 5); // recorded after the update: it wins
      return pending;
    });
    expect(result).toBe(10);
    expect(calls).toEqual([1]);
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(5);
  });
});

describe('reads record what they saw without serializing it', () => {
  it('get() calls no JSON.stringify', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('profile', { name: 'a' }));
    await request(m, cookie, async (s) => {
      const stringify = vi.spyOn(JSON, 'stringify');
      expect(await s.get('profile.name')).toBe('a');
      expect(await s.get('profile')).toEqual({ name: 'a' });
      expect(await s.has('missing')).toBe(false);
      expect(stringify).not.toHaveBeenCalled();
    });
  });

  it('a value read, changed elsewhere to an equal one, and written blindly is no conflict', async () => {
    const store = memoryStore({ sweepInterval: 0 });
    const [a, b] = [manager({ store }), manager({ store })];
    const { cookie } = await request(a, undefined, (s) => s.set('profile', { x: 1, y: [2] }));
    const slow = a.begin({ cookie });
    expect(await slow.session.get('profile')).toEqual({ x: 1, y: [2] });
    // Another request writes the same data (and something else): the record's version moves.
    await request(b, cookie, (s) => {
      s.set('profile', { y: [2], x: 1 });
      s.set('other', true);
    });
    slow.session.set('profile', { x: 3, y: [2] });
    await slow.end();
    const { result } = await request(a, cookie, (s) => s.all());
    expect(result).toEqual({ profile: { x: 3, y: [2] }, other: true });
  });

  it('a value read, changed elsewhere, and written blindly is a read-write conflict', async () => {
    const store = memoryStore({ sweepInterval: 0 });
    const [a, b] = [manager({ store }), manager({ store })];
    const { cookie } = await request(a, undefined, (s) => s.set('profile', { x: 1, y: [2] }));
    const slow = a.begin({ cookie });
    await slow.session.get('profile.y');
    await request(b, cookie, (s) => s.set('profile.y', [2, 3]));
    slow.session.set('profile', { x: 3 });
    await expect(slow.end()).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
      reason: 'read-write',
      keys: ['profile.y'],
    });
  });
});

describe('a decoded record copies only what is read', () => {
  const limits = { maxBytes: 1 << 16, maxDepth: 8 };
  const meta = recordMeta();
  const text =
    '{"v":1,"d":{"a":{"b":[1,{"c":2}],"__proto__":{"x":1}},"n":5,"constructor":{"y":1}},' +
    `"f":{},"m":${JSON.stringify(meta)}}`;
  const isSessionData = (value: unknown): boolean =>
    Object.isFrozen(value) && Object.getPrototypeOf(value) === null;

  it('a key read alone is what decoding it all gives: frozen, null-prototype, no forbidden key', () => {
    const alone = decodePayload(text, limits)!;
    const a = readAt(alone, ['a']) as DataObject;
    expect(isSessionData(a)).toBe(true);
    expect(Object.keys(a)).toEqual(['b']);
    expect(Object.isFrozen(a.b)).toBe(true);
    expect(isSessionData((a.b as unknown[])[1])).toBe(true);
    expect(readAt(alone, ['a', 'b', '1', 'c'])).toBe(2);
    expect(readAt(alone, ['constructor'])).toBeUndefined();
    expect(readAt(alone, ['missing', 'x'])).toBeUndefined();
    // Read again, and then whole: the same objects.
    expect(readAt(alone, ['a'])).toBe(a);
    expect(alone.data.a).toBe(a);
    expect(isSessionData(alone.data)).toBe(true);
    expect(JSON.parse(JSON.stringify(alone.data))).toEqual({ a: { b: [1, { c: 2 }] }, n: 5 });
    const whole = decodePayload(text, limits)!;
    expect(JSON.stringify(whole.data)).toBe(JSON.stringify(alone.data));
    expect(readAt(whole, ['a'])).toBe(whole.data.a);
  });

  it('a spread of a decoded payload carries its data', () => {
    const payload = decodePayload(text, limits)!;
    const copy = { ...payload, meta: { ...payload.meta, generation: 3 } };
    expect(copy.data).toBe(payload.data);
    expect(copy.data.n).toBe(5);
  });

  it('depth is still checked at decode, brackets inside strings or not', () => {
    const deep = (levels: number): string => `${'{"k":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const record = (d: string, padding = ''): string =>
      `{"v":1,"d":{"s":"${padding}","x":${d}},"f":{},"m":${JSON.stringify(meta)}}`;
    // The data object is level 1: x may hold 7 more levels at maxDepth 8.
    expect(decodePayload(record(deep(7)), limits)).toBeDefined();
    expect(decodePayload(record(deep(8)), limits)).toBeUndefined();
    // Brackets in a string make the text look deeper: the data is then walked, and still fits.
    expect(readAt(decodePayload(record(deep(7), '{[{[{['), limits)!, ['s'])).toBe('{[{[{[');
    expect(decodePayload(record(deep(8), '{[{[{['), limits)).toBeUndefined();
  });
});
