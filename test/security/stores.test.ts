/**
 * Attack suite — a user's sessions under concurrency, on every store kind (SECURITY.md §7, §19):
 * the per-user limit holds under parallel logins, and a lock holder whose lease lapsed cannot
 * write. Real stores (`test/support/backends.ts`; the synchronous ones behind a jittering
 * `probeStore` so that requests interleave), the real node adapter over HTTP.
 */

import type { Agent, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession } from '../../src/adapters/node.js';
import { hashSessionId } from '../../src/core/keys.js';
import {
  generateSecret,
  isSessionError,
  type Session,
  type SessionManager,
  type SessionManagerOptions,
  type SessionStore,
} from '../../src/index.js';
import { sleep } from '../stores/conformance.js';
import { ALL_KINDS, type Backend, SYNCHRONOUS, tryBackend } from '../support/backends.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';
import {
  BURST_TIMEOUT,
  cookieOf,
  keepAliveAgent,
  LOCK_WAIT,
  listenLocal,
  type Reply,
  STORE_TIMEOUT,
  send,
} from '../support/torture-app.js';

/** A running app over one store. */
interface App {
  url: string;
  manager: SessionManager;
  /** The store key (handle) of a `name=value` cookie pair. */
  keyOf(cookie: string): string;
  /** Session errors the handlers' commits met (the adapter then answers with their status). */
  errors: unknown[];
  /** Resolved once `POST /slow-set` has loaded its session (and, in lock mode, holds the lock). */
  loaded: Promise<void>;
  /** Let `POST /slow-set` write. */
  release(): void;
  close(): Promise<void>;
}

/**
 * Routes (writes are committed in the handler, so that it sees the typed error and records it in
 * `errors`): `POST /login?user=U`; `POST /set?k=K&v=V` (a blind write: `k` is never read);
 * `POST /slow-set?k=K&v=V` (loads, waits for `release()`, then writes blindly); `POST /read-set
 * ?k=K&v=V&r=R` (reads `r`, waits for `release()`, then writes `k`); `POST /logout-everywhere
 * [?keep=1[&rotate=1]]` (`revokeAll` of the signed-in user, except this session with `keep`, which
 * `rotate` then regenerates) → `{ count }`;
 * `GET /whoami` → `{ userId, data }`.
 */
async function startApp(
  store: SessionStore,
  options: Partial<SessionManagerOptions> = {},
): Promise<App> {
  const manager = testManager({
    store,
    secrets: [generateSecret()],
    lock: { wait: LOCK_WAIT },
    storeTimeout: STORE_TIMEOUT,
    ...options,
  });
  const errors: unknown[] = [];
  let loaded!: () => void;
  let release!: () => void;
  const gates = {
    loaded: new Promise<void>((resolve) => {
      loaded = resolve;
    }),
    released: new Promise<void>((resolve) => {
      release = resolve;
    }),
  };
  const commit = (session: Session): Promise<void> =>
    session.commit().catch((error: unknown) => {
      errors.push(error);
      throw error;
    });
  const json = (res: ServerResponse, body: unknown, status = 200): void => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  const handler = withSession(manager, async (req, res, session) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = (name: string): string => url.searchParams.get(name) ?? '';
    switch (`${req.method} ${url.pathname}`) {
      case 'POST /login':
        session.login(q('user'));
        await commit(session);
        return json(res, { ok: true });
      case 'POST /set':
        session.set(q('k'), q('v'));
        await commit(session);
        return json(res, { ok: true });
      case 'POST /slow-set':
        await session.load();
        loaded();
        await gates.released;
        session.set(q('k'), q('v'));
        await commit(session);
        return json(res, { ok: true });
      case 'POST /read-set': {
        const seen = await session.get(q('r'));
        loaded();
        await gates.released;
        session.set(q('k'), `${q('v')} saw ${String(seen)}`);
        await commit(session);
        return json(res, { ok: true });
      }
      case 'POST /logout-everywhere': {
        const { userId } = await session.meta();
        if (userId === null) return json(res, { error: 'anonymous' }, 401);
        const handle = await session.handle();
        const except = q('keep') === '1' && handle !== undefined ? [handle] : [];
        const count = await manager.revokeAll(userId, { except });
        if (q('rotate') === '1') session.regenerate(); // and a new id for this device
        return json(res, { count });
      }
      case 'GET /whoami':
        return json(res, { userId: (await session.meta()).userId, data: await session.all() });
      default:
        return json(res, { error: 'not found' }, 404);
    }
  });
  const served = await listenLocal(handler);
  return {
    ...served,
    manager,
    keyOf: (cookie) => hashSessionId(cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!),
    errors,
    loaded: gates.loaded,
    release,
    async close() {
      release();
      await served.close();
    },
  };
}

