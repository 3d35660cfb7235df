/**
 * The in-process queues of `src/core/locks.ts`, driven directly on a manager context: the commit
 * queue (`serialize`: one at a time per key, a failure — even a synchronous throw — does not
 * block the next, and a key is forgotten once its last commit settled) and the lock-turn queue
 * (`takeLease`/`dropLease`: a waiter behind a holder of this process does not poll the store,
 * and the queue is empty again once every lease went back). A memory store counted by the probe.
 */

import { describe, expect, it } from 'vitest';
import { type Context, createContext } from '../../src/core/context.js';
import { dropLease, serialize, takeLease } from '../../src/core/locks.js';
import { resolveOptions } from '../../src/core/resolve-options.js';
import { memoryStore } from '../../src/stores/memory.js';
import { probeStore } from '../support/probe-store.js';
import { SECRET } from './helpers.js';

const KEY = 'k'.repeat(43);

function context(): { ctx: Context; store: ReturnType<typeof probeStore> } {
  const store = probeStore(memoryStore({ sweepInterval: 0 }));
  const ctx = createContext(
    resolveOptions({
      store,
      secrets: [SECRET],
      cookie: { secure: false },
      lock: { ttl: 10_000, wait: 5_000 },
    }),
  );
  return { ctx, store };
}

/** Let every pending promise callback and one macrotask run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('the commit queue (serialize)', () => {
  it('runs commits of one key one after another, a third behind the second, and then forgets the key', async () => {
    const { ctx } = context();
    const order: string[] = [];
    const b = gate();
    const first = serialize(ctx, KEY, async () => {
      order.push('a');
      return 'a';
    });
    const second = serialize(ctx, KEY, async () => {
      order.push('b start');
      await b.promise;
      order.push('b end');
      return 'b';
    });
    expect(await first).toBe('a');
    const third = serialize(ctx, KEY, async () => {
      order.push('c');
      return 'c';
    });
    await settle();
    expect(order).toEqual(['a', 'b start']);
    b.open();
    expect(await second).toBe('b');
    expect(await third).toBe('c');
    expect(order).toEqual(['a', 'b start', 'b end', 'c']);
    await settle();
    expect(ctx.queues.size).toBe(0);
  });

  it('a commit that throws synchronously rejects with its error and does not block the next', async () => {
    const { ctx } = context();
    const error = new Error('thrown before any await');
    const failed = serialize(ctx, KEY, (): Promise<string> => {
      throw error;
    });
    const next = serialize(ctx, KEY, async () => 'next');
    await expect(failed).rejects.toBe(error);
    expect(await next).toBe('next');
    await settle();
    expect(ctx.queues.size).toBe(0);
  });

  it('a commit that rejects does not block the next', async () => {
    const { ctx } = context();
    const error = new Error('store down');
    const failed = serialize(ctx, KEY, async () => Promise.reject(error));
    const next = serialize(ctx, KEY, async () => 'next');
    await expect(failed).rejects.toBe(error);
    expect(await next).toBe('next');
  });
});

describe('the lock-turn queue (takeLease, dropLease)', () => {
  it('a waiter behind a lease of this process never polls the store, and the queue empties at the end', async () => {
    const { ctx, store } = context();
    const first = await takeLease(ctx, KEY);
    const second = takeLease(ctx, KEY);
    await dropLease(ctx, first);
    const lease2 = await second;
    store.reset();
    const third = takeLease(ctx, KEY);
    await settle();
    expect(store.calls.get('lock')).toBeUndefined();
    await dropLease(ctx, lease2);
    const lease3 = await third;
    expect(store.calls.get('lock')).toBe(1);
    await dropLease(ctx, lease3);
    await settle();
    expect(ctx.lockTurns.size).toBe(0);
  });

  it('a lease is taken under a fresh random owner, which unlocks it in the store', async () => {
    const { ctx, store } = context();
    const a = await takeLease(ctx, KEY);
    await dropLease(ctx, a);
    const b = await takeLease(ctx, KEY);
    expect(b.owner).not.toBe(a.owner);
    expect(b.owner).toMatch(/^[A-Za-z0-9_-]{22}$/);
    await dropLease(ctx, b);
    expect(await store.lock!(KEY, { owner: 'someone-else', ttl: 1_000 })).toBe(true);
  });
});
