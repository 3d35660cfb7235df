/**
 * The rules of a server-side request's lifecycle (`src/core/lifecycle.ts`) that the broader
 * suites pass through without pinning: which presented cookie value is used and what is reported
 * for the others, re-issuing a cookie signed under an old secret, the fingerprint policies'
 * effects on the record (and on a grace forward), what `load` keeps after `invalidate()`, the
 * single touch and its expiry, the state `commit` and `end` leave behind, `commitEarly`'s retries,
 * and the `load` message on the diagnostics channel. Real manager, real memory store, test clock.
 */

import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { signCookieValue } from '../../src/core/cookie-value.js';
import { EVENT_CHANNEL } from '../../src/core/diagnostics.js';
import { createKeyRing, generateSessionId, hashSessionId } from '../../src/core/keys.js';
import type { SessionManagerOptions } from '../../src/index.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { hybridStore } from '../../src/stores/hybrid.js';
import { memoryStore } from '../../src/stores/memory.js';
import { probeStore } from '../support/probe-store.js';
import { clock, manager, request, SECRET } from './helpers.js';

const IP = '127.0.0.1';

function setup(options: Partial<SessionManagerOptions> = {}) {
  const c = clock(Date.now());
  const inner = memoryStore({ sweepInterval: 0 });
  const store = probeStore(inner);
  const m = manager({ store, now: c.now, ...options });
  return { c, inner, store, m };
}

/** The id inside a `sid=<id>.<signature>` cookie. */
function idOf(cookie: string): string {
  return cookie.slice(4, 47);
}

/** The 12-character handle of a session id, as events carry it. */
function handleOfId(id: string): string {
  return hashSessionId(id).slice(0, 12);
}

describe('which presented cookie value is used', () => {
  it('a forged value before a genuine one: the genuine session, one signature event, no malformed event', async () => {
    const { m } = setup();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const ring = createKeyRing(randomBytes(32).toString('base64url'));
    const forged = `sid=${signCookieValue(ring, generateSessionId())}`;
    m.events.length = 0;
    const r = await request(m, `${forged}; ${cookie}`, (s) => s.get('a'));
    expect(r.result).toBe(1);
    expect(r.out.setCookie).toEqual([]);
    expect(m.events).toEqual([{ type: 'invalid-cookie', reason: 'signature', ip: IP }]);
  });

  it('a malformed value before a genuine one is not reported; two malformed values alone are reported once', async () => {
    const { m } = setup();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    m.events.length = 0;
    expect((await request(m, `sid=garbage; ${cookie}`, (s) => s.get('a'))).result).toBe(1);
    expect(m.events).toEqual([]);
    const r = await request(m, 'sid=garbage; sid=a.b', (s) => s.all());
    expect(r.result).toEqual({});
    expect(m.events).toEqual([{ type: 'invalid-cookie', reason: 'malformed', ip: IP }]);
  });

  it('only forged values: one signature event each, and no malformed event', async () => {
    const { m } = setup();
    const ring = createKeyRing(randomBytes(32).toString('base64url'));
    const one = `sid=${signCookieValue(ring, generateSessionId())}`;
    const two = `sid=${signCookieValue(ring, generateSessionId())}`;
    await request(m, `${one}; ${two}`, (s) => s.all());
    expect(m.events).toEqual([
      { type: 'invalid-cookie', reason: 'signature', ip: IP },
      { type: 'invalid-cookie', reason: 'signature', ip: IP },
    ]);
  });
});

