/**
 * A custom session id generator (`generateId`, `src/core/resolve-options.ts`): the id it returns
 * is what the cookie and the store key are made of, so one of the wrong shape must fail where it
 * is made — a `ConfigError` naming the option, nothing stored, no cookie — instead of being issued
 * and then refused as malformed on every later request. A well-formed custom id is used as given,
 * on the server-side and the sealed path alike.
 */

import { describe, expect, it } from 'vitest';
import { generateSessionId, isSessionError } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { memoryStore } from '../../src/stores/memory.js';
import { collect } from '../stores/conformance.js';
import { manager, request } from './helpers.js';

const BAD: [string, unknown, string][] = [
  ['a short string', 'abc', 'returned a string of 3 characters that is not one'],
  ['44 characters', `${'A'.repeat(43)}B`, 'returned a string of 44 characters that is not one'],
  ['a character outside base64url', `${'A'.repeat(42)}+`, 'returned a string of 43 characters'],
  ['a number', 42, 'returned number'],
  ['null', null, 'returned null'],
  ['undefined', undefined, 'returned undefined'],
];

describe('generateId: a custom id of the wrong shape fails where it is made', () => {
  it.each(BAD)(
    '%s: the commit rejects with ConfigError, nothing stored, no cookie',
    async (_label, id, text) => {
      const store = memoryStore({ sweepInterval: 0 });
      const m = manager({ store, generateId: () => id as string });
      const scope = m.begin({ ip: '127.0.0.1' });
      scope.session.set('a', 1);
      const error = await scope.end().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
      expect((error as Error).message).toContain('Option `generateId` ');
      expect((error as Error).message).toContain(text);
      expect((error as Error).message).toContain('43 base64url characters');
      expect(await collect(store.ids!())).toEqual([]);
    },
  );

  it('a sealed-cookie session refuses the same way', async () => {
    const m = manager({ store: cookieStore(), generateId: () => 'abc' });
    const scope = m.begin({ ip: '127.0.0.1' });
    scope.session.set('a', 1);
    await expect(scope.end()).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it('a well-formed custom id is the session id, on the server-side path', async () => {
    const id = generateSessionId();
    const store = memoryStore({ sweepInterval: 0 });
    const m = manager({ store, generateId: () => id });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    expect(cookie).toMatch(new RegExp(`^sid=${id}\\.`));
    expect(await collect(store.ids!())).toHaveLength(1);
    expect((await request(m, cookie, (s) => s.get('a'))).result).toBe(1);
  });
});
