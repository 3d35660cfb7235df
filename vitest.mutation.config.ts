/**
 * The test set of the mutation run (`npm run test:mutation`, stryker.config.mjs): the fast unit
 * suites of the core and of CSRF, which need no server and no database. The over-HTTP attack
 * suites (test/security) and the store/adapter suites stay in the full run (`vitest.config.ts`);
 * a mutant only they would kill is not counted as killed here. Stryker sets the pool itself.
 */

import { defineConfig } from 'vitest/config';

const UNIT = ['test/core/**/*.test.ts', 'test/csrf/**/*.test.ts'];
// Replaces node:crypto with vi.mock: needs a module registry of its own.
const MOCKING = ['test/core/store-key.test.ts'];
// Separate Node processes hammering one store: a concurrency test, not a unit test, and the
// child processes would not see the active mutant.
const EXCLUDED = ['test/core/cross-process.test.ts'];

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
    ],
  },
});