describe('a cookie signed under an older secret', () => {
  it('is re-issued once, for the same id, under the primary secret', async () => {
    const NEW = 'Qm9vdHN0cmFwLXJvdGF0aW9uLWtleS0yMDI2LW5ldw';
    const inner = memoryStore({ sweepInterval: 0 });
    const old = manager({ store: inner });
    const { cookie } = await request(old, undefined, (s) => s.set('a', 1));
    const rotated = manager({ store: inner, secrets: [NEW, SECRET] });
    const r = await request(rotated, cookie, (s) => s.get('a'));
    expect(r.result).toBe(1);
    expect(r.out.setCookie).toEqual([
      `sid=${signCookieValue(createKeyRing([NEW]), idOf(cookie!))}; Path=/; HttpOnly; SameSite=Lax`,
    ]);
    // The re-issued cookie verifies under the new secret alone, and is not re-issued again.
    const next = await request(manager({ store: inner, secrets: [NEW] }), r.cookie, (s) =>
      s.get('a'),
    );
    expect([next.result, next.out.setCookie]).toEqual([1, []]);
  });
});

describe('fingerprint policies at load', () => {
  it('destroy: the record is deleted, with a mismatch event then a destroy event for its handle', async () => {
    const { m, inner } = setup({ fingerprint: { ip: true, userAgent: false, policy: 'destroy' } });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const key = hashSessionId(idOf(cookie!));
    m.events.length = 0;
    const scope = m.begin({ cookie, ip: '203.0.113.9', userAgent: 'vitest' });
    expect(await scope.session.get('a')).toBeUndefined();
    const out = await scope.end();
    expect(out.setCookie).toEqual([]);
    expect(m.events).toEqual([
      { type: 'fingerprint-mismatch', handle: key.slice(0, 12), policy: 'destroy' },
      { type: 'destroy', handle: key.slice(0, 12) },
    ]);
    expect(await inner.get(key)).toBeUndefined();
  });

  it('destroy through a grace forward deletes nothing: the forward still serves the client it belongs to', async () => {
    const { m, inner } = setup({
      regenerateGrace: 10_000,
      fingerprint: { ip: true, userAgent: false, policy: 'destroy' },
    });
    const { cookie: first } = await request(m, undefined, (s) => s.set('a', 1));
    const { cookie: second } = await request(m, first, (s) => s.regenerate());
    const oldKey = hashSessionId(idOf(first!));
    const forward = await inner.get(oldKey);
    const stolen = m.begin({ cookie: first, ip: '203.0.113.9', userAgent: 'vitest' });
    expect(await stolen.session.get('a')).toBeUndefined();
    expect((await stolen.end()).setCookie).toEqual([]);
    expect(await inner.get(oldKey)).toEqual(forward);
    expect((await request(m, first, (s) => s.get('a'))).result).toBe(1);
    expect((await request(m, second, (s) => s.get('a'))).result).toBe(1);
  });

  it('flag: the session and its record stay, flagged, with one mismatch event', async () => {
    const { m, inner } = setup({ fingerprint: { userAgent: true, policy: 'flag' } });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const key = hashSessionId(idOf(cookie!));
    const record = await inner.get(key);
    m.events.length = 0;
    const scope = m.begin({ cookie, ip: IP, userAgent: 'Other/1.0' });
    expect(await scope.session.get('a')).toBe(1);
    expect(scope.session.flagged).toBe(true);
    expect((await scope.end()).setCookie).toEqual([]);
    expect(m.events).toEqual([
      { type: 'fingerprint-mismatch', handle: key.slice(0, 12), policy: 'flag' },
    ]);
    expect(await inner.get(key)).toEqual(record);
  });
});

