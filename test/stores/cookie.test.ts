/**
 * `sessionkit/stores/cookie`: the factory, what the manager makes of it, and — since the manager
 * reaches the revocation store through the cookie store's own methods — the conformance suite
 * over that delegation. The sealed-cookie lifecycle itself is tested in
 * test/core/stateless.test.ts, over HTTP on every adapter in the adapter contract, and under
 * attack in test/security/stateless.test.ts.
 */

import { beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSecret, isSessionError } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { memoryStore } from '../../src/stores/memory.js';
import { testManager } from '../support/manager.js';
import { describeStore } from './conformance.js';

// Registered before any manager of this file exists: the warning is once per process.
const warnings: unknown[][] = [];
beforeAll(() => {
  const emit = process.emitWarning.bind(process);
  vi.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => {
    warnings.push(args);
    if (args[1] === undefined) emit(...(args as [string]));
  });
});

describeStore({
  name: 'cookie (revocation records over memory)',
  create: () => cookieStore({ revocation: memoryStore() }),
  // It delegates get/set/touch/delete only; a memory backend cannot fail.
  lacks: ['lock', 'listByUser', 'deleteByUser', 'prune', 'ids', 'failure'],
});

describe('cookieStore()', () => {
  it('without a revocation store it keeps no records', async () => {
    const store = cookieStore();
    expect(store.name).toBe('cookie');
    const error = await store.get('x'.repeat(43)).catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
  });

  it('validates its options eagerly, naming the option', () => {
    expect(() => cookieStore({ leeway: 301_000 })).toThrowError(/`leeway`/);
    expect(() => cookieStore({ maxChunks: 0 })).toThrowError(/`maxChunks`/);
    expect(() => cookieStore({ revocation: {} as never })).toThrowError(/`revocation`/);
  });

  it('a manager without a revocation store warns once per process that revocation is unavailable', () => {
    const make = (store = cookieStore()) => testManager({ store });
    make();
    make();
    make(cookieStore({ revocation: memoryStore() }));
    const ours = warnings.filter(
      (w) => (w[1] as { code?: string })?.code === 'SESSIONKIT_NO_REVOCATION',
    );
    expect(ours).toHaveLength(1);
    expect(String(ours[0]![0])).toMatch(/cannot be revoked/);
  });

  it('a manager over it seals sessions in the cookie (no record anywhere)', async () => {
    const revocation = memoryStore();
    const manager = testManager({
      store: cookieStore({ revocation }),
      secrets: [generateSecret()],
    });
    expect(manager.store.name).toBe('cookie');
    const scope = manager.begin({});
    scope.session.set('a', 1);
    const out = await scope.end();
    const pair = out.setCookie[0]!.split(';')[0]!;
    const read = manager.begin({ cookie: pair });
    expect(await read.session.get('a')).toBe(1);
    expect(await revocation.prune!()).toBe(0);
  });
});
