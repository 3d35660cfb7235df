/**
 * `sessionkit/stores/cookie`: the factory and what the manager makes of it. The sealed-cookie
 * lifecycle itself is tested in test/core/stateless.test.ts, over HTTP on every adapter in the
 * adapter contract, and under attack in test/security/stateless.test.ts.
 */

import { describe, expect, it } from 'vitest';
import { generateSecret, isSessionError } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { testManager } from '../support/manager.js';

describe('cookieStore()', () => {
  it('is a store named "cookie" that keeps no records', async () => {
    const store = cookieStore();
    expect(store.name).toBe('cookie');
    const error = await store.get('x'.repeat(43)).catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
  });

  it('validates its options eagerly, naming the option', () => {
    expect(() => cookieStore({ leeway: 301_000 })).toThrowError(/`leeway`/);
    expect(() => cookieStore({ maxChunks: 0 })).toThrowError(/`maxChunks`/);
  });

  it('a manager over it seals sessions in the cookie (no record anywhere)', async () => {
    const manager = testManager({ store: cookieStore(), secrets: [generateSecret()] });
    expect(manager.store.name).toBe('cookie');
    const scope = manager.begin({});
    scope.session.set('a', 1);
    const out = await scope.end();
    const pair = out.setCookie[0]!.split(';')[0]!;
    const read = manager.begin({ cookie: pair });
    expect(await read.session.get('a')).toBe(1);
  });
});