describe('what load keeps', () => {
  it('invalidate() before the load: the old data is not carried into the new session', async () => {
    const { m, inner } = setup();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const r = await request(m, cookie, (s) => {
      s.invalidate();
      s.set('b', 2);
    });
    expect(idOf(r.cookie!)).not.toBe(idOf(cookie!));
    expect((await request(m, r.cookie, (s) => s.all())).result).toEqual({ b: 2 });
    expect(await inner.get(hashSessionId(idOf(cookie!)))).toBeUndefined();
  });

  it('a write to a loaded session commits in one attempt, on the version it loaded', async () => {
    const { m, store } = setup();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    await request(m, cookie, (s) => s.set('a', 2));
    store.reset();
    m.events.length = 0;
    await request(m, cookie, (s) => s.update('a', (n) => Number(n) + 1));
    expect([store.calls.get('get'), store.calls.get('set')]).toEqual([1, 1]);
    expect(m.events).toEqual([{ type: 'commit', handle: handleOfId(idOf(cookie!)), attempts: 1 }]);
    const record = await store.get(hashSessionId(idOf(cookie!)));
    expect(record!.version).toBe(3);
  });

  it('a blind write (nothing read) loads first and keeps the data it does not touch', async () => {
    const { m, store } = setup();
    const { cookie } = await request(m, undefined, (s) => s.merge({ a: 1, b: 1 }));
    store.reset();
    await request(m, cookie, (s) => s.set('b', 2));
    expect([store.calls.get('get'), store.calls.get('set')]).toEqual([1, 1]);
    expect((await request(m, cookie, (s) => s.all())).result).toEqual({ a: 1, b: 2 });
  });
});

describe('touch', () => {
  const IDLE = 60_000;
  const TOUCH = 10_000;

  it('touches at exactly touchInterval after the last write, to now + idle, with a touch event', async () => {
    const { c, m, store, inner } = setup({ idleTimeout: IDLE, touchInterval: TOUCH });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const key = hashSessionId(idOf(cookie!));
    c.advance(TOUCH - 1);
    store.reset();
    m.events.length = 0;
    await request(m, cookie, (s) => s.get('a'));
    expect(store.calls.get('touch')).toBeUndefined();
    c.advance(1);
    await request(m, cookie, (s) => s.get('a'));
    expect(store.calls.get('touch')).toBe(1);
    expect(m.events).toEqual([{ type: 'touch', handle: key.slice(0, 12) }]);
    expect((await inner.get(key))!.expiresAt).toBe(c.now() + IDLE);
  });

  it('near the absolute deadline a touch stops at it', async () => {
    const { c, m, inner } = setup({
      idleTimeout: IDLE,
      absoluteTimeout: 100_000,
      touchInterval: TOUCH,
    });
    const t0 = c.now();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    c.advance(40_000);
    await request(m, cookie, (s) => s.set('a', 2)); // expires at t0 + 100 000 (the absolute cap)
    const key = hashSessionId(idOf(cookie!));
    expect((await inner.get(key))!.expiresAt).toBe(t0 + 100_000);
    c.advance(TOUCH + 5_000); // now + idle is past the cap; the touch would move it 0 ms
    m.events.length = 0;
    await request(m, cookie, (s) => s.get('a'));
    expect(m.events).toEqual([]);
    expect((await inner.get(key))!.expiresAt).toBe(t0 + 100_000);
  });

  it('one touch per request, though the request commits twice', async () => {
    const { c, m, store } = setup({ idleTimeout: IDLE, touchInterval: TOUCH });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    c.advance(TOUCH);
    store.reset();
    const scope = m.begin({ cookie, ip: IP });
    expect(await scope.session.get('a')).toBe(1);
    await scope.session.commit();
    await scope.end();
    expect(store.calls.get('touch')).toBe(1);
  });
});

