/**
 * Which stored values the Redis store reads as records (`src/stores/_redis-record.ts`, found by
 * the mutation run, docs/testing.md), on the real Redis at 127.0.0.1:6379 through ioredis: the
 * current layout (`1|` tag, the header's four fields and where it ends, version and expiry), the
 * legacy hash (all four fields, version ≥ 1), the clock boundary in both, and keys never read.
 * What the store writes and how it answers server errors: `redis-rules.test.ts`.
 */

import { describe, expect, it } from 'vitest';
import type { StoreRecord } from '../../src/core/store.js';
import { decodeRecord } from '../../src/stores/_redis-record.js';
import { redisStore } from '../../src/stores/redis.js';
import { HOUR, storeKey } from './conformance.js';
import { sharedRedis } from './redis-helpers.js';

const shared = sharedRedis();
const raw = shared.raw;

/** A store on a fresh prefix, and the names of a key's record and of its lock. */
function setup() {
  const prefix = shared.prefix();
  return {
    store: redisStore({ client: shared.client, prefix }),
    rk: (key: string) => `${prefix}s:{${key}}`,
    lk: (key: string) => `${prefix}l:{${key}}`,
  };
}

describe('redis stored values: what reads as a record', () => {
  const later = () => Date.now() + HOUR;

  it('reads only the `1|` layout with four header fields, a version ≥ 1 and a live expiry', async () => {
    const { store, rk } = setup();
    const e = later();
    const cases: [string, string, boolean][] = [
      ['valid', `1|3|${e}||u\ndata`, true],
      ['another layout tag', `2|3|${e}||u\ndata`, false],
      ['layout tag with a suffix', `12|3|${e}||u\ndata`, false],
      ['three header fields', `1|3|${e}|u\ndata`, false],
      ['version 0', `1|0|${e}||u\ndata`, false],
      ['version not an integer', `1|1.5|${e}||u\ndata`, false],
      ['version past the safe range', `1|9007199254740993|${e}||u\ndata`, false],
      ['expired', `1|3|${Date.now() - 1000}||u\ndata`, false],
    ];
    for (const [name, value, readable] of cases) {
      const key = storeKey();
      await raw('SET', rk(key), value, 'PX', HOUR);
      const expected = readable
        ? { data: 'data', version: 3, expiresAt: e, userId: 'u' }
        : undefined;
      await expect(store.get(key), name).resolves.toStrictEqual(expected);
    }
  });

  it('reads a legacy hash only with all four fields and a version ≥ 1', async () => {
    const { store, rk } = setup();
    const e = later();
    const cases: [string, (string | number)[], boolean][] = [
      ['complete', ['d', 'data', 'v', 3, 'e', e, 'u', 'u'], true],
      ['no data', ['v', 3, 'e', e, 'u', 'u'], false],
      ['no version', ['d', 'data', 'e', e, 'u', 'u'], false],
      ['no expiry', ['d', 'data', 'v', 3, 'u', 'u'], false],
      ['no user field', ['d', 'data', 'v', 3, 'e', e], false],
    ];
    for (const [name, fields, readable] of cases) {
      const key = storeKey();
      await raw('HSET', rk(key), ...fields);
      await raw('PEXPIRE', rk(key), HOUR);
      const expected = readable
        ? { data: 'data', version: 3, expiresAt: e, userId: 'u' }
        : undefined;
      await expect(store.get(key), name).resolves.toStrictEqual(expected);
      // The scripts agree: a hash missing a field is no record to touch either.
      await expect(store.touch(key, later()), name).resolves.toBe(readable);
    }
    // A version that is no positive integer: get does not read it (the scripts check shape only).
    for (const version of ['0', '1.5', 'x']) {
      const key = storeKey();
      await raw('HSET', rk(key), 'd', 'data', 'v', version, 'e', e, 'u', 'u');
      await raw('PEXPIRE', rk(key), HOUR);
      await expect(store.get(key), version).resolves.toBeUndefined();
    }
  });

  it('ends the header at the first line feed after the third `|`', async () => {
    const { store, rk } = setup();
    const e = later();
    const cases: [string, string, StoreRecord | undefined][] = [
      // No third `|`, so no header end: never a record, even where `Number` would read the
      // expiry field with its line feed and the data's last character cut off (`${e}\n`).
      ['two header fields, no data', `1|3|${e}\n`, undefined],
      ['two header fields, one character of data', `1|3|${e}\nd`, undefined],
      // The indexed field is never parsed: a line feed at its end does not end the header.
      [
        'an indexed field ending in a line feed',
        `1|3|${e}|\n|u\ndata`,
        { data: 'data', version: 3, expiresAt: e, userId: 'u' },
      ],
      [
        'the same, anonymous',
        `1|3|${e}|\n|\nd`,
        { data: 'd', version: 3, expiresAt: e, userId: null },
      ],
    ];
    for (const [name, value, expected] of cases) {
      const key = storeKey();
      await raw('SET', rk(key), value, 'PX', HOUR);
      await expect(store.get(key), name).resolves.toStrictEqual(expected);
    }
  });

  it('reads version 1, the lowest, in both layouts', async () => {
    const { store, rk } = setup();
    const e = later();
    const expected = { data: 'data', version: 1, expiresAt: e, userId: 'u' };
    const [current, legacy] = [storeKey(), storeKey()];
    await raw('SET', rk(current), `1|1|${e}||u\ndata`, 'PX', HOUR);
    await raw('HSET', rk(legacy), 'd', 'data', 'v', 1, 'e', e, 'u', 'u');
    await raw('PEXPIRE', rk(legacy), HOUR);
    await expect(store.get(current)).resolves.toStrictEqual(expected);
    await expect(store.get(legacy)).resolves.toStrictEqual(expected);
  });

  it('is dead from the millisecond of its expiry on (both layouts)', () => {
    const now = 1_800_000_000_000;
    const live = { data: 'd', version: 2, expiresAt: now + 1, userId: null };
    expect(decodeRecord(`1|2|${now + 1}||\nd`, now)).toStrictEqual(live);
    expect(decodeRecord(`1|2|${now}||\nd`, now)).toBeUndefined();
    expect(decodeRecord(['d', '2', String(now + 1), ''], now)).toStrictEqual(live);
    expect(decodeRecord(['d', '2', String(now), ''], now)).toBeUndefined();
    // A legacy reply must hold strings: a missing field (null) is no record, whatever the clock.
    expect(decodeRecord(['d', '2', null, ''], -1)).toBeUndefined();
  });

  it('never reads or touches a name an invalid key would map to', async () => {
    const { store, rk, lk } = setup();
    for (const key of ['short', `${storeKey()}}`, '']) {
      await raw('SET', rk(key), `1|1|${later()}||\nplanted`, 'PX', HOUR);
      await raw('SET', lk(key), 'owner-1', 'PX', HOUR);
      await expect(store.get(key), key).resolves.toBeUndefined();
      await expect(store.touch(key, later()), key).resolves.toBe(false);
      await expect(store.delete(key), key).resolves.toBe(false);
      // Not even its owner unlocks a lock an invalid key would name.
      await expect(store.unlock!(key, { owner: 'owner-1' }), key).resolves.toBe(false);
      expect(await raw('EXISTS', rk(key), lk(key)), key).toBe(2);
    }
  });
});
