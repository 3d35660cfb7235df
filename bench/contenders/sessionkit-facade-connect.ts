/**
 * sessionkit's express-session facade (`sessionkit/express-session`) on Express 5 over the same
 * connect store express-session uses (connect-redis 9 on node-redis, `BENCH_STORE=redis`): the
 * one-import switch before moving to a sessionkit store. Whole-record writes, as
 * express-session: it loses updates in the burst like express-session does.
 */

import { RedisStore } from 'connect-redis';
import type { RequestHandler } from 'express';
import { sessionkit } from './_build.js';
import { nodeRedisClient, REDIS_PREFIX, STORE } from './_env.js';
import { SESSION_OPTIONS, serveExpressSessionApp } from './_express-session-app.js';

const { default: session } = await sessionkit<typeof import('../../src/express-session/index.js')>(
  'express-session/index.js',
);

if (STORE !== 'redis') throw new Error('the facade contender runs on BENCH_STORE=redis');
const store = new RedisStore({ client: await nodeRedisClient(), prefix: REDIS_PREFIX });
serveExpressSessionApp(session({ ...SESSION_OPTIONS, store }) as unknown as RequestHandler);
