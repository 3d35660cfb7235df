/**
 * The tiered store (Redis over PostgreSQL) with its persistent tier cut mid-run: the rules of
 * `docs/stores/tiered.md` ("When a tier is down"), request class by request class. Which
 * sessions the cache holds when the cut happens is set up explicitly (warmed or evicted, and
 * checked on the cache itself), so every request has exactly one right answer:
 *
 * - a read of a cached session → 200 with the cached data, no Set-Cookie;
 * - a read of an uncached session, a write, a lock-mode request, a new visitor, a logout and an
 *   expiry refresh (touch) → 503 without Set-Cookie (the client keeps its cookie);
 * - a session whose write, touch or logout failed is no longer served from the cache (the call
 *   may have landed), and one destroyed before the cut is never served;
 * - once restored, every session holds exactly what was committed before the cut.
 */

import type { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionStore } from '../../src/core/store.js';
import { generateSecret } from '../../src/index.js';
import { tieredStore } from '../../src/stores/tiered.js';
import { type Backend, POSTGRES_URL, tryBackend } from '../support/backends.js';
import { proxiedUrl, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import {
  cookieOf,
  keepAliveAgent,
  type Reply,
  send,
  startTortureApp,
  type TortureApp,
} from '../support/torture-app.js';

const MINUTE = 60_000;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

/** A session as the client and the test know it. */
interface Visitor {
  cookie: string;
  /** Its store key. */
  handle: string;
  /** `GET /state` before the cut. */
  state: { handle: string; data: Record<string, unknown> };
}

describe('tiered store, persistent tier (PostgreSQL) cut mid-run', () => {
  const opened: Backend[] = [];
  let skip: string | undefined;
  let proxy: TcpProxy | undefined;
  let cache: SessionStore;
  let persistent: SessionStore;
  let app: TortureApp;
  let agent: Agent;
  /** Added to the manager's clock: moves sessions past the touch interval. */
  let skew = 0;

  beforeAll(async () => {
    proxy = await startTcpProxy(Number(new URL(POSTGRES_URL).port || 5432));
    for (const [kind, opts] of [
      ['redis', {}],
      ['postgres', { postgresUrl: proxiedUrl(POSTGRES_URL, proxy) }],
    ] as const) {
      const result = await tryBackend(kind, opts);
      if (result.backend === undefined) {
        skip = result.reason;
        return;
      }
      opened.push(result.backend);
    }
    cache = opened[0]!.store;
    persistent = opened[1]!.store;
    const store = tieredStore({ cache, persistent });
    app = await startTortureApp(store, generateSecret(), {
      storeTimeout: 2000,
      now: () => Date.now() + skew,
    });
    agent = keepAliveAgent();
  });
  afterAll(async () => {
    agent?.destroy();
    await app?.close();
    proxy?.restore();
    for (const backend of opened) await backend.cleanup();
    await proxy?.close();
  });

  const post = (path: string, cookie?: string): Promise<Reply> =>
    send(agent, app.url, 'POST', path, cookie);
  const get = (path: string, cookie?: string): Promise<Reply> =>
    send(agent, app.url, 'GET', path, cookie);

  /** A new session with `counter` 2 (and a pending flash), committed to both tiers. */
  async function visitor(): Promise<Visitor> {
    const cookie = cookieOf(await post('/seed'))!;
    for (let i = 0; i < 2; i++) expect((await post('/update', cookie)).status).toBe(200);
    const state = (await get('/state', cookie)).body as Visitor['state'];
    expect(state.data).toMatchObject({ counter: 2 });
    return { cookie, handle: state.handle, state };
  }
  /** Evict `v` from the cache, then let one read fill it again; checked on the cache. */
  async function warm(v: Visitor): Promise<void> {
    await cache.delete(v.handle);
    expect((await get('/read', v.cookie)).status).toBe(200);
    const stored = await persistent.get(v.handle);
    expect(stored).toBeDefined();
    expect(await cache.get(v.handle)).toEqual(stored);
  }
  /** Evict `v` from the cache; checked on the cache. */
  async function evict(v: Visitor): Promise<void> {
    await cache.delete(v.handle);
    expect(await cache.get(v.handle)).toBeUndefined();
  }
  /** What every refused request looks like: 503, no cookie set or cleared, no session data. */
  function refused(replies: Reply[]): void {
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 503));
    expect(replies.flatMap((r) => r.setCookie)).toEqual([]);
    for (const r of replies) expect(r.body).not.toHaveProperty('counter');
  }

  it('serves reads of cached sessions, refuses everything that needs PostgreSQL, resurrects nothing', async (ctx) => {
    if (skip) return ctx.skip(skip);
    // r: cached, read; u: uncached, read; w: cached, written; l: cached, lock mode;
    // x: cached, logs out during the cut; t: cached, read past the touch interval;
    // d: logged out before the cut (its client still sends the cookie).
    const [r, u, w, l, x, t, d] = await Promise.all(Array.from({ length: 7 }, () => visitor()));
    for (const v of [r, w, l, x, t]) await warm(v!);
    await evict(u!);
    expect((await post('/logout', d!.cookie)).status).toBe(200);
    expect(await cache.get(d!.handle)).toBeUndefined();
    expect(await persistent.get(d!.handle)).toBeUndefined();

    proxy!.cut();
    const [cached, state, uncached, writes, locked, logout, destroyed, fresh] = await Promise.all([
      Promise.all(Array.from({ length: 3 }, () => get('/read', r!.cookie))),
      get('/state', r!.cookie),
      Promise.all(Array.from({ length: 3 }, () => get('/read', u!.cookie))),
      Promise.all(Array.from({ length: 3 }, () => post('/update', w!.cookie))),
      Promise.all(Array.from({ length: 2 }, () => post('/lock/incr', l!.cookie))),
      post('/logout', x!.cookie),
      Promise.all(Array.from({ length: 2 }, () => get('/read', d!.cookie))),
      Promise.all(Array.from({ length: 3 }, () => post('/seed'))),
    ]);
    // Cached reads: the cached data, and the client's cookie untouched.
    for (const reply of [...cached, state]) {
      expect(reply.status).toBe(200);
      expect(reply.setCookie).toEqual([]);
    }
    for (const reply of cached) expect(reply.body).toEqual({ counter: 2 });
    expect(state.body).toEqual(r!.state);
    // Everything that must reach PostgreSQL is refused.
    refused([...uncached, ...writes, ...locked, logout, ...destroyed, ...fresh]);
    // A failed write or logout may have landed: its cache entry is gone, so later reads are
    // refused too (never the pre-logout data). A failed lock wrote nothing: still cached.
    expect(await cache.get(w!.handle)).toBeUndefined();
    expect(await cache.get(x!.handle)).toBeUndefined();
    expect(await cache.get(l!.handle)).toBeDefined();
    refused(await Promise.all([get('/read', w!.cookie), get('/read', x!.cookie)]));
    expect((await get('/read', l!.cookie)).body).toEqual({ counter: 2 });
    expect((await get('/read', r!.cookie)).body).toEqual({ counter: 2 });

    // Past the touch interval, a cached read must refresh the expiry in PostgreSQL: refused,
    // and its cache entry dropped (the touch may have landed).
    skew = 2 * MINUTE;
    refused([await get('/read', t!.cookie)]);
    expect(await cache.get(t!.handle)).toBeUndefined();
    skew = 0;

    const failed = new Set(
      app.events.flatMap((e) => (e.type === 'store-error' ? [e.operation] : [])),
    );
    expect([...failed].sort()).toEqual(['delete', 'get', 'lock', 'set', 'touch']);

    proxy!.restore();
    // Service resumes once the pool reconnects (bounded: fails the test, never hangs it). An
    // uncached read needs PostgreSQL, so it tells when it is back.
    let resumed: Reply | undefined;
    for (let i = 0; i < 100 && resumed?.status !== 200; i++) {
      resumed = await get('/read', u!.cookie);
      if (resumed.status !== 200) await new Promise((done) => setTimeout(done, 100));
    }
    expect(resumed?.status).toBe(200);
    // Nothing half-written: every session holds what was committed before the cut; the one
    // destroyed before it stays destroyed.
    for (const v of [r, u, w, l, x, t])
      expect((await get('/state', v!.cookie)).body).toEqual(v!.state);
    expect((await get('/state', d!.cookie)).body).toEqual({ handle: null, data: null });
    const next = await post('/update', w!.cookie);
    expect(next.status).toBe(200);
    expect(next.setCookie).toEqual([]);
    expect(next.body).toEqual({ counter: 3 });
    expect(unhandled).toEqual([]);
  }, 60_000);
});
