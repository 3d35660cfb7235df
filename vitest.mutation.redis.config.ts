/**
 * The test set of a mutation run of the Redis store alone (`src/stores/redis.ts`,
 * `_redis-record.ts`, `_redis-scripts.ts`; stryker.redis.config.mjs): `test/stores/redis.test.ts`
 * — the conformance suite and the store's own tests — on the real Redis at 127.0.0.1:6379
 * (`TEST_REDIS_URL`) with the ioredis standalone client only, and
 * `test/stores/redis-rules.test.ts`, `redis-record-rules.test.ts` and `redis-scripts.test.ts`.
 * The default set
 * (`vitest.mutation.config.ts`) would also run the SQLite and PostgreSQL suites for every
 * mutant, which cannot kill one here. Stryker sets the pool itself.
 */

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: [
      'test/stores/redis.test.ts',
      'test/stores/redis-rules.test.ts',
      'test/stores/redis-record-rules.test.ts',
      'test/stores/redis-scripts.test.ts',
    ],
    // The client flavours differ only in `_redis-client.ts`, not mutated here: the ioredis
    // standalone client runs the store's code. No Cluster flavour: the suite would start a
    // three-node Cluster for every mutant; redis-rules.test.ts drives the Cluster write path
    // through a client that offers `nodes()` on the shared server instead.
    env: { REDIS_FLAVOURS: 'ioredis' },
  },
});
