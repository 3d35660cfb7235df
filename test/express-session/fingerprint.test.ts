/**
 * The facade's change detector (`_fingerprint.ts`) decides "modified" exactly as express-session
 * does — by the session's JSON without its top-level `cookie` — without building that JSON for
 * sessions of plain values. Each case pairs a session before and after a handler and expects the
 * fingerprints to agree with a comparison of those JSON texts, including where `===` and JSON
 * disagree (`NaN` and `null`, `undefined` members, key order, nested mutation, `toJSON`).
 */

import { describe, expect, it } from 'vitest';
import { fingerprint, same } from '../../src/express-session/_fingerprint.js';

/** express-session's view: the JSON of the session without `cookie`. */
function json(session: Record<string, unknown>): string {
  const copy: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(session)) if (key !== 'cookie') copy[key] = session[key];
  return JSON.stringify(copy);
}

const cases: [string, Record<string, unknown>, (s: Record<string, unknown>) => void][] = [
  ['nothing', { a: 1, b: 'x' }, () => {}],
  ['the same value assigned', { a: 1, b: 'x' }, (s) => (s.a = 1)],
  ['a number changed', { n: 0 }, (s) => (s.n = 1)],
  ['a string changed', { a: 'x' }, (s) => (s.a = 'y')],
  ['a key added', { a: 1 }, (s) => (s.b = true)],
  ['a key deleted', { a: 1, b: 2 }, (s) => delete s.b],
  [
    'a key deleted and added again',
    { a: 1, b: 2 },
    (s) => {
      delete s.a;
      s.a = 1;
    },
  ],
  ['an undefined member added', { a: 1 }, (s) => (s.b = undefined)],
  ['a function member added', { a: 1 }, (s) => (s.f = () => 1)],
  ['null replaced by NaN', { a: null }, (s) => (s.a = Number.NaN)],
  ['null replaced by Infinity', { a: null }, (s) => (s.a = Number.POSITIVE_INFINITY)],
  ['0 replaced by -0', { a: 0 }, (s) => (s.a = -0)],
  ['1 replaced by "1"', { a: 1 }, (s) => (s.a = '1')],
  ['a nested push', { cart: { items: [1] } }, (s) => (s.cart as { items: number[] }).items.push(2)],
  ['a nested value unchanged', { cart: { items: [1] } }, (s) => (s.cart = { items: [1] })],
  ['an object replaced by null', { o: { a: 1 } }, (s) => (s.o = null)],
  ['a member named __proto__', JSON.parse('{"__proto__":{"a":1}}'), () => {}],
  ['a Date assigned', { d: '2026-01-01T00:00:00.000Z' }, (s) => (s.d = new Date('2026-01-01'))],
  ['the cookie changed only', { a: 1, cookie: { maxAge: 1 } }, (s) => (s.cookie = { maxAge: 2 })],
  ['a toJSON that reads its key', { k: 'k' }, (s) => (s.k = { toJSON: (key: string) => key })],
];

describe('the facade’s change fingerprint', () => {
  for (const [name, initial, change] of cases) {
    it(`agrees with express-session's JSON comparison: ${name}`, () => {
      const session = structuredClone(initial);
      const before = fingerprint(session);
      const beforeJson = json(session);
      change(session);
      expect(same(before, fingerprint(session))).toBe(beforeJson === json(session));
    });
  }

  it('calls a session unmodified or modified as pinned for each case above', () => {
    const verdicts = cases.map(([name, initial, change]) => {
      const session = structuredClone(initial);
      const before = fingerprint(session);
      change(session);
      return `${name}: ${same(before, fingerprint(session)) ? 'same' : 'modified'}`;
    });
    expect(verdicts).toEqual([
      'nothing: same',
      'the same value assigned: same',
      'a number changed: modified',
      'a string changed: modified',
      'a key added: modified',
      'a key deleted: modified',
      'a key deleted and added again: modified',
      'an undefined member added: same',
      'a function member added: same',
      'null replaced by NaN: same',
      'null replaced by Infinity: same',
      '0 replaced by -0: same',
      '1 replaced by "1": modified',
      'a nested push: modified',
      'a nested value unchanged: same',
      'an object replaced by null: modified',
      'a member named __proto__: same',
      'a Date assigned: same',
      'the cookie changed only: same',
      'a toJSON that reads its key: same',
    ]);
  });

  it('throws where JSON.stringify of the session would (a BigInt)', () => {
    expect(() => fingerprint({ a: 1n })).toThrow(TypeError);
  });
});
