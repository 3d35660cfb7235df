/**
 * Store-call deadlines (src/core/deadlines.ts): one shared tick — one AbortController, one timer —
 * serves every call started in its window, instead of a controller, a timer and a race per call;
 * a hung call still fails with a StoreError naming its operation, never later than storeTimeout.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { throwIfAborted } from '../../src/core/store.js';
import type { SessionStore } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { probeStore } from '../support/probe-store.js';
import { manager, request } from './helpers.js';

const RealAbortController = globalThis.AbortController;
const realSetTimeout = globalThis.setTimeout;

/** Count AbortControllers and timers made while `work` runs (the globals are restored after). */
async function counting(
  work: () => Promise<void>,
): Promise<{ controllers: number; timers: number }> {
  const made = { controllers: 0, timers: 0 };
  globalThis.AbortController = class extends RealAbortController {
    constructor() {
      super();
      made.controllers++;
    }
  };
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    made.timers++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  try {
    await work();
  } finally {
    globalThis.AbortController = RealAbortController;
    globalThis.setTimeout = realSetTimeout;
  }
  return made;
}

afterEach(() => {
  globalThis.AbortController = RealAbortController;
  globalThis.setTimeout = realSetTimeout;
});

describe('store deadlines without a timer per call', () => {
  it('1000 store calls within one tick make one AbortController and one timer, not one each', async () => {
    const store = probeStore(memoryStore({ sweepInterval: 0 }));
    // A tick admits calls for storeTimeout / 16: an hour's deadline keeps the whole run in one.
    const m = manager({ store, storeTimeout: 16 * 3_600_000 });
    let cookie: string | undefined;
    const made = await counting(async () => {
      ({ cookie } = await request(m, undefined, (s) => s.set('n', 0)));
      for (let i = 0; i < 500; i++) {
        ({ cookie } = await request(m, cookie, (s) => s.update('n', (n) => Number(n) + 1)));
      }
    });
    expect(store.total()).toBeGreaterThanOrEqual(1000); // a read and a write per request
    expect(made).toEqual({ controllers: 1, timers: 1 });
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(500);
  });

  it('the store gets the tick’s shared signal; a call after the tick expired gets a fresh one', async () => {
    const store = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = manager({ store, storeTimeout: 200 });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const signals = (): AbortSignal[] =>
      store.log.map(([, args]) => (args.at(-1) as { signal: AbortSignal }).signal);
    store.log.length = 0;
    await request(m, cookie, (s) => s.get('a'));
    const [first] = signals();
    expect(first).toBeInstanceOf(AbortSignal);
    // The tick expires storeTimeout after it opened: its signal is aborted then, with a StoreError.
    await new Promise((resolve) => realSetTimeout(resolve, 1_000));
    expect(first?.aborted).toBe(true);
    expect(first?.reason).toMatchObject({ code: 'ERR_SESSION_STORE' });
    store.log.length = 0;
    expect((await request(m, cookie, (s) => s.get('a'))).result).toBe(1);
    const [second] = signals();
    expect(second).not.toBe(first);
    expect(second?.aborted).toBe(false);
  });

  it('a hung call fails with a StoreError naming its operation; a fast call beside it succeeds', async () => {
    const store = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = manager({ store, storeTimeout: 300 });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    store.hanging.add('set');
    const failed = request(m, cookie, (s) => s.set('b', 2));
    const fast = request(m, cookie, (s) => s.get('a'));
    await expect(failed).rejects.toMatchObject({
      code: 'ERR_SESSION_STORE',
      message: expect.stringContaining('did not answer set within 300 ms'),
    });
    expect((await fast).result).toBe(1);
    expect(m.events).toContainEqual({
      type: 'store-error',
      operation: 'set',
      code: 'ERR_SESSION_STORE',
    });
  });

  it('a scan that outlives a tick is not aborted when an earlier step’s tick expires', async () => {
    const inner = memoryStore({ sweepInterval: 0 });
    // Every step checks its signal; each read takes 40 ms, so six records outlive storeTimeout.
    const store: SessionStore = {
      ...inner,
      name: 'slow-scan',
      async get(key, o) {
        await new Promise((resolve) => realSetTimeout(resolve, 40));
        return inner.get(key, o);
      },
      async *ids(o) {
        for await (const key of inner.ids!()) {
          throwIfAborted(o?.signal);
          yield key;
        }
      },
    };
    const seed = manager({ store: inner, encrypt: true });
    for (let i = 0; i < 6; i++) await request(seed, undefined, (s) => s.set('i', i));
    const m = manager({ store, storeTimeout: 120, encrypt: true });
    const result = await m.reseal();
    expect(result.scanned).toBe(6);
  });

  it('the memory store itself runs without deadlines; a copy of it, which may wait, keeps them', async () => {
    // memoryStore() settles every call before returning (markInProcess): no deadline could end
    // one, so its calls make no AbortController and no timer, and get no signal.
    const inner = memoryStore({ sweepInterval: 0 });
    const seen: (AbortSignal | undefined)[] = [];
    const m = manager({ store: inner, storeTimeout: 16 * 3_600_000 });
    const made = await counting(async () => {
      let { cookie } = await request(m, undefined, (s) => s.set('n', 0));
      for (let i = 0; i < 50; i++) {
        ({ cookie } = await request(m, cookie, (s) => s.update('n', (n) => Number(n) + 1)));
      }
      expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(50);
    });
    expect(made).toEqual({ controllers: 0, timers: 0 });
    // A spread copy is another object: it may add waiting of its own (here: a get that hangs),
    // so it is bounded by storeTimeout again.
    const copy: SessionStore = {
      ...inner,
      get(_key, o) {
        seen.push(o?.signal);
        return new Promise(() => undefined);
      },
    };
    const bounded = manager({ store: copy, storeTimeout: 200 });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    await expect(request(bounded, cookie, (s) => s.get('a'))).rejects.toMatchObject({
      code: 'ERR_SESSION_STORE',
      message: expect.stringContaining('did not answer get within 200 ms'),
    });
    expect(seen[0]).toBeInstanceOf(AbortSignal);
  });

  it('a failing call of the memory store is still a StoreError with its store-error event', async () => {
    // The memory store's only failure here: its injected clock throws inside get.
    let broken = false;
    const clock = (): number => {
      if (broken) throw new Error('clock unplugged');
      return Date.now();
    };
    const m = manager({ store: memoryStore({ sweepInterval: 0, now: clock }) });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    broken = true;
    const failed = request(m, cookie, (s) => s.get('a'));
    await expect(failed).rejects.toMatchObject({
      code: 'ERR_SESSION_STORE',
      message: 'The memory session store failed during get.',
      cause: { message: 'clock unplugged' },
    });
    expect(m.events).toContainEqual({
      type: 'store-error',
      operation: 'get',
      code: 'ERR_SESSION_STORE',
    });
  });
});
