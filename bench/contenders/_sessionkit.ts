/**
 * The sessionkit manager every sessionkit contender uses: library defaults (merge mode, signed
 * cookies, idle/absolute timeouts, touchInterval), `cookie: { secure: false }` because the bench
 * is plain http (acknowledged with `dangerouslyAllowInsecureCookie`: the children run with
 * `NODE_ENV=production`, where sessionkit refuses a non-Secure cookie otherwise), and the store named by `BENCH_STORE` — memory, Redis through ioredis, or
 * PostgreSQL through a `pg` pool (the table is created with `migrate()`).
 *
 * sessionkit is loaded from the JavaScript `tsc` emits (what users run), which the harness builds
 * into `BENCH_SESSIONKIT_DIR` (`.bench-out/dist`), not from `src/` through tsx: tsx's transform
 * wraps every closure in a `__name()` call, a per-request cost the published build does not
 * have. The types still come from `src/`. Without `BENCH_SESSIONKIT_DIR` it falls back to `src/`.
 */

import type { SessionManager, SessionStore } from '../../src/index.js';
import {
  type BenchData,
  countedPool,
  ioredisClient,
  PG_TABLE,
  REDIS_PREFIX,
  SECRET,
  STORE,
} from './_env.js';

const BASE = process.env.BENCH_SESSIONKIT_DIR ?? new URL('../../src', import.meta.url).href;

/** Import a sessionkit module (`'adapters/express.js'`) from the build the harness chose. */
export function sessionkit<T>(path: string): Promise<T> {
  return import(`${BASE}/${path}`) as Promise<T>;
}

const { createSessionManager } = await sessionkit<typeof import('../../src/index.js')>('index.js');

async function createStore(): Promise<SessionStore> {
  if (STORE === 'redis') {
    const { redisStore } =
      await sessionkit<typeof import('../../src/stores/redis.js')>('stores/redis.js');
    return redisStore({ client: ioredisClient(), prefix: REDIS_PREFIX });
  }
  if (STORE === 'postgres') {
    const { postgresStore } =
      await sessionkit<typeof import('../../src/stores/postgres.js')>('stores/postgres.js');
    const store = postgresStore({ pool: countedPool(), table: PG_TABLE });
    await store.migrate();
    return store;
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
});
