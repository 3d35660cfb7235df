/**
 * Test helpers for the core: a controllable clock and a tiny "request" runner over the neutral
 * scope API, next to the shared manager factory. Counting and faults: `../support/probe-store.ts`.
 */

import type { Session, SessionManager, SessionResponse } from '../../src/index.js';

/** The one test-manager factory, under the name the core tests use (`../support/manager.ts`). */
export { SECRET, type TestManager, testManager as manager } from '../support/manager.js';

/** A controllable clock. */
export function clock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

/** The `name=value` pair of the first Set-Cookie, or undefined. */
export function cookieOf(out: SessionResponse): string | undefined {
  return out.setCookie[0]?.split(';')[0];
}

/**
 * Run one "request" against the manager: begin with `cookie`, run `handler`, end. Resolves the
 * handler's result, the response headers and the cookie to use next (the new one if set).
 */
export async function request<T>(
  m: SessionManager<Record<string, unknown>, Record<string, unknown>>,
  cookie: string | undefined,
  handler: (session: Session<Record<string, unknown>, Record<string, unknown>>) => Promise<T> | T,
): Promise<{ result: T; out: SessionResponse; cookie: string | undefined }> {
  const scope = m.begin({ cookie, ip: '127.0.0.1', userAgent: 'vitest' });
  const result = await handler(scope.session);
  const out = await scope.end();
  const set = cookieOf(out);
  const next = set === undefined ? cookie : set.endsWith('=') ? undefined : set;
  return { result, out, cookie: next };
}
