/**
 * The rules of the lock mode's leases (`src/core/locks.ts`), pinned with exact values: the fence
 * before every write (a lease held `lock.ttl` by the manager clock or by the wall clock, or whose
 * renewal the store refuses, cannot write: `lock-lost`), the renewal that restarts the lease, the
 * unlock at the end of a request, the `LockTimeoutError` and its event, the in-process turn queue
 * (only its head polls the store; a waiter that timed out passes its turn on), the `lock-wait`
 * diagnostics event, and the one-at-a-time commit queue per session. A memory store under a
 * manager on a test clock; the wall clock is faked (`Date` only) where a rule reads it.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENT_CHANNEL } from '../../src/core/diagnostics.js';
import type { SessionManagerOptions, SessionStore } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { clock, manager, request } from './helpers.js';

const TTL = 10_000;

/** What a test does to the store's `lock` and `set` calls (fault injection). */
interface Hooks {
  /** Refuse this many more `lock` calls (as if another process held the lock). */
  refuse: number;
  /** Runs first on every `lock` call. */
  onLock?: (() => void) | undefined;
  /** `lock` calls so far. */
  locks: number;
  /** Runs first on every `set` call; the call waits for what it returns. */
  onSet?: (() => Promise<void>) | undefined;
}

/** A memory store whose `lock` and `set` go through {@link Hooks}. */
function hooked(): { inner: SessionStore; store: SessionStore; hooks: Hooks } {
  const inner = memoryStore({ sweepInterval: 0 });
  const hooks: Hooks = { refuse: 0, locks: 0 };
  const store: SessionStore = {
    ...inner,
    async lock(key, options) {
      hooks.locks++;
      hooks.onLock?.();
      if (hooks.refuse > 0) {
        hooks.refuse--;
        return false;
      }
      return inner.lock!(key, options);
    },
    async set(key, record, options) {
      await hooks.onSet?.();
      return inner.set(key, record, options);
    },
  };
  return { inner, store, hooks };
}

function setup(options: Partial<SessionManagerOptions> = {}) {
  const c = clock(Date.now());
  const { inner, store, hooks } = hooked();
  const m = manager({ store, now: c.now, concurrency: 'lock', lock: { ttl: TTL }, ...options });
  /** A session holding `n: 0`; resolves its cookie and its store key. */
  const seed = async () => {
    const { cookie } = await request(m, undefined, (s) => s.set('n', 0));
    const { result } = await request(m, cookie, (s) => s.handle());
    return { cookie: cookie!, key: result! };
  };
  const n = async (cookie: string) => (await request(m, cookie, (s) => s.get('n'))).result;
  return { c, inner, store, hooks, m, seed, n };
}

/** Fake the wall clock only (`Date`); timers stay real. */
function fakeWallClock(): void {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
}

