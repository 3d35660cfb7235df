/**
 * The test set of the core mutation run (stryker.core.config.mjs): the unit suites of the core
 * and of CSRF only — no store suite, no server, no database. The core files (cookie, keys, the
 * codec files, lifecycle, records, ops, locks, users, csrf) are exercised here; the store suites
 * only ever reach them through a manager the unit suites already drive, so leaving them out
 * makes a core run several times faster and its score a lower bound (a mutant only a store
 * suite would kill counts as survived). Stryker sets the pool itself.
 */

import { defineConfig } from 'vitest/config';

const UNIT = ['test/core/**/*.test.ts', 'test/csrf/**/*.test.ts'];
// Replaces node:crypto with vi.mock: needs a module registry of its own.
const MOCKING = ['test/core/store-key.test.ts'];
// Separate Node processes hammering one store: the child processes would not see the mutant.
const EXCLUDED = ['test/core/cross-process.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        // One module registry for all files (see vitest.mutation.config.ts).
        test: { name: 'unit', include: UNIT, exclude: [...MOCKING, ...EXCLUDED], isolate: false },
      },
      { extends: true, test: { name: 'mocking', include: MOCKING } },
    ],
  },
});
