/**
 * The key ring and the secret rules pinned exactly (issue 16): each refusal rule is tested alone
 * (a short secret with plenty of distinct bytes, a long one with too few, a demo prefix), at its
 * boundary, and with its whole message; the HKDF derivation and HMAC signatures against fixed
 * known answers (a change would invalidate every cookie and sealed record in the field); CSRF
 * masking by its algebra. The option-level messages: secrets.test.ts.
 */

import { beforeEach, describe, expect, it } from 'vitest';
import {
  createKeyRing,
  generateCsrfSecret,
  generateSecret,
  type KeyPurpose,
  type KeyRing,
  MIN_SECRET_BYTES,
  maskCsrfToken,
  type SecretsOption,
  verifyCsrfToken,
} from '../../src/core/keys.js';

const FIX = 'Generate one with `npx sessionkit keygen` or `generateSecret()`.';
/** 37 distinct ASCII characters: passes every rule. */
const SECRET = 'Kx7-pQ2vN9wZr4Ty8uB1mC6dE3fG5hJ0aL_sW';

/** The message of the error `createKeyRing(secrets)` throws (fails the test when none is thrown). */
function refusal(secrets: unknown): string {
  try {
    createKeyRing(secrets as SecretsOption);
  } catch (error) {
    expect((error as { code: string }).code).toBe('ERR_SESSION_CONFIG');
    return (error as Error).message;
  }
  throw new Error('createKeyRing accepted it');
}

/** `length` bytes cycling through `distinct` different values. */
function bytes(length: number, distinct: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => 65 + (i % distinct));
}

