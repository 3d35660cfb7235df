/**
 * The `secrets` option: every element is checked, and every mistake is one `ConfigError`
 * (`ERR_SESSION_CONFIG`) naming the option or element and the fix — never a raw `TypeError`,
 * never the secret itself in the message.
 */

import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createKeyRing,
  createSessionManager,
  generateSecret,
  type SecretsOption,
} from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

const KEYGEN = '`npx sessionkit keygen`';

/** Run `createKeyRing(secrets)` and return the `ConfigError` it must throw. */
function configError(secrets: unknown): ConfigError {
  try {
    createKeyRing(secrets as SecretsOption);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('ERR_SESSION_CONFIG');
    return error as ConfigError;
  }
  throw new Error('createKeyRing did not throw');
}

describe('secrets option: the container', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { secret: generateSecret() }],
    ['a boolean', true],
  ])('refuses %s instead of a string, bytes or an array', (_, value) => {
    const error = configError(value);
    expect(error.message).toContain('Option `secrets`');
    expect(error.message).toContain(KEYGEN);
  });

  it('refuses an empty array', () => {
    const error = configError([]);
    expect(error.message).toContain('at least one secret');
    expect(error.message).toContain(KEYGEN);
  });
});

describe('secrets option: each element', () => {
  const good = generateSecret();

  it.each([
    ['undefined', [undefined], 0, 'is undefined'],
    ['undefined after a good one', [good, undefined], 1, 'is undefined'],
    ['null', [null], 0, 'is null'],
    ['a number', [123], 0, 'is a number'],
    ['a boolean', [false], 0, 'is a boolean'],
    ['a nested array', [[good]], 0, 'is an array'],
    ['an empty string', [''], 0, 'is empty'],
    ['an object without `secret`', [{ id: 'a' }], 0, 'has no `secret`'],
    ['an object with an undefined secret', [{ id: 'a', secret: undefined }], 0, 'has no `secret`'],
    ['an object with a numeric secret', [{ secret: 7 }], 0, '`secret` is a number'],
    ['an object with an empty secret', [{ secret: new Uint8Array(0) }], 0, 'is empty'],
  ])('refuses %s, naming the index and the fix', (_, secrets, index, phrase) => {
    const error = configError(secrets);
    expect(error.message).toContain(`\`secrets[${index}]\``);
    expect(error.message).toContain(phrase);
    expect(error.message).toContain(KEYGEN);
  });

  it('mentions the environment variable when an element is undefined or empty', () => {
    // The README's `secrets: [process.env.SESSION_SECRET!]` yields [undefined] or [''].
    expect(configError([undefined]).message).toContain('environment variable');
    expect(configError(['']).message).toContain('environment variable');
  });

  it('refuses a short secret with its length, without echoing it', () => {
    const secret = 'tooShort-Zq9';
    const error = configError([good, secret]);
    expect(error.message).toContain('`secrets[1]`');
    expect(error.message).toContain('12 bytes');
    expect(error.message).toContain(KEYGEN);
    expect(error.message).not.toContain(secret);
  });

  it.each([
    ['a tutorial secret', 'keyboard cat keyboard cat keyboard cat keyboard cat'],
    ['a demo prefix', 'changeme-0123456789abcdefghijklmnopqrstuvwxyz'],
    ['a low-entropy run', 'a'.repeat(64)],
    ['low-entropy bytes', new Uint8Array(48).fill(7)],
  ])('refuses %s as weak, without echoing it', (_, secret) => {
    const error = configError([{ id: 'k1', secret }]);
    expect(error.message).toContain('`secrets[0]`');
    expect(error.message).toContain('weak');
    expect(error.message).toContain(KEYGEN);
    if (typeof secret === 'string') expect(error.message).not.toContain(secret.slice(0, 12));
  });

  it.each([
    ['empty', ''],
    ['too long', 'a'.repeat(17)],
    ['with a space', 'key one'],
    ['a number', 1],
  ])('refuses an id that is %s, naming the index', (_, id) => {
    const error = configError([good, { id, secret: generateSecret() }]);
    expect(error.message).toContain('`secrets[1].id`');
    expect(error.message).toContain('1–16 letters, digits');
  });

  it('refuses duplicate ids, naming both indexes', () => {
    const error = configError([
      { id: 'k', secret: generateSecret() },
      good,
      { id: 'k', secret: generateSecret() },
    ]);
    expect(error.message).toContain('`secrets[0]`');
    expect(error.message).toContain('`secrets[2]`');
    expect(error.message).toContain('unique');
  });

  it('refuses a default id that collides with an explicit one', () => {
    // The second secret's default id is its index, "1", which the first already uses.
    const error = configError([{ id: '1', secret: generateSecret() }, good]);
    expect(error.message).toContain('`secrets[0]`');
    expect(error.message).toContain('`secrets[1]`');
  });
});

describe('secrets option: accepted forms', () => {
  it('accepts a string, bytes, and arrays of strings, bytes and { id, secret }', () => {
    const bytes = new Uint8Array(32).map((_, i) => (i * 37 + 11) % 256);
    expect(createKeyRing(generateSecret()).ids).toEqual(['0']);
    expect(createKeyRing(bytes).ids).toEqual(['0']);
    expect(
      createKeyRing([generateSecret(), bytes, { id: 'old', secret: generateSecret() }]).ids,
    ).toEqual(['0', '1', 'old']);
    expect(createKeyRing(Object.freeze([generateSecret()])).ids).toEqual(['0']);
  });

  it('derives subkeys as plain Uint8Array-compatible bytes', () => {
    const ring = createKeyRing(generateSecret());
    const key = ring.primary('cookie-sign');
    expect(key).toBeInstanceOf(Uint8Array);
    expect(key.byteLength).toBe(32);
  });
});

describe('createSessionManager with an unset environment variable', () => {
  it('throws ConfigError, not a TypeError', () => {
    const unset = process.env.SESSIONKIT_TEST_SECRET_THAT_IS_NEVER_SET;
    expect(() =>
      createSessionManager({ store: memoryStore(), secrets: [unset as string] }),
    ).toThrowError(
      expect.objectContaining({
        code: 'ERR_SESSION_CONFIG',
        message: expect.stringContaining('`secrets[0]` is undefined'),
      }),
    );
  });
});
