/**
 * The compact plaintext of a sealed token (`src/core/sealed-text.ts`): `compactText` writes the
 * array by hand around the values that need a serializer, so it is checked here against
 * `JSON.stringify` of the same array — byte for byte, for strings that need escaping, non-empty
 * flash, signed-in and persistent sessions — and read back by `readCompact`.
 */

import { describe, expect, it } from 'vitest';
import type { SessionPayload } from '../../src/core/codec.js';
import { compactText, readCompact, type SealedClaims } from '../../src/core/sealed-text.js';
import { sealedSession } from '../support/sealed-session.js';

const LIMITS = { maxBytes: 128 * 1024, maxDepth: 32 };

function frozen<T extends object>(value: T): T {
  return Object.freeze(Object.assign(Object.create(null) as T, value));
}

/** The array `compactText` stands for, serialized by `JSON.stringify`. */
function reference(claims: SealedClaims, payload: SessionPayload): string {
  const { meta } = payload;
  return JSON.stringify([
    claims.sid,
    claims.iat,
    claims.idle - claims.iat,
    claims.exp - claims.iat,
    claims.gen,
    claims.iat - meta.createdAt,
    meta.userId,
    meta.ip,
    meta.userAgent,
    meta.persistent,
    meta.csrf,
    meta.fingerprint,
    meta.generation,
    payload.data,
    payload.flash,
  ]);
}

/** A fixture session whose data and flash are frozen null-prototype copies, as a session keeps them. */
function session(overrides: Partial<SessionPayload['meta']>, data: object, flash: object) {
  return sealedSession(overrides, frozen(data), frozen(flash));
}

const CASES = {
  'anonymous, empty flash': session({}, { name: 'bench', counter: 0 }, {}),
  'signed in, persistent, every string set': session(
    {
      userId: 'user "1" \\ ü',
      userAgent: 'Mozilla/5.0 (X11; "quoted") \u2028 \u0007',
      persistent: true,
      csrf: 'c'.repeat(43),
      fingerprint: 'f'.repeat(43),
      generation: 3,
      ip: null,
    },
    { nested: frozen({ list: Object.freeze([1, 'two', null, true]) }), '': 'empty key' },
    { notice: Object.freeze(['saved', 'and "quoted"']) },
  ),
  'empty data, flash set': session({}, {}, { a: Object.freeze([1]) }),
};

describe('compactText', () => {
  for (const [name, { claims, payload }] of Object.entries(CASES)) {
    it(`writes what JSON.stringify writes of the array: ${name}`, () => {
      expect(compactText(claims, payload, LIMITS)).toBe(reference(claims, payload));
    });

    it(`reads back through readCompact: ${name}`, () => {
      const opened = readCompact(compactText(claims, payload, LIMITS), LIMITS, 0);
      expect(opened?.claims).toEqual(claims);
      expect(opened?.payload.meta).toEqual(payload.meta);
      expect({ ...opened?.payload.data }).toEqual({ ...payload.data });
      expect(JSON.stringify(opened?.payload.flash)).toBe(JSON.stringify(payload.flash));
    });
  }
});
