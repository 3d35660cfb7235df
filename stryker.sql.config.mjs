/**
 * Mutation run of the SQL stores' shared core alone: `stryker.config.mjs` with `_sql.ts` as the
 * only mutated file and the SQL store suites as the only tests (`vitest.mutation-sql.config.ts`:
 * SQLite, PostgreSQL and MySQL/MariaDB on the real services). Its own incremental file and
 * reports, so it never mixes with the whole-set run.
 * `nice -n 10 npx stryker run stryker.sql.config.mjs --concurrency 1`. See docs/testing.md.
 */

import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { ...base.vitest, configFile: 'vitest.mutation-sql.config.ts' },
  mutate: ['src/stores/_sql.ts'],
  incrementalFile: 'reports/mutation/sql.incremental.json',
  reporters: [...base.reporters, 'event-recorder'],
  // Survivors can be read from the recorded events while a run goes (docs/testing.md).
  eventReporter: { baseDir: 'reports/mutation/sql-events' },
  htmlReporter: { fileName: 'reports/mutation/sql.html' },
  jsonReporter: { fileName: 'reports/mutation/sql.json' },
};