describe('what commit and end leave behind', () => {
  it('after an invalidate committed early the session is unmodified, and end deletes nothing more', async () => {
    const { m, store } = setup();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    store.reset();
    const scope = m.begin({ cookie, ip: IP });
    scope.session.invalidate();
    expect(scope.session.status).toBe('modified');
    await scope.session.commit();
    expect(scope.session.status).toBe('unmodified');
    const out = await scope.end();
    expect(out.setCookie).toEqual([
      'sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    ]);
    expect([store.calls.get('get'), store.calls.get('delete')]).toEqual([1, 1]);
  });

  it('a second end() sends no cookie again: the client holds it now', async () => {
    const { m } = setup();
    const scope = m.begin({ ip: IP });
    scope.session.set('a', 1);
    expect((await scope.end()).setCookie).toHaveLength(1);
    expect(await scope.end()).toEqual({
      setCookie: [],
      vary: true,
      varyOn: 'Cookie',
      token: undefined,
      cacheControl: 'private, no-store',
      clearSiteData: undefined,
    });
  });

  it('a second end() after setPersistent sends no cookie again', async () => {
    const { m } = setup();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const scope = m.begin({ cookie, ip: IP });
    scope.session.setPersistent(true);
    expect((await scope.end()).setCookie).toHaveLength(1);
    expect((await scope.end()).setCookie).toEqual([]);
  });

  it('a persistent cookie lives until the absolute deadline, counted from the end of the request', async () => {
    const { c, m } = setup({ absoluteTimeout: 3_600_000 });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    c.advance(600_000);
    const r = await request(m, cookie, (s) => s.setPersistent(true));
    expect(r.out.setCookie[0]).toMatch(
      /^sid=[\w-]{43}\.[\w-]{43}; Path=\/; Max-Age=3000; Expires=/,
    );
  });
});

describe('commitEarly: flash consumption on its own compare-and-set', () => {
  /** A session holding the flash `notice: 'hi'`, and a manager over a probed store. */
  async function flashed(options: Partial<SessionManagerOptions> = {}) {
    const env = setup(options);
    const { cookie } = await request(env.m, undefined, (s) => s.flash.set('notice', 'hi'));
    env.store.reset();
    env.m.events.length = 0;
    return { ...env, cookie: cookie! };
  }

  it('a write after the flash was taken in the same request commits in one attempt and keeps it taken', async () => {
    const { m, store, cookie } = await flashed();
    const r = await request(m, cookie, async (s) => {
      const notice = await s.flash.get('notice');
      s.set('a', 1);
      return notice;
    });
    expect(r.result).toBe('hi');
    expect(store.calls.get('set')).toBe(2);
    expect(m.events).toEqual([{ type: 'commit', handle: handleOfId(idOf(cookie)), attempts: 1 }]);
    expect((await request(m, cookie, (s) => s.flash.get('notice'))).result).toBeUndefined();
    expect((await request(m, cookie, (s) => s.get('a'))).result).toBe(1);
  });

  it('taking the flash slides the expiry: no touch at the end of that request', async () => {
    const { c, m, store, cookie } = await flashed({ touchInterval: 10_000 });
    c.advance(20_000);
    expect((await request(m, cookie, (s) => s.flash.get('notice'))).result).toBe('hi');
    expect([store.calls.get('set'), store.calls.get('touch')]).toEqual([1, undefined]);
  });

  it('a lost race is retried up to maxRetries: with 1 the second attempt wins', async () => {
    const { m, store, cookie } = await flashed({ maxRetries: 1 });
    const slow = m.begin({ cookie, ip: IP });
    expect(await slow.session.get('x')).toBeUndefined();
    await request(m, cookie, (s) => s.set('x', 1)); // bumps the version under the slow request
    store.reset();
    expect(await slow.session.flash.get('notice')).toBe('hi');
    await slow.end();
    expect([store.calls.get('set'), store.calls.get('get')]).toEqual([2, 1]);
    expect((await request(m, cookie, (s) => s.all())).result).toEqual({ x: 1 });
  });

  it('with maxRetries 0 a lost race fails after one attempt, and the flash stays', async () => {
    const { m, store, cookie } = await flashed({ maxRetries: 0 });
    const slow = m.begin({ cookie, ip: IP });
    expect(await slow.session.get('x')).toBeUndefined();
    await request(m, cookie, (s) => s.set('x', 1));
    store.reset();
    await expect(slow.session.flash.get('notice')).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
      reason: 'retries-exhausted',
    });
    expect(store.calls.get('set')).toBe(1);
    expect((await request(m, cookie, (s) => s.flash.get('notice'))).result).toBe('hi');
  });

  it('a session destroyed meanwhile has no flash to take: undefined, not an error', async () => {
    const { m, cookie } = await flashed();
    const slow = m.begin({ cookie, ip: IP });
    expect(await slow.session.get('x')).toBeUndefined();
    await request(m, cookie, (s) => s.destroy());
    expect(await slow.session.flash.get('notice')).toBeUndefined();
  });

  it('in lock mode the take is fenced: after the lease lapsed it fails with lock-lost and takes nothing', async () => {
    const { c, m, cookie } = await flashed({ concurrency: 'lock', lock: { ttl: 5_000 } });
    const scope = m.begin({ cookie, ip: IP });
    expect(await scope.session.get('x')).toBeUndefined();
    c.advance(5_000);
    await expect(scope.session.flash.get('notice')).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
      reason: 'lock-lost',
    });
    await scope.abort();
    expect((await request(m, cookie, (s) => s.flash.get('notice'))).result).toBe('hi');
  });
});

