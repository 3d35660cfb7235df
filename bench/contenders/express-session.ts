/**
 * express-session 1.19 on Express 5, configured as its README recommends for production-ish use
 * (`resave: false`, `saveUninitialized: false`, a real secret), with `BENCH_STORE`:
 * `memory` (its MemoryStore), `redis` (connect-redis 9 on node-redis) or `postgres`
 * (connect-pg-simple 10 on a `pg` pool).
 */

import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import session from 'express-session';
import { countedPool, nodeRedisClient, PG_TABLE, REDIS_PREFIX, STORE } from './_env.js';
import { SESSION_OPTIONS, serveExpressSessionApp } from './_express-session-app.js';

async function createStore(): Promise<session.Store | undefined> {
  if (STORE === 'redis')
    return new RedisStore({ client: await nodeRedisClient(), prefix: REDIS_PREFIX });
  if (STORE === 'postgres') {
    const PgStore = connectPgSimple(session);
    return new PgStore({ pool: countedPool(), tableName: PG_TABLE, createTableIfMissing: true });
  }
  return undefined; // express-session's MemoryStore
}

const store = await createStore();
serveExpressSessionApp(session({ ...SESSION_OPTIONS, ...(store === undefined ? {} : { store }) }));
