/**
 * `core/sha256.ts`: the prepared HMAC and the one-shot SHA-256 give exactly what node:crypto's
 * `createHmac` / `createHash` give — on the fast path (`crypto.hash`, two one-shot hashes over
 * padded keys prepared once) and on the fallback a Node without `crypto.hash` takes — for keys
 * shorter than, equal to and longer than SHA-256's 64-byte block, for messages of every length
 * around the prepared buffer's limit, and for text that is not ASCII. A prepared MAC keeps no
 * trace of an earlier, longer message. Known answers: RFC 4231's test cases 1, 2 and 6.
 */

import * as crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMac, type DigestEncoding, type OneShot, sha256 } from '../../src/core/sha256.js';

const ONE_SHOT = (crypto as { hash?: OneShot }).hash;
const PATHS: ReadonlyArray<[string, OneShot | null]> = [
  ['one-shot hashes', ONE_SHOT ?? null],
  ['fallback (no crypto.hash)', null],
];

const reference = (key: string | Uint8Array, value: string, encoding: DigestEncoding): string =>
  crypto.createHmac('sha256', key).update(value).digest(encoding);

const KEYS: ReadonlyArray<string | Uint8Array> = [
  new Uint8Array(0),
  crypto.randomBytes(1),
  crypto.randomBytes(32),
  crypto.randomBytes(63),
  crypto.randomBytes(64),
  crypto.randomBytes(65),
  crypto.randomBytes(200),
  'a string key',
  'ключ — a key that is not ASCII, and long enough to pass the 64-byte block as UTF-8 ✓✓✓',
];

const VALUES: readonly string[] = [
  '',
  'x',
  crypto.randomBytes(32).toString('base64url'),
  'é 中 😀 and a lone surrogate \ud800 here',
  'a'.repeat(255),
  'a'.repeat(256),
  'a'.repeat(257),
  '中'.repeat(256),
  '中'.repeat(257),
  '😀'.repeat(128),
  'b'.repeat(5000),
];

describe.each(PATHS)('createMac — %s', (_path, oneShot) => {
  it('equals createHmac for every key length and message', () => {
    for (const key of KEYS) {
      const mac = createMac(key, oneShot);
      for (const value of VALUES) {
        for (const encoding of ['base64url', 'base64', 'hex'] as const) {
          expect(mac(value, encoding)).toBe(reference(key, value, encoding));
        }
      }
    }
  });

  it('forgets a longer earlier message: each MAC covers exactly its own bytes', () => {
    const key = crypto.randomBytes(32);
    const mac = createMac(key, oneShot);
    const long = 'z'.repeat(200);
    expect(mac(long, 'hex')).toBe(reference(key, long, 'hex'));
    expect(mac('short', 'hex')).toBe(reference(key, 'short', 'hex'));
    expect(mac('', 'hex')).toBe(reference(key, '', 'hex'));
  });

  it("does not follow later changes to the caller's key bytes", () => {
    const key = crypto.randomBytes(32);
    const original = Buffer.from(key);
    const mac = createMac(key, oneShot);
    key.fill(0);
    expect(mac('id', 'base64url')).toBe(reference(original, 'id', 'base64url'));
  });

  it('RFC 4231 known answers (test cases 1, 2 and 6)', () => {
    expect(createMac(Buffer.alloc(20, 0x0b), oneShot)('Hi There', 'hex')).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(createMac('Jefe', oneShot)('what do ya want for nothing?', 'hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(
      createMac(Buffer.alloc(131, 0xaa), oneShot)(
        'Test Using Larger Than Block-Size Key - Hash Key First',
        'hex',
      ),
    ).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });
});

describe.each(PATHS)('sha256 — %s', (_path, oneShot) => {
  it('equals createHash for ASCII, non-ASCII and long text, in each encoding', () => {
    for (const value of VALUES) {
      for (const encoding of ['base64url', 'base64', 'hex'] as const) {
        expect(sha256(value, encoding, oneShot)).toBe(
          crypto.createHash('sha256').update(value).digest(encoding),
        );
      }
    }
  });

  it("a known answer: SHA-256('abc')", () => {
    expect(sha256('abc', 'hex', oneShot)).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
