/**
 * The test set of a mutation run of the Redis store alone (`src/stores/redis.ts`,
 * `_redis-record.ts`, `_redis-scripts.ts`): `test/stores/redis.test.ts` only — the conformance
 * suite and the store's own tests on every client flavour, on the real Redis at 127.0.0.1:6379
 * (`TEST_REDIS_URL`) and on the three-master Cluster that file starts itself. The default set
 * (`vitest.mutation.config.ts`) would also run the SQLite and PostgreSQL suites for every mutant,
 * which cannot kill one here. Pass it with `--vitest.configFile vitest.mutation.redis.config.ts`
 * (docs/testing.md). Stryker sets the pool itself.
 */

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ['test/stores/redis.test.ts'],
  },
});
