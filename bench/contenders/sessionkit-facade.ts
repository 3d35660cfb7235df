/**
 * sessionkit's express-session facade (`sessionkit/express-session`) on Express 5 over
 * sessionkit's own store from `BENCH_STORE` (Redis through ioredis): the same handlers as
 * express-session's contender, but each request's changes are diffed and committed with
 * compare-and-set, so the lost-update burst must lose nothing.
 */

import type { RequestHandler } from 'express';
import type { SessionStore } from '../../src/core/store.js';
import { sessionkit } from './_build.js';
import { ioredisClient, REDIS_PREFIX, STORE } from './_env.js';
import { SESSION_OPTIONS, serveExpressSessionApp } from './_express-session-app.js';

const { default: session } = await sessionkit<typeof import('../../src/express-session/index.js')>(
  'express-session/index.js',
);

async function createStore(): Promise<SessionStore> {
  if (STORE !== 'redis') throw new Error('the facade contender runs on BENCH_STORE=redis');
  const { redisStore } =
    await sessionkit<typeof import('../../src/stores/redis.js')>('stores/redis.js');
  return redisStore({ client: ioredisClient(), prefix: REDIS_PREFIX });
}

serveExpressSessionApp(
  session({ ...SESSION_OPTIONS, store: await createStore() }) as unknown as RequestHandler,
);
