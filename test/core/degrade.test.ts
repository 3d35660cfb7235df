/**
 * Degraded mode (issue 11, item 10) at the core: `session.degrade(error)` after an outage lets a
 * request end without its session — no write, no `Set-Cookie`, the lock released — and only for an
 * outage: anything else is rethrown. Over a real memory store with the probe store's fault
 * injection; the adapter contract suite covers the same over HTTP on every adapter.
 */

import { describe, expect, it } from 'vitest';
import { isSessionError, StoreError } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { probeStore } from '../support/probe-store.js';
import { manager, request } from './helpers.js';

/** A manager over a probed memory store, with one session holding `{ a: 1 }`. */
async function setup(options: Parameters<typeof manager>[0] = {}) {
  const store = probeStore(memoryStore());
  const m = manager({ store, ...options });
  const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
  store.reset();
  return { m, store, cookie: cookie! };
}

/** What `fn` throws (synchronously or by rejecting). */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('session.degrade(error)', () => {
  it('after a failed load: the request ends with no write, no Set-Cookie, private and varying', async () => {
    const { m, store, cookie } = await setup();
    store.failing.add('get');
    const scope = m.begin({ cookie });
    const error = await thrown(() => scope.session.get('a'));
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect(scope.session.degraded).toBe(false);
    scope.session.degrade(error);
    expect(scope.session.degraded).toBe(true);
    // Every later use is the outage again, never a silent success.
    expect(await thrown(() => scope.session.get('a'))).toBe(error);
    expect(await thrown(() => scope.session.csrfToken())).toBe(error);
    expect(await thrown(() => scope.session.commit())).toBe(error);
    for (const write of [
      () => scope.session.set('b', 2),
      () => scope.session.flash.set('notice', 'x'),
      () => scope.session.login('mallory'),
      () => scope.session.logout(),
      () => scope.session.regenerate(),
      () => scope.session.destroy(),
      () => scope.session.setPersistent(true),
    ]) {
      expect(await thrown(write)).toBe(error);
    }
    const out = await scope.end();
    expect(out).toEqual({
      setCookie: [],
      vary: true,
      varyOn: 'Cookie',
      cacheControl: 'private, no-store',
      clearSiteData: undefined,
    });
    expect([...store.calls.keys()]).toEqual(['get']);
    store.failing.delete('get');
    expect((await request(m, cookie, (s) => s.all())).result).toEqual({ a: 1 });
  });

  it('after a failed commit: pending writes and the rotation are dropped; the old cookie still works', async () => {
    const { m, store, cookie } = await setup();
    const scope = m.begin({ cookie });
    scope.session.set('a', 2);
    scope.session.login('mallory', { persistent: true });
    store.failing.add('set');
    const error = await thrown(() => scope.session.commit());
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    scope.session.degrade(error);
    expect(scope.session.status).toBe('unmodified');
    store.failing.delete('set'); // even with the store back, a degraded request writes nothing
    const out = await scope.end();
    expect(out.setCookie).toEqual([]);
    const after = await request(m, cookie, async (s) => ({
      data: await s.all(),
      user: (await s.meta()).userId,
    }));
    expect(after.result).toEqual({ data: { a: 1 }, user: null });
    expect(after.out.setCookie).toEqual([]);
  });

  it('a logout that failed and was degraded sends neither an expired cookie nor Clear-Site-Data', async () => {
    const { m, store, cookie } = await setup();
    const scope = m.begin({ cookie });
    scope.session.destroy({ clearSiteData: true });
    store.failing.add('delete');
    const error = await thrown(() => scope.session.commit());
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    scope.session.degrade(error);
    const out = await scope.end();
    expect(out.setCookie).toEqual([]);
    expect(out.clearSiteData).toBeUndefined();
    store.failing.delete('delete');
    expect((await request(m, cookie, (s) => s.all())).result).toEqual({ a: 1 });
  });

  it('anything but an outage is rethrown as is; undefined is a StateError; a hand-made StoreError is an outage', async () => {
    const { m, cookie } = await setup();
    const scope = m.begin({ cookie });
    const other = new TypeError('boom');
    expect(await thrown(() => scope.session.degrade(other))).toBe(other);
    const data = await thrown(() => scope.session.set('f', (() => 1) as never));
    expect(isSessionError(data, 'ERR_SESSION_DATA')).toBe(true);
    expect(await thrown(() => scope.session.degrade(data))).toBe(data);
    const missing = await thrown(() => scope.session.degrade(undefined));
    expect(isSessionError(missing, 'ERR_SESSION_STATE')).toBe(true);
    expect(scope.session.degraded).toBe(false);
    // The session is unharmed by the refused calls.
    expect(await scope.session.get('a')).toBe(1);
    scope.session.set('b', 2);
    await scope.end();
    expect((await request(m, cookie, (s) => s.all())).result).toEqual({ a: 1, b: 2 });
    // An outage the handler met elsewhere (e.g. manager.revokeAll) degrades the session too.
    const elsewhere = m.begin({ cookie });
    elsewhere.session.set('c', 3);
    elsewhere.session.degrade(new StoreError('the store failed during revokeAll.'));
    expect((await elsewhere.end()).setCookie).toEqual([]);
    expect((await request(m, cookie, (s) => s.get('c'))).result).toBeUndefined();
  });

  it('lock mode: a lock timeout is degradable, and a degraded request releases the lock it took', async () => {
    const { m, store, cookie } = await setup({ concurrency: 'lock', lock: { wait: 0 } });
    const holder = m.begin({ cookie });
    expect(await holder.session.get('a')).toBe(1);
    const waiter = m.begin({ cookie });
    const timeout = await thrown(() => waiter.session.get('a'));
    expect(isSessionError(timeout, 'ERR_SESSION_LOCK_TIMEOUT')).toBe(true);
    waiter.session.degrade(timeout);
    expect((await waiter.end()).setCookie).toEqual([]);
    // The holder's lock was not touched by the degraded waiter.
    holder.session.set('a', 2);
    await holder.end();
    // Took the lock, then the read failed: degrading releases it for the next request.
    store.failing.add('get');
    const failed = m.begin({ cookie });
    failed.session.degrade(await thrown(() => failed.session.get('a')));
    await failed.end();
    store.failing.delete('get');
    expect((await request(m, cookie, (s) => s.get('a'))).result).toBe(2);
  });
});