describe.each(ALL_KINDS)('user sessions under attack on %s', (kind) => {
  let backend: Backend | undefined;
  let skip: string | undefined;
  let agent: Agent;
  const apps: App[] = [];
  /** The store as the apps see it: jittered when synchronous, so requests interleave. */
  const store = (): SessionStore =>
    SYNCHRONOUS.has(kind) ? probeStore(backend!.store, { jitter: 2 }) : backend!.store;
  // One secret for every app of a kind: apps over one store are one application's processes.
  const secret = generateSecret();
  const open = async (
    options: Partial<SessionManagerOptions>,
    over: SessionStore = store(),
  ): Promise<App> => {
    const app = await startApp(over, { secrets: [secret], ...options });
    apps.push(app);
    return app;
  };
  const post = (app: App, path: string, cookie?: string): Promise<Reply> =>
    send(agent, app.url, 'POST', path, cookie);
  const get = (app: App, path: string, cookie?: string): Promise<Reply> =>
    send(agent, app.url, 'GET', path, cookie);
  /** Live sessions of `userId` as the store lists them (not through the manager). */
  const liveInStore = async (userId: string): Promise<number> =>
    (await backend!.store.listByUser!(userId)).filter((e) => e.record.expiresAt > Date.now())
      .length;

  beforeAll(async () => {
    const opened = await tryBackend(kind);
    if (opened.backend === undefined) skip = opened.reason;
    else backend = opened.backend;
    agent = keepAliveAgent();
  });
  afterAll(async () => {
    agent?.destroy();
    for (const app of apps) await app.close();
    await backend?.cleanup();
  });

  it(
    'limit reject: 20 parallel logins with a limit of 3 leave 3 live sessions; 17 get SessionLimitError',
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const app = await open({ maxSessionsPerUser: 3, sessionLimit: 'reject' });
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => post(app, '/login?user=limit-r')),
      );
      const admitted = replies.filter((r) => r.status === 200);
      const refused = replies.filter((r) => r.status !== 200);
      expect(refused.map((r) => r.status)).toEqual(Array(refused.length).fill(403));
      expect(refused.flatMap((r) => r.setCookie)).toEqual([]);
      expect(app.errors.map((e) => isSessionError(e, 'ERR_SESSION_LIMIT'))).toEqual(
        Array(refused.length).fill(true),
      );
      expect(admitted).toHaveLength(3);
      expect(await liveInStore('limit-r')).toBe(3);
      expect(await app.manager.listSessions('limit-r')).toHaveLength(3);
      for (const reply of admitted) {
        const who = await get(app, '/whoami', cookieOf(reply));
        expect(who.body).toMatchObject({ userId: 'limit-r' });
      }
      // Full: one more login is refused, sequentially too.
      expect((await post(app, '/login?user=limit-r')).status).toBe(403);
      expect(app.errors.filter((e) => isSessionError(e, 'ERR_SESSION_LIMIT'))).toHaveLength(18);
    },
    BURST_TIMEOUT,
  );

  it(
    'limit evict-oldest: 20 parallel logins all succeed and leave at most 3 live sessions',
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const app = await open({ maxSessionsPerUser: 3, sessionLimit: 'evict-oldest' });
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => post(app, '/login?user=limit-e')),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
      const live = await liveInStore('limit-e');
      expect(live).toBeGreaterThanOrEqual(1);
      expect(live).toBeLessThanOrEqual(3);
      expect((await app.manager.listSessions('limit-e')).length).toBe(live);
    },
    BURST_TIMEOUT,
  );

  /**
   * Lock mode, one session (`seed=1`) and two apps: `stale` (a 300 ms lease) has loaded it in
   * `POST /slow-set?k=x&v=stale` and waits there until its lease has lapsed in the store; `next`
   * may take the lock. `refused()` lets the stale write go and expects it answered 409.
   */
  const lapsedHolder = async () => {
    const stale = await open({ concurrency: 'lock', lock: { ttl: 300, wait: LOCK_WAIT } });
    const next = await open({ concurrency: 'lock' });
    const cookie = cookieOf(await post(next, '/set?k=seed&v=1'));
    const late = post(stale, '/slow-set?k=x&v=stale', cookie);
    await stale.loaded;
    await sleep(900); // the stale holder's 300 ms lease lapses in the store
    const refused = async (): Promise<Reply> => {
      stale.release();
      const reply = await late;
      expect(reply.status).toBe(409);
      return reply;
    };
    return { stale, next, cookie, refused };
  };

  it(
    'lock fencing: a holder whose lease lapsed cannot write a key it never read over the next holder (409 lock-lost)',
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const { stale, next, cookie, refused } = await lapsedHolder();
      expect((await post(next, '/set?k=x&v=next', cookie)).status).toBe(200);
      const reply = await refused();
      expect(reply.setCookie).toEqual([]);
      expect(stale.errors).toEqual([expect.objectContaining({ reason: 'lock-lost' })]);
      expect((await get(next, '/whoami', cookie)).body).toMatchObject({
        data: { seed: '1', x: 'next' },
      });
    },
    BURST_TIMEOUT,
  );

  it(
    'lock fencing: a holder whose lease lapsed cannot write while the next holder holds the lock',
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const { stale, next, cookie, refused } = await lapsedHolder();
      // The next holder takes the lapsed lock and reads `x`; meanwhile the stale one writes it.
      const holder = post(next, '/read-set?k=y&v=next&r=x', cookie);
      await next.loaded;
      await refused();
      expect(stale.errors).toEqual([expect.objectContaining({ reason: 'lock-lost' })]);
      next.release();
      expect((await holder).status).toBe(200);
      const { data } = (await get(next, '/whoami', cookie)).body as { data: object };
      expect(data).toEqual({ seed: '1', y: 'next saw undefined' });
    },
    BURST_TIMEOUT,
  );

  /** Sign `userId` in `n` times (one device each); resolves the cookies. */
  const devices = async (app: App, userId: string, n: number): Promise<string[]> => {
    const cookies: string[] = [];
    for (let i = 0; i < n; i++) {
      const reply = await post(app, `/login?user=${userId}`);
      expect(reply.status).toBe(200);
      cookies.push(cookieOf(reply)!);
    }
    return cookies;
  };
  const whoami = async (app: App, cookie: string): Promise<unknown> =>
    ((await get(app, '/whoami', cookie)).body as { userId: unknown }).userId;

  it(
    'revokeAll is final when the store fails after deleting 2 of 5 sessions: all 5 are anonymous at once',
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const probe = probeStore(backend!.store);
      const app = await open({}, probe);
      const five = await devices(app, 'rev-partial', 5);
      const [bystander] = await devices(app, 'rev-bystander', 1);
      // The cleanup gets through 2 of the 5 records, then the store fails.
      for (const cookie of five.slice(0, 2)) await backend!.store.delete(app.keyOf(cookie));
      probe.failing.add('deleteByUser');
      const revoked = await post(app, '/logout-everywhere', five[4]);
      probe.failing.clear();
      expect(revoked.status).toBe(200); // the revocation itself took effect
      for (const cookie of five) expect(await whoami(app, cookie)).toBeNull();
      expect(await whoami(app, bystander!)).toBe('rev-bystander');
      expect(await app.manager.listSessions('rev-partial')).toEqual([]);
      // A later sign-in is not affected.
      const [again] = await devices(app, 'rev-partial', 1);
      expect(await whoami(app, again!)).toBe('rev-partial');
    },
    BURST_TIMEOUT,
  );

  it(
    'revokeAll except the current device: with a failing cleanup the others are anonymous, the current one stays signed in',
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const probe = probeStore(backend!.store);
      const app = await open({}, probe);
      const four = await devices(app, 'rev-keep', 4);
      probe.failing.add('deleteByUser');
      // The current device is kept, and the same request then gives it a new id.
      const reply = await post(app, '/logout-everywhere?keep=1&rotate=1', four[3]);
      probe.failing.clear();
      expect(reply.status).toBe(200);
      const current = cookieOf(reply)!;
      expect(current).not.toBe(four[3]);
      for (const cookie of four) expect(await whoami(app, cookie)).toBeNull();
      expect(await whoami(app, current)).toBe('rev-keep');
      // The kept session keeps working, writes and a new id (re-authentication) included, and
      // the next revokeAll that does not keep it revokes it.
      expect((await post(app, '/set?k=after&v=1', current)).status).toBe(200);
      const rotated = await post(app, '/login?user=rev-keep', current);
      const kept = cookieOf(rotated)!;
      expect(kept).not.toBe(current);
      expect(await whoami(app, kept)).toBe('rev-keep');
      expect((await app.manager.listSessions('rev-keep')).map((i) => i.handle)).toEqual([
        app.keyOf(kept),
      ]);
      const [other] = await devices(app, 'rev-keep', 1);
      expect((await post(app, '/logout-everywhere', other)).status).toBe(200);
      expect(await whoami(app, kept)).toBeNull();
    },
    BURST_TIMEOUT,
  );

  it(
    'revokeAll is final against a login whose write lands after its deletes',
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const slow = probeStore(backend!.store);
      const loginApp = await open({}, slow);
      const app = await open({});
      const [current] = await devices(app, 'rev-race', 1);
      // The login has started writing (after anything it read) when revokeAll runs; its write
      // lands after revokeAll listed and deleted the user's sessions.
      slow.delays.set('set', 4000);
      const racing = post(loginApp, '/login?user=rev-race');
      while ((slow.calls.get('set') ?? 0) === 0) await sleep(10);
      expect((await post(app, '/logout-everywhere', current)).status).toBe(200);
      const login = await racing;
      slow.delays.clear();
      expect(login.status).toBe(200);
      expect(await whoami(app, cookieOf(login)!)).toBeNull();
      expect(await whoami(app, current!)).toBeNull();
    },
    BURST_TIMEOUT,
  );

  it('the revocation check costs signed-in loads one small read and anonymous requests none', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const probe = probeStore(backend!.store);
    const app = await open({}, probe);
    const [cookie] = await devices(app, 'rev-cost', 1);
    probe.reset();
    expect(await whoami(app, cookie!)).toBe('rev-cost');
    expect(probe.log.map(([method]) => method)).toEqual(['get', 'get']);
    probe.reset();
    expect(await whoami(app, '')).toBeNull();
    expect(probe.log).toEqual([]);
  });
});
