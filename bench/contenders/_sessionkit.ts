/**
 * The sessionkit manager every sessionkit contender uses: library defaults (merge mode, signed
 * cookies, idle/absolute timeouts, touchInterval), `cookie: { secure: false }` because the bench
 * is plain http, and the store named by `BENCH_STORE` — memory, Redis through ioredis, or
 * PostgreSQL through a `pg` pool (the table is created with `migrate()`).
 */

import { createSessionManager, type SessionManager, type SessionStore } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { redisStore } from '../../src/stores/redis.js';
import {
  type BenchData,
  countedPool,
  ioredisClient,
  PG_TABLE,
  REDIS_PREFIX,
  SECRET,
  STORE,
} from './_env.js';

async function createStore(): Promise<SessionStore> {
  if (STORE === 'redis') return redisStore({ client: ioredisClient(), prefix: REDIS_PREFIX });
  if (STORE === 'postgres') {
    const store = postgresStore({ pool: countedPool(), table: PG_TABLE });
    await store.migrate();
    return store;
  }
  return memoryStore();
}

/** The manager of this child. */
export const manager: SessionManager<BenchData> = createSessionManager<BenchData>({
  store: await createStore(),
  secrets: [SECRET],
  cookie: { secure: false },
});
