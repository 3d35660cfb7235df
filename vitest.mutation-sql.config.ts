/**
 * The test set of the mutation run of the SQL stores' shared core (`src/stores/_sql.ts`), used by
 * `stryker.sql.config.mjs`: the SQL store suites on the real databases — SQLite in-process (the
 * synchronous binding), PostgreSQL (the asynchronous one, `'upsert-where'`) and MySQL/MariaDB
 * (the only `'insert-then-update'` dialect, whose duplicate-key takeover the other two never
 * reach) — plus `sql-rules.test.ts`, which pins the core's rules on all three. The core, CSRF and
 * Redis suites of `vitest.mutation.config.ts` never import `_sql.ts`, so they are left out: the
 * dry run then takes about a minute instead of several. Stryker sets the pool itself.
 */

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: [
      'test/stores/sqlite.test.ts',
      'test/stores/postgres.test.ts',
      'test/stores/mysql.test.ts',
      'test/stores/sql-rules.test.ts',
    ],
  },
});