/** Move the faked wall clock by `ms`. */
function advanceWall(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the fence before a write', () => {
  it('a lease held lock.ttl by the manager clock cannot write: lock-lost 409, one conflict event, record unchanged', async () => {
    const { c, m, seed, n } = setup();
    const { cookie, key } = await seed();
    const scope = m.begin({ cookie });
    expect(await scope.session.get('n')).toBe(0);
    c.advance(TTL);
    scope.session.set('n', 1);
    const error = await scope.end().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SESSION_CONFLICT', status: 409, reason: 'lock-lost' });
    expect(m.events.filter((e) => e.type === 'conflict')).toEqual([
      { type: 'conflict', handle: key.slice(0, 12), reason: 'lock-lost' },
    ]);
    expect(await n(cookie)).toBe(0);
  });

  it('a lease held lock.ttl - 1 ms by the manager clock still writes', async () => {
    const { c, m, seed, n } = setup();
    const { cookie } = await seed();
    const scope = m.begin({ cookie });
    await scope.session.get('n');
    c.advance(TTL - 1);
    scope.session.set('n', 1);
    await scope.end();
    expect(m.events.filter((e) => e.type === 'conflict')).toEqual([]);
    expect(await n(cookie)).toBe(1);
  });

  it('a lease held lock.ttl by the wall clock cannot write (the manager clock did not move)', async () => {
    fakeWallClock();
    const { m, seed, n } = setup();
    const { cookie } = await seed();
    const scope = m.begin({ cookie });
    await scope.session.get('n');
    advanceWall(TTL);
    scope.session.set('n', 1);
    const error = await scope.end().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SESSION_CONFLICT', reason: 'lock-lost' });
    expect(await n(cookie)).toBe(0);
  });

  it('a lease held lock.ttl - 1 ms by the wall clock still writes', async () => {
    fakeWallClock();
    const { m, seed, n } = setup();
    const { cookie } = await seed();
    const scope = m.begin({ cookie });
    await scope.session.get('n');
    advanceWall(TTL - 1);
    scope.session.set('n', 1);
    await scope.end();
    expect(await n(cookie)).toBe(1);
  });

  it('a lease the store refuses to renew cannot write, though no clock moved', async () => {
    const { m, hooks, seed, n } = setup();
    const { cookie, key } = await seed();
    const scope = m.begin({ cookie });
    await scope.session.get('n');
    hooks.refuse = 1;
    scope.session.set('n', 1);
    const error = await scope.end().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SESSION_CONFLICT', reason: 'lock-lost' });
    expect(m.events.filter((e) => e.type === 'conflict')).toEqual([
      { type: 'conflict', handle: key.slice(0, 12), reason: 'lock-lost' },
    ]);
    expect(await n(cookie)).toBe(0);
  });

  it('each fenced write renews the lease: two writes lock.ttl - 1 ms apart by the manager clock both land', async () => {
    const { c, m, seed, n } = setup();
    const { cookie } = await seed();
    const scope = m.begin({ cookie });
    await scope.session.get('n');
    c.advance(TTL - 1);
    scope.session.set('n', 1);
    await scope.session.commit();
    c.advance(TTL - 1);
    scope.session.set('n', 2);
    await scope.end();
    expect(m.events.filter((e) => e.type === 'conflict')).toEqual([]);
    expect(await n(cookie)).toBe(2);
  });

  it('each fenced write renews the lease: two writes lock.ttl - 1 ms apart by the wall clock both land', async () => {
    fakeWallClock();
    const { m, seed, n } = setup();
    const { cookie } = await seed();
    const scope = m.begin({ cookie });
    await scope.session.get('n');
    advanceWall(TTL - 1);
    scope.session.set('n', 1);
    await scope.session.commit();
    advanceWall(TTL - 1);
    scope.session.set('n', 2);
    await scope.end();
    expect(await n(cookie)).toBe(2);
  });

  it('outside the lock mode a write takes no lock at all', async () => {
    const { m, hooks, seed, n } = setup({ concurrency: 'merge' });
    const { cookie } = await seed();
    await request(m, cookie, (s) => s.set('n', 1));
    expect(hooks.locks).toBe(0);
    expect(await n(cookie)).toBe(1);
  });
});

describe('giving the lock back', () => {
  it('the end of a request unlocks in the store: another owner takes the lock at once', async () => {
    const { m, inner, seed } = setup();
    const { cookie, key } = await seed();
    await request(m, cookie, (s) => s.set('n', 1));
    expect(await inner.lock!(key, { owner: 'another-process', ttl: TTL })).toBe(true);
  });

  it('a request that failed with lock-lost still unlocks', async () => {
    const { c, m, inner, seed } = setup();
    const { cookie, key } = await seed();
    const scope = m.begin({ cookie });
    await scope.session.get('n');
    c.advance(TTL);
    scope.session.set('n', 1);
    await scope.end().catch(() => undefined);
    expect(await inner.lock!(key, { owner: 'another-process', ttl: TTL })).toBe(true);
  });
});

describe('waiting for the lock', () => {
  it('held by another process: LockTimeoutError with the wait by the manager clock, Retry-After, one lock-timeout event', async () => {
    const { c, m, hooks, store, seed } = setup({ lock: { ttl: TTL, wait: 50 } });
    const { cookie, key } = await seed();
    const other = manager({ store, concurrency: 'lock', lock: { ttl: TTL } });
    const holder = other.begin({ cookie });
    await holder.session.get('n');
    let first = true;
    hooks.onLock = () => {
      if (first) c.advance(700);
      first = false;
    };
    const waiter = m.begin({ cookie });
    const error = await waiter.session.get('n').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_SESSION_LOCK_TIMEOUT',
      status: 503,
      retryAfter: 1,
      message: 'Timed out after 700 ms waiting for the session lock.',
    });
    expect(m.events.filter((e) => e.type === 'lock-timeout')).toEqual([
      { type: 'lock-timeout', handle: key.slice(0, 12) },
    ]);
    hooks.onLock = undefined;
    await holder.end();
    // The waiter's turn in this process ended with its failure: the next request goes first.
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(0);
  });

  it('Retry-After is lock.wait rounded up to whole seconds', async () => {
    const { m, store, seed } = setup({ lock: { ttl: TTL, wait: 1_001 } });
    const { cookie } = await seed();
    const other = manager({ store, concurrency: 'lock', lock: { ttl: TTL } });
    const holder = other.begin({ cookie });
    await holder.session.get('n');
    const error = await m
      .begin({ cookie })
      .session.get('n')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SESSION_LOCK_TIMEOUT', retryAfter: 2 });
    await holder.end();
  });

  it('behind a request of the same process: waits in its queue without polling the store, and passes its turn on when it times out', async () => {
    const { m, hooks, seed } = setup({ lock: { ttl: TTL, wait: 50 } });
    const { cookie } = await seed();
    const holder = m.begin({ cookie });
    await holder.session.get('n');
    const before = hooks.locks;
    const error = await m
      .begin({ cookie })
      .session.get('n')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_SESSION_LOCK_TIMEOUT',
      message: 'Timed out after 0 ms waiting for the session lock.',
    });
    expect(hooks.locks).toBe(before);
    await holder.end();
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(0);
  });
});

