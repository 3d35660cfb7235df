/**
 * Lock support is checked in one place, with one condition: the `lock` mode needs a store with
 * both `lock` and `unlock`, whether the mode is the manager's or a request's override.
 */

import { describe, expect, it } from 'vitest';
import { isSessionError, type SessionStore } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { manager } from './helpers.js';

/** A memory store with `lock` but no `unlock`: it could take locks it can never release. */
function lockWithoutUnlock(): SessionStore {
  const { unlock: _, ...store } = memoryStore();
  return store;
}

function configErrorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('lock support', () => {
  it('the manager option refuses a store with lock but no unlock', () => {
    const error = configErrorOf(() => manager({ store: lockWithoutUnlock(), concurrency: 'lock' }));
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
  });

  it('a per-request lock mode refuses a store with lock but no unlock, before any lock is taken', () => {
    const m = manager({ store: lockWithoutUnlock() });
    const error = configErrorOf(() => m.begin({ concurrency: 'lock' }));
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
  });

  it('both checks say the same thing', () => {
    const store = lockWithoutUnlock();
    const byOption = configErrorOf(() => manager({ store, concurrency: 'lock' })) as Error;
    const byRequest = configErrorOf(() =>
      manager({ store }).begin({ concurrency: 'lock' }),
    ) as Error;
    expect(byRequest.message).toBe(byOption.message);
  });

  it('a per-request lock mode on a store with lock and unlock works', () => {
    const m = manager();
    expect(() => m.begin({ concurrency: 'lock' })).not.toThrow();
  });
});
