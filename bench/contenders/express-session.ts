/**
 * express-session 1.19 on Express 5, configured as its README recommends for production-ish use
 * (`resave: false`, `saveUninitialized: false`, a real secret), with `BENCH_STORE`:
 * `memory` (its MemoryStore), `redis` (connect-redis 9 on node-redis) or `postgres`
 * (connect-pg-simple 10 on a `pg` pool).
 */

import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import {
  countedPool,
  nodeRedisClient,
  PG_TABLE,
  portOf,
  REDIS_PREFIX,
  SECRET,
  STORE,
  serve,
} from './_env.js';

declare module 'express-session' {
  interface SessionData {
    name: string;
    counter: number;
  }
}

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
const app = express();
app.use(
  session({
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
    ...(store === undefined ? {} : { store }),
  }),
);
app.get('/a', (_req, res) => {
  res.send('ok');
});
app.get('/b', (req, res) => {
  res.json({ name: req.session.name });
});
app.post('/c', (req, res) => {
  req.session.counter = (req.session.counter ?? 0) + 1;
  res.json({ counter: req.session.counter });
});
app.post('/init', (req, res) => {
  req.session.name = 'bench';
  req.session.counter = 0;
  res.send('ok');
});
app.get('/counter', (req, res) => {
  res.json({ counter: req.session.counter });
});
const server = app.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
