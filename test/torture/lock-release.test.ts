/**
 * Lock mode end to end, per store: the session lock is released on every path (commit, handler
 * throws, regenerate — old and new id —, destroy, store error), and a holder whose lease lapsed
 * cannot overwrite the next holder's work (its commit is fenced by the version CAS).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import type { SessionStore } from '../../src/core/store.js';
import {
  generateSecret,
  type SessionManager,
  type SessionManagerOptions,
} from '../../src/index.js';
import { ALL_KINDS, type Backend, tryBackend } from '../support/backends.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';

type Data = Record<string, unknown>;
const KINDS = ALL_KINDS;

describe.each(KINDS)('lock mode on %s', (kind) => {
  let backend: Backend | undefined;
  let skip: string | undefined;
  const secret = generateSecret();
  beforeAll(async () => {
    const opened = await tryBackend(kind);
    if (opened.backend === undefined) skip = opened.reason;
    else backend = opened.backend;
  });
  afterAll(async () => {
    await backend?.cleanup();
  });

  function manager(
    store: SessionStore = backend!.store,
    options: Partial<SessionManagerOptions> = {},
  ): SessionManager<Data, Data> {
    return testManager<Data, Data>({
      store,
      secrets: [secret],
      concurrency: 'lock',
      lock: { wait: 200, ttl: 10_000 },
      ...options,
    });
  }
  async function seed(m: SessionManager<Data, Data>): Promise<string> {
    const scope = m.begin({});
    scope.session.set('counter', 0);
    return (await scope.end()).setCookie[0]!.split(';')[0]!;
  }
  /** `true` when nobody holds `key`'s lock (checked by taking and giving it back). */
  async function free(key: string): Promise<boolean> {
    const store = backend!.store;
    const ok = await store.lock!(key, { owner: 'probe', ttl: 10_000 });
    if (ok) await store.unlock!(key, { owner: 'probe' });
    return ok;
  }
  async function held(m: SessionManager<Data, Data>, cookie: string) {
    const scope = m.begin({ cookie });
    const handle = (await scope.session.handle())!;
    expect(await free(handle)).toBe(false); // held while the request runs
    return { scope, handle };
  }

  it('is held during the request and released after a commit', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const m = manager();
    const { scope, handle } = await held(m, await seed(m));
    scope.session.set('counter', 1);
    await scope.end();
    expect(await free(handle)).toBe(true);
  });

  it('is released when the handler throws (the adapter aborts the scope)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const m = manager();
    const cookie = await seed(m);
    const { scope, handle } = await held(m, cookie);
    scope.session.set('counter', 99);
    await scope.abort();
    expect(await free(handle)).toBe(true);
    // Nothing of the failed request was written, and the next request gets the lock at once.
    const next = m.begin({ cookie });
    expect(await next.session.get('counter')).toBe(0);
    await next.end();
  });

  it('is released for the old and the new id after regenerate', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const m = manager();
    const { scope, handle } = await held(m, await seed(m));
    scope.session.regenerate();
    const out = await scope.end();
    const fresh = out.setCookie[0]!.split(';')[0]!;
    const after = m.begin({ cookie: fresh });
    const newHandle = (await after.session.handle())!;
    await after.end();
    expect(newHandle).not.toBe(handle);
    expect(await free(handle)).toBe(true);
    expect(await free(newHandle)).toBe(true);
  });

  it('is released after destroy', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const m = manager();
    const { scope, handle } = await held(m, await seed(m));
    scope.session.destroy();
    await scope.end();
    expect(await free(handle)).toBe(true);
    await expect(backend!.store.get(handle)).resolves.toBeUndefined();
  });

  it('is released when the commit fails with a store error (503)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const faulty = probeStore(backend!.store);
    const m = manager(faulty);
    const cookie = await seed(m);
    const scope = m.begin({ cookie });
    const handle = (await scope.session.handle())!;
    scope.session.set('counter', 5);
    faulty.failing.add('set');
    const error = await scope.end().catch((e: unknown) => e);
    faulty.failing.clear();
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect(await free(handle)).toBe(true);
  });

  it('a second request waits, then times out with ERR_SESSION_LOCK_TIMEOUT (503, Retry-After)', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const m = manager();
    const cookie = await seed(m);
    const other = manager(); // another process: its own local queue
    const { scope } = await held(m, cookie);
    const waiting = other.begin({ cookie });
    const error = await waiting.session.get('counter').catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_LOCK_TIMEOUT')).toBe(true);
    expect((error as { status?: number }).status).toBe(503);
    await waiting.abort();
    await scope.end();
  });

  it('an expired holder’s late read-modify-write is fenced, not written over the next holder’s', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const slow = manager(backend!.store, { lock: { ttl: 150, wait: 200 } });
    const fast = manager(backend!.store, { lock: { ttl: 10_000, wait: 2000 } });
    const cookie = await seed(slow);
    const a = slow.begin({ cookie });
    const seen = Number(await a.session.get('counter')); // takes the lock (150 ms lease)
    await new Promise((r) => setTimeout(r, 300)); // A stalls past its lease
    const b = fast.begin({ cookie }); // B takes the lapsed lock
    const current = Number(await b.session.get('counter'));
    b.session.set('counter', current + 10);
    await b.end();
    a.session.set('counter', seen + 1); // A's late write, computed from what it read
    const error = await a.end().catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_CONFLICT')).toBe(true);
    const check = fast.begin({ cookie });
    expect(await check.session.get('counter')).toBe(10);
    await check.end();
  });
});