describe('secret rules, each on its own', () => {
  it('refuses a high-entropy secret shorter than 32 bytes (the length rule alone)', () => {
    const short = SECRET.slice(0, 31);
    expect(new Set(short).size).toBe(31);
    expect(refusal([short])).toBe(
      `Option \`secrets[0]\` is 31 bytes; at least 32 are required. ${FIX}`,
    );
    expect(refusal(bytes(31, 31))).toBe(
      `Option \`secrets[0]\` is 31 bytes; at least 32 are required. ${FIX}`,
    );
    expect(MIN_SECRET_BYTES).toBe(32);
    expect(createKeyRing(SECRET.slice(0, 32)).ids).toEqual(['0']);
    expect(createKeyRing(bytes(32, 32)).ids).toEqual(['0']);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const wide = 'é'.repeat(8) + SECRET.slice(0, 15); // 23 characters, 31 bytes
    expect(refusal([wide])).toContain('is 31 bytes;');
    expect(createKeyRing(`${wide}x`).ids).toEqual(['0']);
  });

  it('refuses a long secret with fewer than 8 distinct bytes, accepts 8', () => {
    expect(refusal([bytes(64, 7)])).toBe(
      `Option \`secrets[0]\` looks like a weak or demo secret and is refused. ${FIX}`,
    );
    expect(createKeyRing(bytes(64, 8)).ids).toEqual(['0']);
  });

  it.each([
    'keyboard cat',
    'secret',
    'changeme',
    'change-me',
    'password',
    'your-secret',
    'supersecret',
    'demo',
    'example',
  ])('refuses a secret that starts with the demo value %j, in any case', (word) => {
    const message = `Option \`secrets[0]\` looks like a weak or demo secret and is refused. ${FIX}`;
    expect(refusal([`${word}${SECRET}`])).toBe(message);
    expect(refusal([`${word.toUpperCase()}${SECRET}`])).toBe(message);
    expect(refusal([word.repeat(Math.ceil(40 / word.length))])).toBe(message);
    // Elsewhere in a long random secret the word is harmless.
    expect(createKeyRing(`${SECRET}${word}`).ids).toEqual(['0']);
  });

  it('names the element by index and kind, never the value', () => {
    expect(refusal([SECRET, 42])).toBe(
      `Option \`secrets[1]\` is a number; expected a string, bytes, or \`{ id?, secret }\`. ${FIX}`,
    );
    expect(refusal([null])).toBe(
      `Option \`secrets[0]\` is null; expected a string, bytes, or \`{ id?, secret }\`. ${FIX}`,
    );
    expect(refusal([[SECRET]])).toBe(
      `Option \`secrets[0]\` is an array; expected a string, bytes, or \`{ id?, secret }\`. ${FIX}`,
    );
    expect(refusal([{ secret: {} }])).toBe(
      `Option \`secrets[0]\`: \`secret\` is an object; expected a string or bytes. ${FIX}`,
    );
    expect(refusal([{ secret: '' }])).toBe(`Option \`secrets[0]\`: \`secret\` is empty. ${FIX}`);
    expect(refusal([new Uint8Array(0)])).toBe(`Option \`secrets[0]\` is empty. ${FIX}`);
    expect(refusal([''])).toBe(
      `Option \`secrets[0]\` is empty; if it comes from an environment variable, is that variable set? ${FIX}`,
    );
    expect(refusal([undefined])).toBe(
      `Option \`secrets[0]\` is undefined; if it comes from an environment variable, is that variable set? ${FIX}`,
    );
    expect(refusal([{ id: 'k' }])).toBe(
      `Option \`secrets[0]\` has no \`secret\`; if it comes from an environment variable, is that variable set? ${FIX}`,
    );
    expect(refusal(undefined)).toBe(
      `Option \`secrets\` must be a string, bytes, or an array of them (primary first); it is undefined. ${FIX}`,
    );
    expect(refusal(true)).toBe(
      `Option \`secrets\` must be a string, bytes, or an array of them (primary first); it is a boolean. ${FIX}`,
    );
    expect(refusal([])).toBe(
      `Option \`secrets\` needs at least one secret of 32+ random bytes; the array is empty. ${FIX}`,
    );
  });

  it('ids: 1 to 16 of letters, digits, "-" and "_"; the default is the index', () => {
    const id = 'Az09-_Az09-_Az09';
    expect(createKeyRing([{ id, secret: SECRET }]).ids).toEqual([id]);
    expect(createKeyRing([SECRET, { secret: generateSecret() }]).ids).toEqual(['0', '1']);
    for (const bad of ['', 'a.b', 'a b', `${id}x`, 'é']) {
      expect(refusal([{ id: bad, secret: SECRET }])).toBe(
        'Option `secrets[0].id` must be 1–16 letters, digits, "-" or "_"; it is malformed.',
      );
    }
    expect(refusal([{ id: 7, secret: SECRET }])).toBe(
      'Option `secrets[0].id` must be 1–16 letters, digits, "-" or "_"; it is a number.',
    );
    expect(refusal([{ id: 'k', secret: SECRET }, SECRET, { id: 'k', secret: SECRET }])).toBe(
      'Option `secrets`: `secrets[0]` and `secrets[2]` have the same id; ids must be unique (an element without `id` uses its index).',
    );
  });
});