describe('the wall-clock deadline of the wait', () => {
  it('gives up at exactly lock.wait by the wall clock: two refused polls 40 ms apart for a wait of 80 ms', async () => {
    fakeWallClock();
    const { m, hooks, seed } = setup({ lock: { ttl: TTL, wait: 80 } });
    const { cookie } = await seed();
    const before = hooks.locks;
    hooks.onLock = () => advanceWall(40);
    hooks.refuse = 10;
    const error = await m
      .begin({ cookie })
      .session.get('n')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SESSION_LOCK_TIMEOUT' });
    expect(hooks.locks - before).toBe(2);
  });

  it('a wait of 81 ms polls a third time, and takes the lock when the store grants it', async () => {
    fakeWallClock();
    const { m, hooks, seed } = setup({ lock: { ttl: TTL, wait: 81 } });
    const { cookie } = await seed();
    const before = hooks.locks;
    hooks.onLock = () => advanceWall(40);
    hooks.refuse = 2;
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(0);
    expect(hooks.locks - before).toBe(3);
  });
});

describe('the lock-wait diagnostics event', () => {
  /** Run `fn` while collecting the `lock-wait` messages on the event channel. */
  async function lockWaits(fn: () => Promise<void>): Promise<unknown[]> {
    const seen: unknown[] = [];
    const listen = (message: unknown): void => {
      if ((message as { type: string }).type === 'lock-wait') seen.push(message);
    };
    subscribe(EVENT_CHANNEL, listen);
    try {
      await fn();
    } finally {
      unsubscribe(EVENT_CHANNEL, listen);
    }
    return seen;
  }

  it('a lock taken after a refusal publishes lock-wait with the wall-clock wait', async () => {
    fakeWallClock();
    const { m, hooks, store, seed } = setup();
    const { cookie, key } = await seed();
    hooks.onLock = () => advanceWall(40);
    const seen = await lockWaits(async () => {
      hooks.refuse = 1;
      await request(m, cookie, (s) => s.get('n'));
    });
    expect(seen).toEqual([
      { store: store.name, type: 'lock-wait', handle: key.slice(0, 12), waited: 80 },
    ]);
  });

  it('a lock taken after waiting behind a request of the same process publishes lock-wait', async () => {
    fakeWallClock();
    const { m, hooks, store, seed } = setup();
    const { cookie, key } = await seed();
    const seen = await lockWaits(async () => {
      const holder = m.begin({ cookie });
      await holder.session.get('n');
      hooks.onLock = () => advanceWall(40);
      const waiter = request(m, cookie, (s) => s.get('n'));
      advanceWall(25);
      await holder.end();
      await waiter;
    });
    expect(seen).toEqual([
      { store: store.name, type: 'lock-wait', handle: key.slice(0, 12), waited: 65 },
    ]);
  });

  it('a lock taken at once publishes nothing', async () => {
    const { m, seed } = setup();
    const { cookie } = await seed();
    const seen = await lockWaits(async () => {
      await request(m, cookie, (s) => s.get('n'));
    });
    expect(seen).toEqual([]);
  });
});

describe('the commit queue', () => {
  it('commits of one session in one process run one at a time', async () => {
    const { m, hooks, seed, n } = setup({ concurrency: 'merge' });
    const { cookie } = await seed();
    let inFlight = 0;
    let most = 0;
    hooks.onSet = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
    };
    const a = m.begin({ cookie });
    const b = m.begin({ cookie });
    await a.session.get('n');
    await b.session.get('m');
    a.session.set('a', 1);
    b.session.set('b', 2);
    await Promise.all([a.end(), b.end()]);
    expect(most).toBe(1);
    expect((await request(m, cookie, (s) => s.all())).result).toEqual({ n: 0, a: 1, b: 2 });
    expect(await n(cookie)).toBe(0);
  });
});
