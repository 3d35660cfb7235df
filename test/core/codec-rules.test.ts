/**
 * The codec's shape and depth rules on the sealed-token paths (`src/core/codec.ts`), through their
 * real callers in `sealed-text.ts`: the JWT's `sk` claim is read by `claimsFromJson`, which hands
 * the parsed object to `payloadFromJson` without a `shallow` argument — the depth walk must run
 * (there is no text to count brackets in); the AES-GCM token's array is read by `readCompact`,
 * whose data entry goes through `contentFromJson` — not an object, or nested deeper than
 * `maxDepth`, and the token is no session. Each rule is pinned at its boundary: data exactly
 * `maxDepth` deep opens. Neighbours: codec.test.ts (the record format), sealed-text.test.ts (the
 * compact text written and read back).
 */

import { describe, expect, it } from 'vitest';
import type { SessionPayload } from '../../src/core/codec.js';
import {
  claimsFromJson,
  compactText,
  readCompact,
  sealedText,
} from '../../src/core/sealed-text.js';
import { sealedSession } from '../support/sealed-session.js';

const LIMITS = { maxBytes: 1 << 16, maxDepth: 3 };
const { claims: CLAIMS } = sealedSession({}, {});

/** `levels` objects nested under key `a`, the innermost holding `1`: `{"a":{"a":1}}` for 2. */
function nest(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value as Record<string, unknown>;
}

/** A session with `data` and no flash, its absolute deadline the claims' `exp`. */
function payload(data: unknown): SessionPayload {
  return sealedSession({}, data as object).payload;
}

/** The JWT's `sk` claim for a session with `data`, as `jwtVerify` hands it over (parsed). */
function skClaim(data: unknown): unknown {
  return JSON.parse(sealedText(CLAIMS, payload(data), LIMITS));
}

/** An AES-GCM token's plaintext for a session whose data entry (index 13) is `data`. */
function compact(data: unknown): string {
  const entries = JSON.parse(compactText(CLAIMS, payload({}), LIMITS)) as unknown[];
  entries[13] = data;
  return JSON.stringify(entries);
}

describe('a JWT session (claimsFromJson → payloadFromJson, no shallow argument)', () => {
  it('whose data nests one level deeper than maxDepth is no session', () => {
    expect(claimsFromJson(skClaim(nest(4)), LIMITS)).toBeUndefined();
    expect(claimsFromJson(skClaim({ ok: 1, deep: { b: [[2]] } }), LIMITS)).toBeUndefined();
  });

  it('whose data nests exactly maxDepth deep opens, with that data', () => {
    const opened = claimsFromJson(skClaim(nest(3)), LIMITS);
    expect(opened?.claims).toEqual(CLAIMS);
    expect(JSON.stringify(opened?.payload.data)).toBe('{"a":{"a":{"a":1}}}');
    const mixed = claimsFromJson(skClaim({ ok: 1, deep: { b: [2] } }), LIMITS);
    expect(JSON.stringify(mixed?.payload.data)).toBe('{"ok":1,"deep":{"b":[2]}}');
  });
});

describe('an AES-GCM token (readCompact → contentFromJson)', () => {
  it('whose data entry is not an object is no session', () => {
    for (const data of [5, 'x', null, true, [1], []]) {
      expect(readCompact(compact(data), LIMITS, 0), JSON.stringify(data)).toBeUndefined();
    }
  });

  it('whose data nests one level deeper than maxDepth is no session', () => {
    expect(readCompact(compact(nest(4)), LIMITS, 0)).toBeUndefined();
    expect(readCompact(compact({ ok: 1, deep: { b: [[2]] } }), LIMITS, 0)).toBeUndefined();
  });

  it('whose data nests exactly maxDepth deep opens, with that data', () => {
    const opened = readCompact(compact(nest(3)), LIMITS, 2);
    expect(opened?.claims).toEqual(CLAIMS);
    expect(opened?.keyIndex).toBe(2);
    expect(JSON.stringify(opened?.payload.data)).toBe('{"a":{"a":{"a":1}}}');
    const empty = readCompact(compact({}), LIMITS, 0);
    expect(JSON.stringify(empty?.payload.data)).toBe('{}');
  });
});
