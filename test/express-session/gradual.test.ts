/**
 * The gradual move from a connect store to a sessionkit store ("read old, write new"), end to end
 * on real backends: connect-redis (node-redis client) → sessionkit's Redis store, and
 * connect-pg-simple → sessionkit's PostgreSQL store. A session created by the real express-session
 * keeps working behind the facade with `migrateFrom`, is written to the new store by its first
 * request there, and its old record is deleted and never read again; logout is final in both;
 * parallel first requests of one old session lose no update.
 */

import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import express from 'express';
import realSession from 'express-session';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionStore } from '../../src/core/store.js';
import session, { type ExpressSessionEvent } from '../../src/express-session/index.js';
import { type Backend as Native, openBackend } from '../support/backends.js';
import { type OpenConnect, openConnectPg, openConnectRedis } from '../support/connect-stores.js';
import { Browser, HOUR_SESSION, type Served, serve } from './helpers.js';

const ci = process.env.CI === 'true';
const cleanups: (() => Promise<unknown>)[] = [];
const servers: Served[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) await c().catch(() => undefined);
});

type Data = Record<string, unknown> & { destroy(): Promise<void> };
const data = (req: Request): Data => (req as unknown as { session: Data }).session;

/** The same small app behind express-session or the facade. */
async function app(middleware: unknown): Promise<string> {
  const a = express();
  a.use(middleware as never);
  a.post('/visit/:who', (req: Request, res: Response) => {
    const s = data(req);
    s.visits = [...((s.visits as string[] | undefined) ?? []), req.params.who];
    res.json({ visits: s.visits, id: req.sessionID });
  });
  a.post('/inc', (req: Request, res: Response) => {
    const s = data(req);
    s.count = ((s.count as number | undefined) ?? 0) + 1;
    res.json({ count: s.count });
  });
  a.get('/peek', (req: Request, res: Response) => {
    const s = data(req);
    res.json({ visits: s.visits ?? null, count: s.count ?? null, id: req.sessionID });
  });
  a.post('/logout', async (req: Request, res: Response) => {
    await data(req).destroy();
    res.send('bye');
  });
  const served = await serve(a);
  servers.push(served);
  return served.url;
}

const options = HOUR_SESSION;

/** The facade's key for a session id in a sessionkit store (SHA-256, base64url), computed here. */
const keyOf = (id: string): string => createHash('sha256').update(id).digest('base64url');

/** The connect store's record of `id` (null when gone). */
function oldRecord(store: realSession.Store, id: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    store.get(id, (error, value) => (error ? reject(error) : resolve(value ?? null))),
  );
}

const pairs: [string, () => Promise<OpenConnect>, 'redis' | 'postgres'][] = [
  ['connect-redis (node-redis) → sessionkit redis store', () => openConnectRedis(), 'redis'],
  ['connect-pg-simple → sessionkit postgres store', () => openConnectPg(), 'postgres'],
];

