/**
 * The AES-GCM codec's memo of tokens (`core/token-memo.ts`) on its own: found only by an exact
 * token, bounded in two generations, long tokens never kept, what it hands out frozen. Through
 * the codec and the manager (and counting decryptions): token-cache.test.ts.
 */

import { describe, expect, it } from 'vitest';
import type { Unsealed } from '../../src/core/sealed-text.js';
import { MEMO_MAX_TOKEN, TokenMemo } from '../../src/core/token-memo.js';
import { recordMeta } from '../support/record-meta.js';

const LIMITS = { maxBytes: 4096, maxDepth: 32 };

/** A token-shaped string with IV text `iv` and a body. */
function tokenOf(iv: string, body = 'AAAAAAAAAAAAAAAAAAAAAA'): string {
  return `0.${iv}.${body}`;
}

function ivOf(n: number): string {
  return `iv${String(n).padStart(14, '0')}`;
}

function opened(sid = 'x'.repeat(43)): Unsealed {
  return {
    claims: { sid, iat: 1, idle: 2, exp: 3, gen: 0 },
    payload: {
      data: Object.freeze({ a: 1 }) as never,
      flash: Object.freeze({}) as never,
      meta: recordMeta({ absoluteExpiresAt: 3, csrf: null, fingerprint: null, generation: 0 }),
    },
    keyIndex: 0,
  };
}

