/**
 * The one test-manager factory: {@link testManager} makes a real session manager with plain-http
 * cookies over a fresh memory store, collecting every event it emits. Suites pass what they
 * test (a probed store, a clock, a mode) and get every other option at its test default.
 */

import {
  createSessionManager,
  generateSecret,
  type SessionEvent,
  type SessionManager,
  type SessionManagerOptions,
} from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

/** The secret {@link testManager} signs with unless told otherwise (one per test process). */
export const SECRET: string = generateSecret();

/** A manager from {@link testManager}: the real thing plus the events it emitted. */
export type TestManager<
  D extends object = Record<string, unknown>,
  F extends object = Record<string, unknown>,
> = SessionManager<D, F> & {
  /** Every event the manager emitted, in order (empty when `onEvent` was given). */
  events: SessionEvent[];
};

/**
 * A manager for tests. Defaults: a fresh `memoryStore({ sweepInterval: 0 })`, `secrets:
 * [SECRET]`, `cookie: { secure: false }` (tests speak plain http), `onEvent` collecting into
 * `events`; every given option replaces its default whole (`cookie`, `onEvent` included).
 */
export function testManager<
  D extends object = Record<string, unknown>,
  F extends object = Record<string, unknown>,
>(options: Partial<SessionManagerOptions> = {}): TestManager<D, F> {
  const events: SessionEvent[] = [];
  const manager = createSessionManager<D, F>({
    store: memoryStore({ sweepInterval: 0 }),
    secrets: [SECRET],
    cookie: { secure: false },
    onEvent: (event) => events.push(event),
    ...options,
  });
  return Object.assign(manager, { events });
}