for (const [label, openOld, kind] of pairs) {
  describe(`gradual move: ${label}`, () => {
    /** The old connect store and the new sessionkit store, or undefined when unreachable. */
    async function open(): Promise<{ old: realSession.Store; next: SessionStore } | undefined> {
      try {
        const old = await openOld();
        cleanups.push(() => old.cleanup());
        const next: Native = await openBackend(kind);
        cleanups.push(() => next.cleanup());
        return { old: old.store, next: next.store };
      } catch (error) {
        if (ci) throw error;
        return undefined;
      }
    }

    it('a session made by express-session keeps working, moves to the new store, and its old record is deleted and never read again', async (ctx) => {
      const stores = await open();
      if (stores === undefined) return ctx.skip(`${kind} unreachable`);
      const { old, next } = stores;
      const before = new Browser(await app(realSession({ ...options, store: old })));
      const { id } = JSON.parse((await before.fetch('/visit/a', { method: 'POST' })).body);
      const original = (await oldRecord(old, id)) as { cookie: { originalMaxAge: number } };
      expect(original).toMatchObject({ visits: ['a'] });

      const events: ExpressSessionEvent['type'][] = [];
      const facade = await app(
        session({ ...options, store: next, migrateFrom: old, onEvent: (e) => events.push(e.type) }),
      );
      const after = new Browser(facade);
      after.jar.set('connect.sid', before.jar.get('connect.sid') as string);
      // An unmodified first request is enough to move it.
      const peek = JSON.parse((await after.fetch('/peek')).body);
      expect(peek).toEqual({ visits: ['a'], count: null, id });
      expect(events).toEqual(['migrated']);
      expect(await oldRecord(old, id)).toBeNull();
      const moved = await next.get(keyOf(id));
      expect(JSON.parse(moved?.data as string)).toMatchObject({
        visits: ['a'],
        // As express-session stored it (its Cookie may record 3599999 for a 1 ms tick).
        cookie: { originalMaxAge: original.cookie.originalMaxAge },
      });

      // From now on the new record is the session: an old record put back is not read.
      await new Promise<void>((resolve, reject) =>
        old.set(id, { cookie: { maxAge: 60_000 } as never, visits: ['stale'] } as never, (e) =>
          e ? reject(e) : resolve(),
        ),
      );
      const second = JSON.parse((await after.fetch('/visit/b', { method: 'POST' })).body);
      expect(second).toEqual({ visits: ['a', 'b'], id });
      expect(events).toEqual(['migrated']);
      expect(JSON.parse((await next.get(keyOf(id)))?.data as string).visits).toEqual(['a', 'b']);

      // Logout deletes it in both stores: the old cookie finds nothing anywhere.
      const cookie = `connect.sid=${after.jar.get('connect.sid')}`;
      await after.fetch('/logout', { method: 'POST' });
      expect(await oldRecord(old, id)).toBeNull();
      expect(await next.get(keyOf(id))).toBeUndefined();
      const gone = JSON.parse((await after.fetch('/peek', { headers: { cookie } })).body);
      expect(gone).toMatchObject({ visits: null });
      expect(gone.id).not.toBe(id);
    });

    it('20 parallel first requests of one old session (count 1): moved once, no increment lost', async (ctx) => {
      const stores = await open();
      if (stores === undefined) return ctx.skip(`${kind} unreachable`);
      const { old, next } = stores;
      const before = new Browser(await app(realSession({ ...options, store: old })));
      await before.fetch('/inc', { method: 'POST' });
      const { id } = JSON.parse((await before.fetch('/visit/a', { method: 'POST' })).body);
      const after = new Browser(await app(session({ ...options, store: next, migrateFrom: old })));
      const cookie = `connect.sid=${before.jar.get('connect.sid')}`;
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          after.fetch('/inc', { method: 'POST', headers: { cookie } }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      const peek = JSON.parse((await after.fetch('/peek', { headers: { cookie } })).body);
      expect(peek).toEqual({ visits: ['a'], count: 21, id });
      expect(await oldRecord(old, id)).toBeNull();
    });

    it('a session new to both stores is created in the new store only', async (ctx) => {
      const stores = await open();
      if (stores === undefined) return ctx.skip(`${kind} unreachable`);
      const { old, next } = stores;
      const after = new Browser(await app(session({ ...options, store: next, migrateFrom: old })));
      const { id } = JSON.parse((await after.fetch('/visit/n', { method: 'POST' })).body);
      expect(await oldRecord(old, id)).toBeNull();
      expect(JSON.parse((await next.get(keyOf(id)))?.data as string).visits).toEqual(['n']);
    });
  });
}

describe('migrateFrom option', () => {
  it('is refused with ERR_SESSION_CONFIG unless store is a sessionkit store and migrateFrom a connect store', () => {
    const connect = new session.MemoryStore();
    expect(() => session({ ...options, store: connect, migrateFrom: connect })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });
});