describe('TokenMemo', () => {
  it('finds a remembered token by its IV and the whole token, with its key index and text', () => {
    const memo = new TokenMemo(10);
    const token = tokenOf(ivOf(1));
    memo.remember(ivOf(1), token, 2, '["text"]');
    const entry = memo.find(ivOf(1), token);
    expect(entry).toMatchObject({ token, keyIndex: 2, text: '["text"]' });
    expect(entry!.opened).toBeUndefined();
    expect(entry!.limits).toBeUndefined();
  });

  it('a token under a remembered IV that differs anywhere else is not found', () => {
    const memo = new TokenMemo(10);
    const token = tokenOf(ivOf(1));
    memo.remember(ivOf(1), token, 0, 't');
    expect(memo.find(ivOf(1), tokenOf(ivOf(1), 'AAAAAAAAAAAAAAAAAAAAAB'))).toBeUndefined();
    expect(memo.find(ivOf(1), `1${token.slice(1)}`)).toBeUndefined(); // another key id
    expect(memo.find(ivOf(1), `${token}A`)).toBeUndefined(); // longer
    expect(memo.find(ivOf(1), token.slice(0, -1))).toBeUndefined(); // shorter
    expect(memo.find(ivOf(2), token)).toBeUndefined(); // looked up under another IV
    expect(memo.find(ivOf(1), token)).toBeDefined();
  });

  it('compares long tokens too (beyond the constant-time scratch of 256 units)', () => {
    const memo = new TokenMemo(10);
    const long = tokenOf(ivOf(1), 'B'.repeat(3000));
    memo.remember(ivOf(1), long, 0, 't');
    expect(memo.find(ivOf(1), long)).toBeDefined();
    expect(memo.find(ivOf(1), `${long.slice(0, -1)}C`)).toBeUndefined();
  });

  it(`keeps no token longer than one cookie (${MEMO_MAX_TOKEN} characters)`, () => {
    const memo = new TokenMemo(10);
    const atLimit = tokenOf(ivOf(1), 'B'.repeat(MEMO_MAX_TOKEN - tokenOf(ivOf(1), '').length));
    const over = tokenOf(ivOf(2), 'B'.repeat(MEMO_MAX_TOKEN + 1 - tokenOf(ivOf(2), '').length));
    expect([atLimit.length, over.length]).toEqual([MEMO_MAX_TOKEN, MEMO_MAX_TOKEN + 1]);
    memo.remember(ivOf(1), atLimit, 0, 't');
    memo.remember(ivOf(2), over, 0, 't');
    expect(memo.find(ivOf(1), atLimit)).toBeDefined();
    expect(memo.find(ivOf(2), over)).toBeUndefined();
    expect(memo.size).toBe(1);
  });

  it('holds at most `capacity` tokens: the older half is dropped whole when the younger fills', () => {
    const memo = new TokenMemo(6);
    for (let i = 1; i <= 6; i++) memo.remember(ivOf(i), tokenOf(ivOf(i)), 0, 't');
    expect(memo.size).toBe(6);
    // The seventh starts a new generation: 1–3 go, 4–6 become the older one.
    memo.remember(ivOf(7), tokenOf(ivOf(7)), 0, 't');
    expect(memo.size).toBe(4);
    expect(
      [1, 2, 3, 4, 5, 6, 7].map((i) => memo.find(ivOf(i), tokenOf(ivOf(i))) !== undefined),
    ).toEqual([false, false, false, true, true, true, true]);
    for (let i = 8; i <= 40; i++) {
      memo.remember(ivOf(i), tokenOf(ivOf(i)), 0, 't');
      expect(memo.size).toBeLessThanOrEqual(6);
    }
  });

  it('a token found in the older half moves to the younger and outlives the next change', () => {
    const memo = new TokenMemo(4);
    for (let i = 1; i <= 2; i++) memo.remember(ivOf(i), tokenOf(ivOf(i)), 0, 't');
    memo.remember(ivOf(3), tokenOf(ivOf(3)), 0, 't'); // 1, 2 are now the older half
    expect(memo.find(ivOf(1), tokenOf(ivOf(1)))).toBeDefined(); // 1 moves: younger = 3, 1
    expect(memo.size).toBe(3); // moved, not copied: the older half keeps only 2
    memo.remember(ivOf(4), tokenOf(ivOf(4)), 0, 't'); // younger full: older = 3, 1
    expect(memo.find(ivOf(1), tokenOf(ivOf(1)))).toBeDefined();
    expect(memo.find(ivOf(2), tokenOf(ivOf(2)))).toBeUndefined();
    expect(memo.size).toBe(3);
  });

  it('a token not found in the older half stays where it is (a wrong token moves nothing)', () => {
    const memo = new TokenMemo(4);
    for (let i = 1; i <= 3; i++) memo.remember(ivOf(i), tokenOf(ivOf(i)), 0, 't');
    expect(memo.find(ivOf(1), tokenOf(ivOf(1), 'B'.repeat(22)))).toBeUndefined();
    // Had it moved, younger would be 3, 1 and the next change would keep 1.
    memo.remember(ivOf(4), tokenOf(ivOf(4)), 0, 't'); // younger = 3, 4
    memo.remember(ivOf(5), tokenOf(ivOf(5)), 0, 't'); // older = 3, 4: 1 is gone
    expect(memo.find(ivOf(1), tokenOf(ivOf(1)))).toBeUndefined();
    expect(memo.find(ivOf(3), tokenOf(ivOf(3)))).toBeDefined();
  });

  it('what it keeps opened is frozen, with the limits it was read under', () => {
    const memo = new TokenMemo(4);
    const token = tokenOf(ivOf(1));
    const value = opened();
    memo.remember(ivOf(1), token, 0, 't', value, LIMITS);
    const entry = memo.find(ivOf(1), token)!;
    expect(entry.opened).toBe(value);
    expect(entry.limits).toBe(LIMITS);
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.claims)).toBe(true);
    expect(Object.isFrozen(value.payload)).toBe(true);
    expect(Object.isFrozen(value.payload.meta)).toBe(true);
  });

  it('an odd capacity is never exceeded', () => {
    const memo = new TokenMemo(5);
    for (let i = 1; i <= 30; i++) {
      memo.remember(ivOf(i), tokenOf(ivOf(i)), 0, 't');
      expect(memo.size).toBeLessThanOrEqual(5);
    }
    expect(memo.size).toBeGreaterThanOrEqual(3);
  });

  it('a capacity of 1 still keeps the last token', () => {
    const memo = new TokenMemo(1);
    memo.remember(ivOf(1), tokenOf(ivOf(1)), 0, 't');
    memo.remember(ivOf(2), tokenOf(ivOf(2)), 0, 't');
    expect(memo.find(ivOf(2), tokenOf(ivOf(2)))).toBeDefined();
  });

  describe('sealed(): one sealed token per session', () => {
    const A = 'a'.repeat(43);
    const B = 'b'.repeat(43);
    const found = (memo: TokenMemo, ...ns: number[]) =>
      ns.map((n) => memo.find(ivOf(n), tokenOf(ivOf(n))) !== undefined);

    it('keeps what it sealed, under key 0, with its text', () => {
      const memo = new TokenMemo(10);
      memo.sealed(ivOf(1), tokenOf(ivOf(1)), A, '["a"]');
      expect(memo.find(ivOf(1), tokenOf(ivOf(1)))).toMatchObject({ keyIndex: 0, text: '["a"]' });
    });

    it("a session's newer token replaces its previous one; other sessions' tokens stay", () => {
      const memo = new TokenMemo(10);
      memo.sealed(ivOf(1), tokenOf(ivOf(1)), A, 't');
      memo.sealed(ivOf(2), tokenOf(ivOf(2)), B, 't');
      memo.sealed(ivOf(3), tokenOf(ivOf(3)), A, 't');
      expect(found(memo, 1, 2, 3)).toEqual([false, true, true]);
      expect(memo.size).toBe(2);
      memo.sealed(ivOf(4), tokenOf(ivOf(4)), A, 't');
      expect(found(memo, 3, 4)).toEqual([false, true]);
    });

    it('a stream of writes to a few sessions keeps one token each, never a full generation', () => {
      const memo = new TokenMemo(10);
      for (let i = 1; i <= 100; i++) memo.sealed(ivOf(i), tokenOf(ivOf(i)), `${i % 3}`, 't');
      expect(memo.size).toBe(3);
      expect(found(memo, 98, 99, 100, 97)).toEqual([true, true, true, false]);
    });

    it('forgets which token was whose at a generation change: an older one ages out instead', () => {
      const memo = new TokenMemo(4);
      memo.sealed(ivOf(1), tokenOf(ivOf(1)), A, 't');
      memo.sealed(ivOf(2), tokenOf(ivOf(2)), B, 't');
      memo.sealed(ivOf(3), tokenOf(ivOf(3)), 'c', 't'); // younger full: 1, 2 are the older half
      memo.sealed(ivOf(4), tokenOf(ivOf(4)), A, 't'); // 1 is not A's known token any more
      expect(memo.size).toBe(4);
      memo.sealed(ivOf(5), tokenOf(ivOf(5)), A, 't'); // but 4 is: replaced
      expect(memo.size).toBe(4);
      expect(found(memo, 4, 5, 1)).toEqual([false, true, true]);
    });

    it("a token used from the older half is not replaced by its session's next seal", () => {
      const memo = new TokenMemo(4);
      memo.sealed(ivOf(1), tokenOf(ivOf(1)), A, 't');
      memo.sealed(ivOf(2), tokenOf(ivOf(2)), B, 't');
      memo.sealed(ivOf(3), tokenOf(ivOf(3)), 'c', 't'); // 1, 2 are the older half
      expect(found(memo, 1)).toEqual([true]); // 1 moves back: younger = 3, 1
      memo.sealed(ivOf(4), tokenOf(ivOf(4)), A, 't'); // a new generation: older = 3, 1
      expect(found(memo, 1, 4)).toEqual([true, true]);
    });

    it('a token a request opened is not replaced by a later seal (only sealed tokens are)', () => {
      const memo = new TokenMemo(10);
      memo.remember(ivOf(1), tokenOf(ivOf(1)), 0, 't', opened(A), LIMITS);
      memo.sealed(ivOf(2), tokenOf(ivOf(2)), A, 't');
      expect(found(memo, 1, 2)).toEqual([true, true]);
    });

    it('never exceeds its capacity, with many sessions', () => {
      const memo = new TokenMemo(6);
      for (let i = 1; i <= 60; i++) {
        memo.sealed(ivOf(i), tokenOf(ivOf(i)), `${i % 7}`, 't');
        expect(memo.size).toBeLessThanOrEqual(6);
      }
    });

    it('keeps a token of one full cookie, not one character more', () => {
      const memo = new TokenMemo(10);
      const atLimit = tokenOf(ivOf(1), 'B'.repeat(MEMO_MAX_TOKEN - tokenOf(ivOf(1), '').length));
      const over = tokenOf(ivOf(2), 'B'.repeat(MEMO_MAX_TOKEN + 1 - tokenOf(ivOf(2), '').length));
      memo.sealed(ivOf(1), atLimit, A, 't');
      memo.sealed(ivOf(2), over, B, 't');
      expect(memo.find(ivOf(1), atLimit)).toBeDefined();
      expect(memo.find(ivOf(2), over)).toBeUndefined();
      expect(memo.size).toBe(1);
    });
  });
});
