/**
 * Mutation testing (StrykerJS 9.6, the last line that runs on Node 20): `npm run test:mutation`.
 * Mutates the security-critical core, CSRF and the stores' shared logic, runs the suites of
 * vitest.mutation.config.ts against each mutant (only the tests that cover it), and drops mutants
 * that do not type-check.
 * One file: `npm run test:mutation -- --mutate src/core/cookie.ts`. Reports go to reports/mutation/,
 * the sandbox to .stryker-tmp/ (both ignored). See docs/testing.md.
 */

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutation.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    'src/core/cookie.ts',
    'src/core/set-cookie.ts',
    'src/core/codec.ts',
    'src/core/data.ts',
    'src/core/decoded.ts',
    'src/core/payload-seal.ts',
    'src/core/keys.ts',
    'src/core/sha256.ts',
    'src/core/token-memo.ts',
    'src/core/verified-ids.ts',
    'src/csrf/index.ts',
    'src/core/lifecycle.ts',
    'src/core/records.ts',
    'src/core/ops.ts',
    'src/core/locks.ts',
    'src/core/users.ts',
    'src/stores/_sql.ts',
    'src/stores/redis.ts',
    'src/stores/_redis-record.ts',
    'src/stores/_redis-scripts.ts',
  ],
  coverageAnalysis: 'perTest',
  // The machine is shared: two workers at most (the npm script also runs Stryker under nice).
  concurrency: 2,
  timeoutMS: 20_000,
  timeoutFactor: 3,
  ignorePatterns: ['bench', 'examples', 'docs', 'dist', 'data', 'var', 'coverage', 'reports'],
  // Reuse the results of the last run for mutants whose code and covering tests did not change.
  incremental: true,
  incrementalFile: 'reports/mutation/incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
};
