/**
 * Test helpers for the core: a manager over a real memory store, a counting store wrapper,
 * a fault-injecting store wrapper, and a tiny "request" runner over the neutral scope API.
 */

import type { Session } from '../../src/index.js';
import {
  createSessionManager,
  generateSecret,
  type SessionEvent,
  type SessionManager,
  type SessionManagerOptions,
  type SessionResponse,
  type SessionStore,
} from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

export const SECRET: string = generateSecret();

/** A store wrapper counting every call by method name. */
export function countingStore(
  inner: SessionStore,
): SessionStore & { calls: Map<string, number>; total(): number } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'total') return value;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return Object.assign(proxy, {
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
  });
}

/** A store wrapper whose methods can be made to fail or wait on demand (fault injection). */
export function faultyStore(inner: SessionStore): SessionStore & {
  fail: Set<string>;
  delay: Map<string, number>;
} {
  const fail = new Set<string>();
  const delay = new Map<string, number>();
  const proxy = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const wait = delay.get(String(prop));
        if (wait !== undefined) await new Promise((r) => setTimeout(r, wait));
        if (fail.has(String(prop)))
          throw new Error(`injected ${String(prop)} failure: ECONNREFUSED`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return Object.assign(proxy, { fail, delay });
}

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
