/**
 * The sessionkit manager every sessionkit contender uses: library defaults (merge mode, signed
 * cookies, idle/absolute timeouts, touchInterval), `cookie: { secure: false }` because the bench
 * is plain http (acknowledged with `dangerouslyAllowInsecureCookie`: the children run with
 * `NODE_ENV=production`, where sessionkit refuses a non-Secure cookie otherwise), and the store named by `BENCH_STORE` — memory, Redis through ioredis,
 * PostgreSQL through a `pg` pool (the table is created with `migrate()`), no backend: the
 * sealed cookie (`cookie`) or a JWT (`jwt`), or the write-on-demand hybrid over Redis (`hybrid`).
 * `BENCH_TRANSPORT=bearer` carries the token in `Authorization: Bearer` and returns new tokens in
 * the `TOKEN_HEADER` response header the load generator reads (`bench/harness/load.ts`).
 *
 * sessionkit is loaded from the harness's build (see `_build.ts`).
 */

import type { SessionManager, SessionStore } from '../../src/index.js';
import { TOKEN_HEADER } from '../harness/plan.js';
import { sessionkit } from './_build.js';
import {
  type BenchData,
  countedPool,
  ioredisClient,
  PG_TABLE,
  REDIS_PREFIX,
  SECRET,
  STORE,
  TRANSPORT,
} from './_env.js';

export { sessionkit };

const { createSessionManager } = await sessionkit<typeof import('../../src/index.js')>('index.js');

async function createStore(): Promise<SessionStore> {
  if (STORE === 'redis' || STORE === 'hybrid') {
    const { redisStore } =
      await sessionkit<typeof import('../../src/stores/redis.js')>('stores/redis.js');
    const redis = redisStore({ client: ioredisClient(), prefix: REDIS_PREFIX });
    if (STORE === 'redis') return redis;
    const { hybridStore } =
      await sessionkit<typeof import('../../src/stores/hybrid.js')>('stores/hybrid.js');
    return hybridStore({ store: redis });
  }
  if (STORE === 'postgres') {
    const { postgresStore } =
      await sessionkit<typeof import('../../src/stores/postgres.js')>('stores/postgres.js');
    const store = postgresStore({ pool: countedPool(), table: PG_TABLE });
    await store.migrate();
    return store;
  }
  if (STORE === 'cookie') {
    const { cookieStore } =
      await sessionkit<typeof import('../../src/stores/cookie.js')>('stores/cookie.js');
    return cookieStore();
  }
  if (STORE === 'jwt') {
    const { jwtStore } =
      await sessionkit<typeof import('../../src/stores/jwt.js')>('stores/jwt.js');
    return jwtStore();
  }
  const { memoryStore } =
    await sessionkit<typeof import('../../src/stores/memory.js')>('stores/memory.js');
  return memoryStore();
}

/** The manager of this child. */
export const manager: SessionManager<BenchData> = createSessionManager<BenchData>({
  store: await createStore(),
  secrets: [SECRET],
  cookie: { secure: false, dangerouslyAllowInsecureCookie: true },
  ...(TRANSPORT === 'bearer'
    ? { transport: { type: 'bearer', responseHeader: TOKEN_HEADER } as const }
    : {}),
});
