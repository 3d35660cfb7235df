/**
 * The record text `encodePayload` writes by hand (`src/core/codec.ts`) is, character for
 * character, `JSON.stringify` of the envelope `{ v, d, f, m }` with the metadata in its field
 * order — for any data, flash and metadata values, strings needing escapes included — and it
 * decodes back to the same payload. Neighbours: codec.test.ts (the rules at their bounds).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  PAYLOAD_FORMAT_VERSION,
  type SessionMeta,
  type SessionPayload,
  toSessionValue,
} from '../../src/core/codec.js';
import { emptyObject } from '../../src/core/data.js';

const LIMITS = { maxBytes: 1 << 20, maxDepth: 32 };

const text = fc.string({ unit: 'binary', maxLength: 24 });
const time = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constant(0));
const meta: fc.Arbitrary<SessionMeta> = fc.record({
  createdAt: time,
  lastSeenAt: time,
  absoluteExpiresAt: time,
  userId: fc.option(text, { nil: null }),
  ip: fc.option(text, { nil: null }),
  userAgent: fc.option(text, { nil: null }),
  persistent: fc.boolean(),
  csrf: fc.option(text, { nil: null }),
  fingerprint: fc.option(text, { nil: null }),
  generation: fc.nat(),
});
/** Session data made the way the core makes it; `undefined` for values it refuses. */
function sessionValue(value: unknown): Record<string, unknown> | undefined {
  try {
    return toSessionValue(value, 32) as Record<string, unknown>;
  } catch {
    return undefined; // a forbidden key: never stored
  }
}

const data = fc
  .dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
  .map(sessionValue)
  .filter((d) => d !== undefined);
const flash = fc.oneof(
  fc.constant(emptyObject()),
  fc
    .dictionary(text, fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), { minKeys: 1 })
    .map(sessionValue)
    .filter((f) => f !== undefined),
);

describe('encodePayload: the envelope written by hand', () => {
  it('is JSON.stringify of { v, d, f, m } for any payload', () => {
    fc.assert(
      fc.property(data, flash, meta, (d, f, m) => {
        const payload = { data: d, flash: f, meta: m } as SessionPayload;
        const expected = JSON.stringify({ v: PAYLOAD_FORMAT_VERSION, d, f, m });
        expect(encodePayload(payload, LIMITS)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes back to the data and flash a JSON round trip gives, and the same metadata', () => {
    fc.assert(
      fc.property(data, flash, meta, (d, f, m) => {
        const decoded = decodePayload(
          encodePayload({ data: d, flash: f, meta: m } as SessionPayload, LIMITS),
          LIMITS,
        )!;
        // JSON has no -0: a -0 in the data comes back as 0, as from any JSON text.
        expect({ ...decoded.data }).toEqual(JSON.parse(JSON.stringify(d)));
        expect({ ...decoded.flash }).toEqual(JSON.parse(JSON.stringify(f)));
        expect(decoded.meta).toEqual(m);
      }),
      { numRuns: 300 },
    );
  });

  it('escapes what JSON escapes in every metadata string', () => {
    const odd = 'a"b\\c\u0000\u001f\u007f\u2028\ud800é';
    const m = {
      createdAt: 1,
      lastSeenAt: 2,
      absoluteExpiresAt: 3,
      userId: odd,
      ip: odd,
      userAgent: odd,
      persistent: true,
      csrf: odd,
      fingerprint: odd,
      generation: 4,
    };
    const payload = { data: emptyObject(), flash: emptyObject(), meta: m } as SessionPayload;
    expect(encodePayload(payload, LIMITS)).toBe(
      JSON.stringify({ v: PAYLOAD_FORMAT_VERSION, d: {}, f: {}, m }),
    );
  });
});
