/**
 * The test set of the mutation run (`npm run test:mutation`, stryker.config.mjs): the fast unit
 * suites of the core and of CSRF, which need no server and no database, and for the stores'
 * shared logic (`_sql.ts`, the Redis store's script callers) the store suites that exercise it
 * on the real services: SQLite in-process (the synchronous binding) and PostgreSQL (the
 * asynchronous one; MySQL goes through the same code) and Redis. The over-HTTP attack suites
 * (test/security) and the adapter suites stay in the full run (`vitest.config.ts`); a mutant only
 * they would kill is not counted as killed here. The unit projects are vitest.mutation.unit.config.ts's.
 * Stryker sets the pool itself.
 */

import { defineConfig } from 'vitest/config';
import { MUTATION_TIMEOUTS, UNIT_PROJECTS } from './vitest.mutation.unit.config.js';

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
    ...MUTATION_TIMEOUTS,
    projects: [...UNIT_PROJECTS, { extends: true, test: { name: 'stores', include: STORES } }],
  },
});
