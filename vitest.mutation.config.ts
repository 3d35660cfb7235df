/**
 * The test set of the mutation run (`npm run test:mutation`, stryker.config.mjs): the fast unit
 * suites of the core and of CSRF, which need no server and no database, and for the stores'
 * shared logic (`_sql.ts`, the Redis store's script callers) the store suites that exercise it
 * on the real services: SQLite in-process (the synchronous binding) and PostgreSQL (the
 * asynchronous one; MySQL goes through the same code) and Redis. The over-HTTP attack suites
 * (test/security) and the adapter suites stay in the full run (`vitest.config.ts`); a mutant only
 * they would kill is not counted as killed here. Stryker sets the pool itself.
 */

import { defineConfig } from 'vitest/config';

const UNIT = ['test/core/**/*.test.ts', 'test/csrf/**/*.test.ts'];
// Replaces node:crypto with vi.mock: needs a module registry of its own.
const MOCKING = ['test/core/store-key.test.ts'];
// Separate Node processes hammering one store: a concurrency test, not a unit test, and the
// child processes would not see the active mutant.
const EXCLUDED = ['test/core/cross-process.test.ts'];
// Real PostgreSQL and Redis on 127.0.0.1 (test/support/backends.ts); each file its own registry.
const STORES = [
  'test/stores/sqlite.test.ts',
  'test/stores/postgres.test.ts',
  'test/stores/redis.test.ts',
  // The rules suites written for the stores' survivors (the per-store configs run them too).
  'test/stores/sql-rules.test.ts',
  'test/stores/redis-rules.test.ts',
  'test/stores/redis-record-rules.test.ts',
  'test/stores/redis-scripts.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        // One module registry for all files: Stryker runs the suite once per mutant, and
        // re-importing the core for every file would triple the run (tests restore what they
        // change: env stubs, listeners).
        test: { name: 'unit', include: UNIT, exclude: [...MOCKING, ...EXCLUDED], isolate: false },
      },
      { extends: true, test: { name: 'mocking', include: MOCKING } },
      { extends: true, test: { name: 'stores', include: STORES } },
    ],
  },
});
