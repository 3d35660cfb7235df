/**
 * The test set of the core mutation run (stryker.core.config.mjs): the unit suites of the core
 * and of CSRF only — no store suite, no server, no database. The core files (cookie, keys, the
 * codec files, lifecycle, records, ops, locks, users, csrf) are exercised here; the store suites
 * only ever reach them through a manager the unit suites already drive, so leaving them out
 * makes a core run several times faster and its score a lower bound (a mutant only a store
 * suite would kill counts as survived). The whole mutation run (vitest.mutation.config.ts) is
 * these projects plus the store suites. Stryker sets the pool itself.
 */

import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

const UNIT = ['test/core/**/*.test.ts', 'test/csrf/**/*.test.ts'];
// Replaces node:crypto with vi.mock: needs a module registry of its own.
const MOCKING = ['test/core/store-key.test.ts', 'test/core/token-cache.test.ts'];
// Separate Node processes hammering one store: a concurrency test, not a unit test, and the
// child processes would not see the active mutant.
const EXCLUDED = ['test/core/cross-process.test.ts'];

/** The unit and mocking projects, shared by both mutation test sets. */
export const UNIT_PROJECTS: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    // One module registry for all files: Stryker runs the suite once per mutant, and
    // re-importing the core for every file would triple the run (tests restore what they
    // change: env stubs, listeners).
    test: { name: 'unit', include: UNIT, exclude: [...MOCKING, ...EXCLUDED], isolate: false },
  },
  { extends: true, test: { name: 'mocking', include: MOCKING } },
];

/** The timeouts of both mutation test sets (a mutant can make a test slow before it fails). */
export const MUTATION_TIMEOUTS = { testTimeout: 30_000, hookTimeout: 30_000 };

export default defineConfig({ test: { ...MUTATION_TIMEOUTS, projects: UNIT_PROJECTS } });