describe('the load message on the diagnostics channel', () => {
  it('names the store, the handle and whether a session was found', async () => {
    const { m } = setup();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const seen: unknown[] = [];
    const listener = (message: unknown) => {
      if ((message as { type: string }).type === 'load') seen.push(message);
    };
    subscribe(EVENT_CHANNEL, listener);
    try {
      await request(m, cookie, (s) => s.get('a'));
      await request(m, undefined, (s) => s.get('a'));
    } finally {
      unsubscribe(EVENT_CHANNEL, listener);
    }
    expect(seen).toEqual([
      { store: 'memory', type: 'load', handle: handleOfId(idOf(cookie!)), found: true },
      { store: 'memory', type: 'load', handle: undefined, found: false },
    ]);
  });
});

describe('delete and touch need a session', () => {
  it('destroy: the record goes, with one destroy event for its handle', async () => {
    const { m, inner } = setup();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    m.events.length = 0;
    await request(m, cookie, (s) => s.destroy());
    const key = hashSessionId(idOf(cookie!));
    expect(m.events).toEqual([{ type: 'destroy', handle: key.slice(0, 12) }]);
    expect(await inner.get(key)).toBeUndefined();
  });

  it('in lock mode a destroy after the lease lapsed fails with lock-lost and deletes nothing', async () => {
    const { c, m, inner } = setup({ concurrency: 'lock', lock: { ttl: 5_000 } });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const scope = m.begin({ cookie, ip: IP });
    expect(await scope.session.get('a')).toBe(1);
    scope.session.destroy();
    c.advance(5_000);
    await expect(scope.end()).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
      reason: 'lock-lost',
    });
    expect((await inner.get(hashSessionId(idOf(cookie!))))?.version).toBe(1);
  });

  it('a read without a cookie, or a destroy of a session never stored, makes no store call', async () => {
    const { m, store } = setup({ touchInterval: 0 });
    const read = await request(m, undefined, (s) => s.get('a'));
    const gone = await request(m, undefined, (s) => s.destroy());
    expect([read.out.setCookie, gone.out.setCookie]).toEqual([[], []]);
    expect(store.total()).toBe(0);
    expect(m.events).toEqual([]);
  });
});

