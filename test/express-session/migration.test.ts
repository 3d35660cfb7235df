/**
 * Migration both ways on real backends: sessions created by the real express-session with
 * connect-redis (node-redis client) or connect-pg-simple are read and updated by the facade after
 * the switch, and sessions the facade wrote are read and updated by express-session after a
 * rollback. The two sides share the backend (same Redis prefix / SQL table) through separate store
 * objects, as two deployments would.
 */

import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import type { Request, Response } from 'express';
import express from 'express';
import realSession from 'express-session';
import type pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import session from '../../src/express-session/index.js';
import { postgresPool, uniqueName } from '../support/backends.js';
import { type NodeRedisClient, nodeRedis } from '../support/connect-stores.js';
import { Browser, HOUR_SESSION, type Served, serve } from './helpers.js';

const servers: Served[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const ci = process.env.CI === 'true';
let redis: NodeRedisClient | undefined;
try {
  redis = await nodeRedis();
} catch (error) {
  if (ci) throw error;
}
const pool: pg.Pool = postgresPool(undefined, 4);
const pgUp = await pool.query('SELECT 1').then(
  () => true,
  (error: unknown) => {
    if (ci) throw error;
    return false;
  },
);
const tables: string[] = [];
afterAll(async () => {
  if (redis) {
    for await (const keys of redis.scanIterator({ MATCH: 'mig_*', COUNT: 1000 }))
      if (keys.length) await redis.del(keys);
    await redis.quit();
  }
  if (pgUp) for (const t of tables) await pool.query(`DROP TABLE IF EXISTS "${t}"`);
  await pool.end();
});

type Store = realSession.Store;
const PgStore = connectPgSimple(realSession);

/** Two store objects (one per side) over one fresh namespace of a backend. */
interface Backend {
  name: string;
  available: () => boolean;
  pair(): Promise<[Store, Store]>;
}

const backends: Backend[] = [
  {
    name: 'connect-redis (node-redis)',
    available: () => redis !== undefined,
    async pair() {
      const prefix = `mig_${uniqueName()}:`;
      const make = () => new RedisStore({ client: redis as never, prefix });
      return [make(), make()];
    },
  },
  {
    name: 'connect-pg-simple',
    available: () => pgUp,
    async pair() {
      const table = `mig_${uniqueName()}`;
      tables.push(table);
      await pool.query(
        `CREATE TABLE "${table}" ("sid" varchar NOT NULL COLLATE "default" PRIMARY KEY, "sess" json NOT NULL, "expire" timestamp(6) NOT NULL)`,
      );
      const make = () => new PgStore({ pool, tableName: table, pruneSessionInterval: false });
      return [make(), make()];
    },
  },
];

type Middleware = (req: never, res: never, next: never) => void;

async function app(middleware: Middleware): Promise<string> {
  const a = express();
  a.use(middleware as never);
  a.post('/visit/:who', (req: Request, res: Response) => {
    const s = (req as unknown as { session: Record<string, unknown> }).session;
    s.visits = [...((s.visits as string[] | undefined) ?? []), req.params.who];
    s.cart = { ...((s.cart as object | undefined) ?? {}), [String(req.params.who)]: 1 };
    res.json({ visits: s.visits, id: req.sessionID });
  });
  const served = await serve(a);
  servers.push(served);
  return served.url;
}

const options = HOUR_SESSION;

/** The record `store` holds under `sid` (`{ cookie, ...data }`). */
function stored(store: Store, sid: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) =>
    store.get(sid, (e, s) => (e ? reject(e) : resolve(s as never))),
  );
}

for (const backend of backends) {
  describe(`migration on ${backend.name}`, () => {
    it('express-session → facade → express-session keeps the session and every write', async (ctx) => {
      if (!backend.available()) return ctx.skip(`${backend.name} unreachable`);
      const [theirs, ours] = await backend.pair();
      const original = await app(realSession({ ...options, store: theirs }) as Middleware);
      const facade = await app(session({ ...options, store: ours }) as Middleware);
      const browser = new Browser(original);
      const first = JSON.parse((await browser.fetch('/visit/a', { method: 'POST' })).body);
      // express-session's maxAge setter re-reads the clock between computing `expires` and
      // recording `originalMaxAge`, so it may record a millisecond or more under 3 600 000.
      const lifetime = (await stored(ours, first.id)).cookie as { originalMaxAge: number };
      const switched = new Browser(facade);
      switched.jar.set('connect.sid', browser.jar.get('connect.sid') as string);
      const second = JSON.parse((await switched.fetch('/visit/b', { method: 'POST' })).body);
      expect(second).toEqual({ visits: ['a', 'b'], id: first.id });
      // The facade's write keeps the cookie's lifetime exactly as express-session stored it.
      expect((await stored(ours, first.id)).cookie).toMatchObject({
        originalMaxAge: lifetime.originalMaxAge,
      });
      const back = new Browser(original);
      back.jar.set('connect.sid', switched.jar.get('connect.sid') as string);
      const third = JSON.parse((await back.fetch('/visit/c', { method: 'POST' })).body);
      expect(third).toEqual({ visits: ['a', 'b', 'c'], id: first.id });
      const last = await stored(ours, first.id);
      expect(last).toMatchObject({ visits: ['a', 'b', 'c'], cart: { a: 1, b: 1, c: 1 } });
      // The last write is express-session's own, with the same clock reads (3599977 was seen at
      // load 25). What matters is that the lifetime survived the trip.
      for (const cookie of [lifetime, last.cookie as { originalMaxAge: number }]) {
        expect(cookie.originalMaxAge).toBeLessThanOrEqual(3_600_000);
        expect(cookie.originalMaxAge).toBeGreaterThan(3_600_000 - 60_000);
      }
    });

    it('a session created by the facade is read and updated by express-session', async (ctx) => {
      if (!backend.available()) return ctx.skip(`${backend.name} unreachable`);
      const [theirs, ours] = await backend.pair();
      const facade = new Browser(await app(session({ ...options, store: ours }) as Middleware));
      const first = JSON.parse((await facade.fetch('/visit/x', { method: 'POST' })).body);
      const original = new Browser(
        await app(realSession({ ...options, store: theirs }) as Middleware),
      );
      original.jar.set('connect.sid', facade.jar.get('connect.sid') as string);
      const second = JSON.parse((await original.fetch('/visit/y', { method: 'POST' })).body);
      expect(second).toEqual({ visits: ['x', 'y'], id: first.id });
    });
  });
}
