/**
 * Where contenders load sessionkit from: the JavaScript `tsc` emits (what users run), which the
 * harness builds into `BENCH_SESSIONKIT_DIR` (`.bench-out/dist`), not `src/` through tsx (tsx's
 * transform wraps every closure in a `__name()` call, a per-request cost the published build does
 * not have). The types still come from `src/`. Without `BENCH_SESSIONKIT_DIR` it falls back to
 * `src/`.
 */

const BASE = process.env.BENCH_SESSIONKIT_DIR ?? new URL('../../src', import.meta.url).href;

/** Import a sessionkit module (`'adapters/express.js'`) from the build the harness chose. */
export function sessionkit<T>(path: string): Promise<T> {
  return import(`${BASE}/${path}`) as Promise<T>;
}
