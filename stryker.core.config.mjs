/**
 * Mutation run of the core and CSRF files alone, against the unit suites only
 * (vitest.mutation.unit.config.ts): stryker.config.mjs without the store suites, with reports
 * named by `REPORT` (default `core`) and an incremental file of their own:
 *   REPORT=lifecycle npx stryker run stryker.core.config.mjs --mutate src/core/lifecycle.ts
 * writes reports/mutation/lifecycle.json. A score from this run is a lower bound: a mutant only
 * a store suite would kill counts as survived. See docs/testing.md.
 */

import base from './stryker.config.mjs';

const report = process.env.REPORT ?? 'core';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { ...base.vitest, configFile: 'vitest.mutation.unit.config.ts' },
  mutate: base.mutate.filter((file) => !file.startsWith('src/stores/')),
  reporters: ['clear-text', 'progress', 'json', 'event-recorder'],
  eventReporter: { baseDir: `reports/mutation/${report}-events` },
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  incrementalFile: `reports/mutation/${report}.incremental.json`,
};
