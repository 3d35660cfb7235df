/**
 * Test helpers for the core: a manager over a real memory store, a controllable clock and a
 * tiny "request" runner over the neutral scope API. Counting and faults: `../support/probe-store.ts`.
 */

import type { Session } from '../../src/index.js';
import {
  createSessionManager,
  generateSecret,
  type SessionEvent,
  type SessionManager,
  type SessionManagerOptions,
  type SessionResponse,
} from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

export const SECRET: string = generateSecret();

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

export type TestManager = SessionManager<Record<string, unknown>, Record<string, unknown>> & {
  events: SessionEvent[];
};

/** A manager over `store` (default: a fresh memory store) with plain-http cookies. */
export function manager(options: Partial<SessionManagerOptions> = {}): TestManager {
  const events: SessionEvent[] = [];
  const m = createSessionManager({
    store: memoryStore(),
    secrets: [SECRET],
    cookie: { secure: false },
    onEvent: (e) => events.push(e),
    ...options,
  });
  return Object.assign(m, { events });
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