describe('hybrid: the server side of a hybrid store', () => {
  function hybrid() {
    const inner = memoryStore({ sweepInterval: 0 });
    const probe = probeStore(inner);
    const m = manager({ store: hybridStore({ store: probe }) });
    return { inner, probe, m };
  }

  /** Every key `store` holds. */
  async function collect(store: { ids?: () => AsyncIterable<string> }): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of store.ids!()) keys.push(key);
    return keys;
  }

  /** Every `load` message published while `fn` runs. */
  async function loads(fn: () => Promise<unknown>): Promise<unknown[]> {
    const seen: unknown[] = [];
    const listener = (message: unknown) => {
      if ((message as { type: string }).type === 'load') seen.push(message);
    };
    subscribe(EVENT_CHANNEL, listener);
    try {
      await fn();
    } finally {
      unsubscribe(EVENT_CHANNEL, listener);
    }
    return seen;
  }

  it('a stateless token never goes through the server-side load; a signed id does, once', async () => {
    const { m } = hybrid();
    const { cookie: sealed } = await request(m, undefined, (s) => s.set('a', 1));
    const { cookie: signed } = await request(m, undefined, (s) => s.login('ivan'));
    const handle = (await request(m, signed, (s) => s.handle())).result!;
    const seen = await loads(async () => {
      expect((await request(m, sealed, (s) => s.get('a'))).result).toBe(1);
      expect((await request(m, undefined, (s) => s.get('a'))).result).toBeUndefined();
      expect((await request(m, signed, async (s) => (await s.meta()).userId)).result).toBe('ivan');
    });
    expect(seen).toEqual([
      { store: 'hybrid-memory', type: 'load', handle: handle.slice(0, 12), found: true },
    ]);
  });

  it('a signed id without a live record: the request stays stateless, and a write there is sealed, not stored', async () => {
    const { m, inner } = hybrid();
    const { cookie: signed } = await request(m, undefined, (s) => s.login('kim'));
    await request(m, signed, (s) => s.destroy());
    const r = await request(m, signed, (s) => s.set('a', 1));
    expect(r.cookie).toMatch(/^sid=[\w-]{1,16}\.[\w-]{16}\.[\w-]{22,}$/);
    expect(await collect(inner)).toEqual([]);
    expect((await request(m, r.cookie, (s) => s.all())).result).toEqual({ a: 1 });
  });

  it('a read made while the fallback to the stateless side is still opening waits for it', async () => {
    const { m, probe } = hybrid();
    const { cookie: sealed } = await request(m, undefined, (s) => s.set('a', 1));
    const { cookie: signed } = await request(m, undefined, (s) => s.login('lee'));
    await request(m, signed, (s) => s.destroy());
    const scope = m.begin({ cookie: `${signed}; ${sealed}`, ip: IP });
    // The second get is the stateless side's denylist read: the server side has just given up.
    let gets = 0;
    let during: Promise<unknown> | undefined;
    probe.failWhen = ([method]) => {
      if (method === 'get' && ++gets === 2) during = scope.session.get('a');
      return false;
    };
    expect(await scope.session.get('a')).toBe(1);
    expect(gets).toBe(2);
    expect(await during).toBe(1);
    await scope.end();
  });

  it('after a failed load, a login at the end moves nothing server-side: end rejects with the outage', async () => {
    const { m, probe } = hybrid();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    probe.failing.add('get');
    const scope = m.begin({ cookie, ip: IP });
    const failure = await scope.session.get('a').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'ERR_SESSION_STORE' });
    probe.failing.delete('get');
    probe.reset();
    scope.session.login('judy');
    await expect(scope.end()).rejects.toBe(failure);
    expect(probe.total()).toBe(0);
    expect(await m.listSessions('judy')).toEqual([]);
  });
});

describe('a stateless store', () => {
  it('a value shaped like a signed id is a stateless token that does not open, not a server-side guess', async () => {
    const m = manager({ store: cookieStore() });
    const value = signCookieValue(createKeyRing([SECRET]), generateSessionId());
    const r = await request(m, `sid=${value}`, (s) => s.all());
    expect([r.result, r.out.setCookie]).toEqual([{}, []]);
    expect(m.events).toEqual([{ type: 'invalid-cookie', reason: 'malformed', ip: IP }]);
  });
});

describe('a signed-in session at load', () => {
  it('revoked by revokeAll whose cleanup failed: its record is still there, yet it loads as anonymous', async () => {
    const { m, store, inner } = setup();
    const { cookie } = await request(m, undefined, (s) => {
      s.set('a', 1);
      s.login('mia');
    });
    store.failing.add('deleteByUser');
    expect(await m.revokeAll('mia')).toBe(1);
    store.failing.delete('deleteByUser');
    expect(await inner.get(hashSessionId(idOf(cookie!)))).toBeDefined();
    const r = await request(m, cookie, async (s) => [await s.all(), (await s.meta()).userId]);
    expect(r.result).toEqual([{}, null]);
  });
});
