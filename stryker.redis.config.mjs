/**
 * Mutation run of the Redis store's files alone: stryker.config.mjs with the Redis-only test set
 * (vitest.mutation.redis.config.ts), one worker, and reports named by `REPORT` (default `redis`):
 *   REPORT=redis-record npx stryker run stryker.redis.config.mjs --mutate src/stores/_redis-record.ts
 * writes reports/mutation/redis-record.json and keeps its incremental file beside it. See
 * docs/testing.md.
 */

import base from './stryker.config.mjs';

const report = process.env.REPORT ?? 'redis';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { ...base.vitest, configFile: 'vitest.mutation.redis.config.ts' },
  mutate: ['src/stores/redis.ts', 'src/stores/_redis-record.ts', 'src/stores/_redis-scripts.ts'],
  concurrency: 1,
  reporters: ['clear-text', 'progress', 'json', 'event-recorder'],
  // Survivors can be read from the recorded events while a run goes (docs/testing.md).
  eventReporter: { baseDir: `reports/mutation/${report}-events` },
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  incrementalFile: `reports/mutation/${report}.incremental.json`,
};
