/**
 * `reseal()` scans the store through the same gateway as every other store call: a failing or
 * hanging `ids()` becomes a `StoreError` with a `store-error` event, never a raw error or a hang.
 */

import { describe, expect, it } from 'vitest';
import { isSessionError, type SessionStore } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { manager, request } from './helpers.js';

/** A memory store whose `ids()` is replaced (fault injection). */
function withIds(ids: NonNullable<SessionStore['ids']>): SessionStore {
  return { ...memoryStore(), ids };
}

describe('reseal() and the store gateway', () => {
  it('a failing ids() rejects with StoreError (cause kept) and emits store-error', async () => {
    const failure = new Error('injected ids failure: ECONNREFUSED');
    const m = manager({
      encrypt: true,
      // biome-ignore lint/correctness/useYield: fails before yielding anything
      store: withIds(async function* () {
        throw failure;
      }),
    });
    const error = await m.reseal().catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect((error as Error).cause).toBe(failure);
    expect(m.events).toContainEqual({
      type: 'store-error',
      operation: 'ids',
      code: 'ERR_SESSION_STORE',
    });
  });

  it('ids() failing after some keys rejects with StoreError, after handling those keys', async () => {
    const inner = memoryStore();
    const m = manager({
      encrypt: true,
      store: {
        ...inner,
        async *ids(options) {
          yield* inner.ids!(options);
          throw new Error('injected ids failure: connection reset');
        },
      },
    });
    await request(m, undefined, (s) => s.set('a', 1));
    const scanned: number[] = [];
    const error = await m.reseal({ onProgress: (n) => scanned.push(n) }).catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect(scanned).toEqual([1]);
    expect(m.events.filter((e) => e.type === 'store-error')).toEqual([
      { type: 'store-error', operation: 'ids', code: 'ERR_SESSION_STORE' },
    ]);
  });

  it('a hanging ids() fails with StoreError at the storeTimeout deadline, and its signal is aborted', async () => {
    let seen: AbortSignal | undefined;
    const m = manager({
      encrypt: true,
      storeTimeout: 50,
      store: withIds(async function* (options) {
        seen = options?.signal;
        await new Promise((resolve) => options?.signal?.addEventListener('abort', resolve));
        throw options?.signal?.reason;
      }),
    });
    const error = await m.reseal().catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect(seen?.aborted).toBe(true);
    expect(m.events).toContainEqual({
      type: 'store-error',
      operation: 'ids',
      code: 'ERR_SESSION_STORE',
    });
  });

  it("the caller's signal still reaches the store, and its abort rejects with the caller's reason", async () => {
    const controller = new AbortController();
    const reason = new Error('stopped by the operator');
    const m = manager({ encrypt: true });
    await request(m, undefined, (s) => s.set('a', 1));
    await request(m, undefined, (s) => s.set('b', 2));
    const error = await m
      .reseal({ signal: controller.signal, onProgress: () => controller.abort(reason) })
      .catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(m.events.filter((e) => e.type === 'store-error')).toEqual([]);
  });

  it('skips the user records revokeAll leaves in the store (not sessions, never unreadable)', async () => {
    const m = manager({ encrypt: true });
    const { cookie } = await request(m, undefined, (s) => s.login('alice'));
    await request(m, undefined, (s) => s.login('alice'));
    await m.revokeAll('alice', { except: [(await request(m, cookie, (s) => s.handle())).result!] });
    expect(await m.reseal()).toEqual({ scanned: 2, resealed: 0, skipped: 2, unreadable: 0 });
  });
});
