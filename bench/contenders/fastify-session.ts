/**
 * @fastify/session 11 (+ @fastify/cookie 11) on Fastify 5, configured as its README recommends
 * (`saveUninitialized: false`, a 32+ character secret), with `BENCH_STORE`: `memory` (its
 * default store) or `redis` (connect-redis 9 on node-redis, the store its README points to).
 */

import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { RedisStore } from 'connect-redis';
import Fastify from 'fastify';
import { nodeRedisClient, portOf, REDIS_PREFIX, SECRET, STORE, serve } from './_env.js';

declare module 'fastify' {
  interface Session {
    name: string;
    counter: number;
  }
}

const store =
  STORE === 'redis'
    ? new RedisStore({ client: await nodeRedisClient(), prefix: REDIS_PREFIX })
    : undefined;
if (STORE === 'postgres') throw new Error('fastify-session: no postgres contender');

const app = Fastify();
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: SECRET,
  saveUninitialized: false,
  cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
  ...(store === undefined ? {} : { store }),
});
app.get('/a', async () => 'ok');
app.get('/b', async (request) => ({ name: request.session.get('name') }));
app.post('/c', async (request) => {
  const counter = (request.session.get('counter') ?? 0) + 1;
  request.session.set('counter', counter);
  return { counter };
});
app.post('/init', async (request) => {
  request.session.set('name', 'bench');
  request.session.set('counter', 0);
  return 'ok';
});
app.get('/counter', async (request) => ({ counter: request.session.get('counter') }));
await app.listen({ port: 0, host: '127.0.0.1' });
serve(app.server, portOf(app.server));
