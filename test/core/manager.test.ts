import { describe, expect, it } from 'vitest';
import { createSessionManager, hashSessionId, isSessionError } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { probeStore } from '../support/probe-store.js';
import { clock, cookieOf, manager, request, SECRET } from './helpers.js';

describe('lifecycle', () => {
  it('an untouched request does no store I/O and sets no cookie, even with a valid cookie', async () => {
    const store = probeStore(memoryStore());
    const m = manager({ store });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    store.calls.clear();
    const { out } = await request(m, cookie, () => undefined);
    expect(store.total()).toBe(0);
    expect(out).toEqual({ setCookie: [], vary: false, varyOn: 'Cookie', cacheControl: undefined });
  });

  it('creates a session on first write with a signed 87-character cookie', async () => {
    const m = manager();
    const { out, cookie } = await request(m, undefined, (s) => s.set('user', { name: 'alice' }));
    expect(out.setCookie).toHaveLength(1);
    expect(out.setCookie[0]).toMatch(
      /^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    expect(out.vary).toBe(true);
    expect(out.cacheControl).toBe('private, no-store');
    const { result } = await request(m, cookie, (s) => s.get('user.name'));
    expect(result).toBe('alice');
  });

  it('stores records under the SHA-256 of the id, never the raw id', async () => {
    const store = memoryStore();
    const m = manager({ store });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const id = cookie!.slice(4, 47);
    expect(await store.get(id)).toBeUndefined();
    expect(await store.get(hashSessionId(id))).toBeDefined();
  });

  it('reading an existing session does not write it back', async () => {
    const store = probeStore(memoryStore());
    const m = manager({ store });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    store.calls.clear();
    const { out } = await request(m, cookie, (s) => s.get('a'));
    expect(store.calls.get('get')).toBe(1);
    expect(store.total()).toBe(1);
    expect(out.setCookie).toEqual([]);
    expect(out.vary).toBe(true);
  });

  it('refreshes expiry with one touch, only after touchInterval', async () => {
    const c = clock();
    const store = probeStore(memoryStore({ now: c.now }));
    const m = manager({ store, now: c.now, touchInterval: 60_000 });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    store.calls.clear();
    c.advance(30_000);
    await request(m, cookie, (s) => s.get('a'));
    expect(store.calls.get('touch')).toBeUndefined();
    c.advance(31_000);
    await request(m, cookie, (s) => s.get('a'));
    expect(store.calls.get('touch')).toBe(1);
    expect(store.calls.get('set')).toBeUndefined();
  });

  // The stores below run on the real clock, so only the core's own check (on the injected
  // clock) can expire these sessions: this proves the timeouts are enforced by the core.
  it('enforces the idle timeout server-side', async () => {
    const c = clock(Date.now());
    const m = manager({ now: c.now, idleTimeout: 60_000, touchInterval: 60_000 });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    c.advance(59_000);
    expect((await request(m, cookie, (s) => s.get('a'))).result).toBe(1);
    c.advance(2_000); // 61 s after the last write; the read above was too soon to touch
    const r = await request(m, cookie, (s) => s.get('a'));
    expect(r.result).toBeUndefined();
    expect(m.events).toContainEqual(expect.objectContaining({ type: 'expire', reason: 'idle' }));
  });

  it('a touch moves the idle deadline', async () => {
    const c = clock(Date.now());
    const m = manager({ now: c.now, idleTimeout: 60_000, touchInterval: 10_000 });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    for (let i = 0; i < 5; i++) {
      c.advance(45_000);
      expect((await request(m, cookie, (s) => s.get('a'))).result).toBe(1);
    }
  });

  it('never extends the absolute deadline through activity', async () => {
    const c = clock(Date.now());
    const m = manager({
      now: c.now,
      idleTimeout: 60_000,
      absoluteTimeout: 180_000,
      touchInterval: 0,
    });
    let { cookie } = await request(m, undefined, (s) => s.set('n', 0));
    for (let i = 0; i < 3; i++) {
      c.advance(50_000);
      ({ cookie } = await request(m, cookie, (s) => s.update('n', (n) => Number(n) + 1)));
    }
    c.advance(31_000); // 181 s after creation, 31 s after the last write
    const r = await request(m, cookie, (s) => s.get('n'));
    expect(r.result).toBeUndefined();
    expect(m.events).toContainEqual(
      expect.objectContaining({ type: 'expire', reason: 'absolute' }),
    );
  });

  it('treats forged, malformed and foreign cookies as anonymous and reports them', async () => {
    const m = manager();
    const other = manager({ store: m.store, secrets: ['Zb4sT0aQ1wX9eR7yU3iO5pL8kJ2hG6fD'] });
    const { cookie: foreign } = await request(other, undefined, (s) => s.set('a', 1));
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const flipped = `${cookie!.slice(0, -1)}${cookie!.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [
      foreign,
      flipped,
      'sid=garbage',
      'sid=',
      `sid=${'x'.repeat(5000)}`,
      'sid=a.b.c',
    ]) {
      const r = await request(m, bad, (s) => s.all());
      expect(Object.keys(r.result)).toEqual([]);
      expect(r.out.setCookie).toEqual([]);
    }
    expect(m.events.filter((e) => e.type === 'invalid-cookie').length).toBeGreaterThanOrEqual(2);
  });

  it('regenerate keeps data under a new id and kills the old one', async () => {
    const m = manager();
    const { cookie: first } = await request(m, undefined, (s) => s.set('a', 1));
    const { cookie: second } = await request(m, first, (s) => s.regenerate());
    expect(second).not.toBe(first);
    expect((await request(m, second, (s) => s.get('a'))).result).toBe(1);
    expect((await request(m, first, (s) => s.get('a'))).result).toBeUndefined();
  });

  it('login regenerates, records the user and client, and lists the session', async () => {
    const m = manager();
    const { cookie: anon } = await request(m, undefined, (s) => s.set('cart', [1]));
    const { cookie } = await request(m, anon, (s) => s.login('alice'));
    expect(cookie).not.toBe(anon);
    const { result: meta } = await request(m, cookie, (s) => s.meta());
    expect(meta).toMatchObject({ userId: 'alice', ip: '127.0.0.1', userAgent: 'vitest' });
    const list = await m.listSessions('alice');
    expect(list).toHaveLength(1);
    expect(list[0]!.handle).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await request(m, cookie, (s) => s.get('cart'))).result).toEqual([1]);
  });

  it('invalidate clears data, expires the cookie, and deletes the old record', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const r = await request(m, cookie, (s) => s.invalidate());
    expect(r.out.setCookie[0]).toMatch(/^sid=; Path=\/; Max-Age=0;/);
    expect((await request(m, cookie, (s) => s.get('a'))).result).toBeUndefined();
    const r2 = await request(m, cookie, (s) => {
      s.invalidate();
      s.set('b', 2);
    });
    expect(r2.cookie).not.toBe(cookie);
  });

  it('destroy deletes the record and refuses later writes in the request', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const r = await request(m, cookie, (s) => {
      s.destroy();
      expect(() => s.set('b', 1)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_STATE' }));
    });
    expect(r.out.setCookie[0]).toContain('Max-Age=0');
    expect((await request(m, cookie, (s) => s.all())).result).toEqual({});
  });

  it('persistent sessions get Max-Age up to the absolute deadline; others none', async () => {
    const c = clock(Date.now());
    const m = manager({ absoluteTimeout: 3_600_000, idleTimeout: 60_000, now: c.now });
    const a = await request(m, undefined, (s) => s.set('a', 1));
    expect(a.out.setCookie[0]).not.toContain('Max-Age');
    const b = await request(m, a.cookie, (s) => s.setPersistent(true));
    expect(b.out.setCookie[0]).toContain('Max-Age=3600');
  });

  it('events never carry raw ids', async () => {
    const m = manager();
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    await request(m, cookie, (s) => s.regenerate());
    const id = cookie!.slice(4, 47);
    expect(JSON.stringify(m.events)).not.toContain(id);
    expect(JSON.stringify(m.events)).not.toContain(hashSessionId(id));
  });
});

describe('store outage', () => {
  it('a failed read rejects with ERR_SESSION_STORE (503) and end() sets no cookie', async () => {
    const store = probeStore(memoryStore());
    const m = manager({ store });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    store.failing.add('get');
    const scope = m.begin({ cookie });
    const error = await scope.session.get('a').catch((e: unknown) => e);
    expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
    expect((error as { status: number }).status).toBe(503);
    expect((error as Error).message).not.toContain(cookie!.slice(4, 47));
    await expect(scope.end()).rejects.toMatchObject({ code: 'ERR_SESSION_STORE' });
    expect(m.events).toContainEqual({
      type: 'store-error',
      operation: 'get',
      code: 'ERR_SESSION_STORE',
    });
  });

  it('a failed write rejects end() so no success is sent', async () => {
    const store = probeStore(memoryStore());
    const m = manager({ store });
    store.failing.add('set');
    const scope = m.begin({});
    scope.session.set('a', 1);
    await expect(scope.end()).rejects.toMatchObject({ code: 'ERR_SESSION_STORE', status: 503 });
  });
});

describe('store deadline', () => {
  it('a store call that hangs fails with ERR_SESSION_STORE after storeTimeout, with its signal aborted', async () => {
    const store = memoryStore();
    const hanging = probeStore(store);
    hanging.hanging.add('get'); // never settles, like a client queueing offline
    const m = manager({ store });
    const { cookie } = await request(m, undefined, (s) => s.set('a', 1));
    const slow = manager({ store: hanging, storeTimeout: 50 });
    const scope = slow.begin({ cookie });
    await expect(scope.session.get('a')).rejects.toMatchObject({
      code: 'ERR_SESSION_STORE',
      status: 503,
    });
    const [, args] = hanging.log.find(([method]) => method === 'get') ?? [];
    const seen = (args?.[1] as { signal?: AbortSignal } | undefined)?.signal;
    expect(seen?.aborted).toBe(true);
    expect(slow.events).toContainEqual({
      type: 'store-error',
      operation: 'get',
      code: 'ERR_SESSION_STORE',
    });
  });
});

describe('merge mode across processes (separate managers share one store)', () => {
  // Two managers have separate in-process commit queues, so their commits really race on CAS.
  const pair = () => {
    const store = memoryStore();
    return [manager({ store }), manager({ store })] as const;
  };

  it('concurrent update() increments from two "processes" never lose a write', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.set('n', 0));
    const runs = Array.from({ length: 100 }, (_, i) =>
      request(i % 2 === 0 ? a : b, cookie, (s) => s.update('n', (n) => Number(n ?? 0) + 1)),
    );
    await Promise.all(runs);
    expect((await request(a, cookie, (s) => s.get('n'))).result).toBe(100);
    expect(
      a.events.some((e) => e.type === 'commit' && e.attempts > 1) ||
        b.events.some((e) => e.type === 'commit' && e.attempts > 1),
    ).toBe(true);
  });

  it('blind writes to different keys all survive', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.set('seed', true));
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        request(i % 2 ? a : b, cookie, (s) => s.set(`k.k${i}`, i)),
      ),
    );
    const { result } = await request(a, cookie, (s) => s.get('k'));
    expect(Object.keys(result as object)).toHaveLength(60);
  });

  it('a read-modify-write race fails with a typed conflict instead of losing a write', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.set('x', 1));
    const s1 = a.begin({ cookie });
    const s2 = b.begin({ cookie });
    const v1 = Number(await s1.session.get('x'));
    const v2 = Number(await s2.session.get('x'));
    s1.session.set('x', v1 + 1);
    s2.session.set('x', v2 + 1);
    await s1.end();
    const error = await s2.end().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
      reason: 'read-write',
      keys: ['x'],
      status: 409,
    });
    expect((await request(a, cookie, (s) => s.get('x'))).result).toBe(2);
  });

  it('a slow writer never resurrects a destroyed session', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.set('x', 1));
    const slow = b.begin({ cookie });
    await slow.session.get('x');
    await request(a, cookie, (s) => s.destroy());
    slow.session.set('y', 2);
    await expect(slow.end()).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
      reason: 'destroyed',
    });
    expect((await request(a, cookie, (s) => s.all())).result).toEqual({});
  });

  it('a regenerate racing a write keeps the write (CAS on the old record)', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.set('x', 1));
    const rotating = a.begin({ cookie });
    await rotating.session.get('x');
    await request(b, cookie, (s) => s.set('late', true));
    rotating.session.regenerate();
    const out = await rotating.end();
    const fresh = cookieOf(out);
    expect((await request(a, fresh, (s) => s.all())).result).toEqual({ x: 1, late: true });
    expect((await request(a, cookie, (s) => s.all())).result).toEqual({});
  });

  it('flash is consumed exactly once by parallel readers', async () => {
    const [a, b] = pair();
    const { cookie } = await request(a, undefined, (s) => s.flash.set('notice', 'hello'));
    const reads = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(i % 2 ? a : b, cookie, (s) => s.flash.get('notice')),
      ),
    );
    expect(reads.filter((r) => r.result === 'hello')).toHaveLength(1);
  });

  it('mode none is last-writer-wins (documented lost update)', async () => {
    const store = memoryStore();
    const a = manager({ store, concurrency: 'none' });
    const b = manager({ store, concurrency: 'none' });
    const { cookie } = await request(a, undefined, (s) => s.set('x', 0));
    const s1 = a.begin({ cookie });
    const s2 = b.begin({ cookie });
    await s1.session.get('x');
    await s2.session.get('x');
    s1.session.set('x', 1);
    s2.session.set('x', 2);
    await s1.end();
    await s2.end();
    expect((await request(a, cookie, (s) => s.get('x'))).result).toBe(2);
  });
});

describe('lock mode', () => {
  it('serializes plain get-then-set handlers so none is lost', async () => {
    const store = memoryStore();
    const a = manager({ store, concurrency: 'lock' });
    const b = manager({ store, concurrency: 'lock' });
    const { cookie } = await request(a, undefined, (s) => s.set('n', 0));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        request(i % 2 ? a : b, cookie, async (s) => {
          const n = Number(await s.get('n'));
          await new Promise((r) => setTimeout(r, 1));
          s.set('n', n + 1);
        }),
      ),
    );
    expect((await request(a, cookie, (s) => s.get('n'))).result).toBe(40);
  });

  it('times out with ERR_SESSION_LOCK_TIMEOUT (503 + retryAfter) and releases on abort', async () => {
    const store = memoryStore();
    const m = manager({ store, concurrency: 'lock', lock: { wait: 50 } });
    const { cookie } = await request(m, undefined, (s) => s.set('n', 0));
    const holder = m.begin({ cookie });
    await holder.session.get('n');
    const waiter = m.begin({ cookie });
    const error = await waiter.session.get('n').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SESSION_LOCK_TIMEOUT', status: 503, retryAfter: 1 });
    await holder.abort();
    expect((await request(m, cookie, (s) => s.get('n'))).result).toBe(0);
  });
});

describe('configuration', () => {
  const store = memoryStore();
  it.each([
    ['short secret', { secrets: ['too-short'] }],
    ['demo secret', { secrets: ['keyboard cat keyboard cat keyboard cat'] }],
    ['low entropy', { secrets: ['a'.repeat(64)] }],
    ['no secrets', { secrets: [] }],
    ['__Host- with domain', { cookie: { domain: 'example.com' } }],
    ['__Host- without secure', { cookie: { name: '__Host-x', secure: false } }],
    ['cookie name with ;', { cookie: { name: 'a;b', secure: false } }],
    ['idle > absolute', { idleTimeout: 10_000, absoluteTimeout: 5_000 }],
    ['bad concurrency', { concurrency: 'optimistic' }],
    ['unknown clearSiteData directive', { clearSiteData: ['cookies', 'everything'] }],
    ['empty clearSiteData', { clearSiteData: [] }],
    ['generateId not a function', { generateId: 'abc' }],
    ['now not a function', { now: 1_800_000_000_000 }],
  ])('refuses %s at construction', (_label, patch) => {
    const create = () => createSessionManager({ store, secrets: [SECRET], ...(patch as object) });
    expect(create).toThrow(expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }));
  });

  it('refuses a store without the basic methods', () => {
    expect(() => createSessionManager({ store: {} as never, secrets: [SECRET] })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it('defaults to __Host-sid with Secure', async () => {
    const m = createSessionManager({ store, secrets: [SECRET] });
    const scope = m.begin({});
    scope.session.set('a', 1);
    const out = await scope.end();
    expect(out.setCookie[0]).toMatch(/^__Host-sid=.*; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
  });

  it('key rotation: an old secret still verifies, a removed one does not', async () => {
    const NEW = 'Qm9vdHN0cmFwLXJvdGF0aW9uLWtleS0yMDI2LW5ldw';
    const s1 = memoryStore();
    const old = manager({ store: s1 });
    const { cookie } = await request(old, undefined, (s) => s.set('a', 1));
    const rotated = manager({ store: s1, secrets: [NEW, SECRET] });
    expect((await request(rotated, cookie, (s) => s.get('a'))).result).toBe(1);
    const removed = manager({ store: s1, secrets: [NEW] });
    expect((await request(removed, cookie, (s) => s.get('a'))).result).toBeUndefined();
  });
});
