/**
 * Attack suite — a user's sessions under concurrency, on every store kind (SECURITY.md §7, §19):
 * the per-user limit holds under parallel logins. Real stores (`test/support/backends.ts`; the
 * synchronous ones behind a jittering `probeStore` so that requests interleave), the real node adapter over HTTP.
 */

import type { Agent, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession } from '../../src/adapters/node.js';
import {
  generateSecret,
  isSessionError,
  type SessionManager,
  type SessionManagerOptions,
  type SessionStore,
} from '../../src/index.js';
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
  /** Session errors the handlers saw (the adapter then answers with the error's status). */
  errors: unknown[];
  close(): Promise<void>;
}

/**
 * Routes: `POST /login?user=U` (login, committed in the handler so that the route sees the typed
 * error, recorded in `errors`), `GET /whoami` → `{ userId, data }`.
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
        await session.commit().catch((error: unknown) => {
          errors.push(error);
          throw error;
        });
        return json(res, { ok: true });
      case 'GET /whoami':
        return json(res, { userId: (await session.meta()).userId, data: await session.all() });
      default:
        return json(res, { error: 'not found' }, 404);
    }
  });
  return { ...(await listenLocal(handler)), manager, errors };
}

describe.each(ALL_KINDS)('user sessions under attack on %s', (kind) => {
  let backend: Backend | undefined;
  let skip: string | undefined;
  let agent: Agent;
  const apps: App[] = [];
  /** The store as the apps see it: jittered when synchronous, so requests interleave. */
  const store = (): SessionStore =>
    SYNCHRONOUS.has(kind) ? probeStore(backend!.store, { jitter: 2 }) : backend!.store;
  const open = async (options: Partial<SessionManagerOptions>): Promise<App> => {
    const app = await startApp(store(), options);
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
});