describe('key ring: derivation and signatures (known answers)', () => {
  // Made inside each test: a call at import time would make its mutants "static" ones.
  let ring: KeyRing;
  beforeEach(() => {
    ring = createKeyRing(SECRET);
  });

  it('derives a 32-byte HKDF-SHA-256 subkey per purpose', () => {
    const expected: Record<KeyPurpose, string> = {
      'cookie-sign': 'xPDOd8qpYXYQHYm3YdYtpjzD5wHyjaCsD42hfZO3H8U',
      'payload-encrypt': 'IuFflXbzuZ2wmeQZUrbRtgIYA7_BcxLAR3cD2WbSPnc',
      'cookie-seal': 'ZjJlpWSR1RF_xbVcic48TeXQmBshHaaYPo1aaQ-q-L8',
      'hybrid-seal': '8w6cJIwPxwyGbDVUe_B0epJ3L9W4pj6aOg00NDKpSyQ',
      jwt: 'cpuZR0rqkWyXEOhG6dC33GUQ6S8MAAAKmWfvasNTsa8',
      csrf: 'KquYr7o_2ZzZffrqSBrlD_RjkubTzK-ZpTTuL7vnxic',
      fingerprint: 'OPDquA9miiRCsJISgWL7QY5HJc46tH8j0JLBimY2zTY',
      'store-key': 'kdlDjAeQI72m9iOdbzCexzfijTKHtQ6jA3eWjNKI9cs',
    };
    for (const [purpose, key] of Object.entries(expected)) {
      expect(Buffer.from(ring.primary(purpose as KeyPurpose)).toString('base64url')).toBe(key);
    }
  });

  it('signs with HMAC-SHA-256 under the primary subkey', () => {
    expect(ring.sign('cookie-sign', 'value')).toBe('aL_9NnxYNzfPtoZTD8idIno2XB-Wb221xima9rxFB1E');
    const rotated = createKeyRing([generateSecret(), SECRET]);
    expect(rotated.sign('cookie-sign', 'value')).not.toBe(ring.sign('cookie-sign', 'value'));
  });

  it('caches subkeys per purpose, primary first', () => {
    const two = createKeyRing([generateSecret(), SECRET]);
    const keys = two.all('csrf');
    expect(two.all('csrf')).toBe(keys);
    expect(keys).toHaveLength(2);
    expect(two.primary('csrf')).toBe(keys[0]);
    expect(keys[1]).toEqual(ring.primary('csrf'));
  });

  it('verifyIndex tells which key matched: 0 the primary, n an older key, -1 none', () => {
    const other = generateSecret();
    const two = createKeyRing([other, SECRET]);
    expect(two.verifyIndex('cookie-sign', 'value', ring.sign('cookie-sign', 'value'))).toBe(1);
    expect(two.verifyIndex('cookie-sign', 'value', two.sign('cookie-sign', 'value'))).toBe(0);
    expect(two.verifyIndex('cookie-sign', 'other', ring.sign('cookie-sign', 'value'))).toBe(-1);
    expect(two.verifyIndex('csrf', 'value', ring.sign('cookie-sign', 'value'))).toBe(-1);
    expect(two.verify('cookie-sign', 'value', ring.sign('cookie-sign', 'value'))).toBe(true);
    expect(two.verify('cookie-sign', 'value', '')).toBe(false);
  });

  it('the first matching key wins when one secret is in the ring twice', () => {
    const twice = createKeyRing([
      { id: 'a', secret: SECRET },
      { id: 'b', secret: SECRET },
    ]);
    expect(twice.verifyIndex('cookie-sign', 'value', ring.sign('cookie-sign', 'value'))).toBe(0);
  });
});

describe('CSRF masking', () => {
  it('a token is pad ‖ (pad ⊕ secret): twice as long, fresh every time, verified by its secret', () => {
    const secret = generateCsrfSecret();
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    const token = maskCsrfToken(secret);
    const raw = Buffer.from(token, 'base64url');
    expect(raw).toHaveLength(64);
    const unmasked = raw.subarray(0, 32).map((pad, i) => pad ^ raw[32 + i]!);
    expect(Buffer.from(unmasked).toString('base64url')).toBe(secret);
    expect(maskCsrfToken(secret)).not.toBe(token);
    expect(verifyCsrfToken(secret, token)).toBe(true);
    expect(verifyCsrfToken(generateCsrfSecret(), token)).toBe(false);
  });

  it('refuses tokens that are not base64url, mis-sized, or for an empty secret', () => {
    const secret = generateCsrfSecret();
    const token = maskCsrfToken(secret);
    for (const bad of [
      undefined,
      42,
      '',
      `${token}=`,
      token.replace(/^./, '+'),
      `!${token}`, // the decoder skips characters outside the alphabet
      `${token}!`,
      token.slice(0, -2),
      `${token}AA`,
    ]) {
      expect(verifyCsrfToken(secret, bad), String(bad)).toBe(false);
    }
    // One base64url character decodes to zero bytes: twice the length of an empty secret.
    expect(Buffer.from('A', 'base64url')).toHaveLength(0);
    expect(verifyCsrfToken('', 'A')).toBe(false);
  });

  it('refuses a token over 256 characters before decoding it, even a valid masking', () => {
    const fits = Buffer.alloc(96, 7).toString('base64url'); // token: 192 bytes, 256 characters
    const fitting = maskCsrfToken(fits);
    expect(fitting).toHaveLength(256);
    expect(verifyCsrfToken(fits, fitting)).toBe(true);
    const over = Buffer.alloc(97, 7).toString('base64url');
    const long = maskCsrfToken(over);
    expect(long.length).toBeGreaterThan(256);
    expect(verifyCsrfToken(over, long)).toBe(false);
  });
});
