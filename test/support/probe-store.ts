/**
 * The one store stand-in of the test suites: {@link probeStore} wraps any real `SessionStore`
 * and, per method and switchable while a test runs, counts and records calls, makes a method
 * reject like a dead backend, hang forever, or wait before answering (plus an optional random
 * jitter on every call). Results pass through unchanged. It is the only `Proxy` over a store in
 * test/ and examples/: a test that needs a fault or a count uses this, never its own wrapper.
 *
 * ```ts
 * const store = probeStore(memoryStore());
 * const manager = testManager({ store });
 * store.failing.add('get');   // the next get rejects with an "ECONNREFUSED …" error
 * store.failWhen = ([method, [key]]) => method === 'set' && key === k; // only these calls fail
 * store.delays.set('set', 50); // every set waits 50 ms first
 * store.calls.get('get');      // how many gets since the last reset()
 * ```
 */

import type { SessionStore } from '../../src/core/store.js';

/**
 * What an injected backend failure says after its `injected <method> failure: ` prefix: a
 * connection string with a password, so leak tests can check that none of it reaches a client.
 */
export const BACKEND_FAILURE =
  'connect ECONNREFUSED 10.9.8.7:6379 user=admin password=hunter2-secret';

/** One recorded call: the method name and its arguments. */
export type ProbeCall = [method: string, args: unknown[]];

/** The controls a probe adds to the store it wraps. */
export interface ProbeControls {
  /** Calls per method name since the last {@link reset} (a method never called is absent). */
  readonly calls: Map<string, number>;
  /** Every call in order since the last {@link reset}. */
  readonly log: ProbeCall[];
  /** Methods that reject (after their delay) with `injected <method> failure: …`. */
  readonly failing: Set<string>;
  /**
   * Fail (as {@link failing} does) exactly the calls this returns `true` for — one key, or every
   * call after a given one (it sees each call, in order, and may keep state). Unset: none.
   */
  failWhen: ((call: ProbeCall) => boolean) | undefined;
  /** Methods that return a promise that never settles (the manager's deadline must end them). */
  readonly hanging: Set<string>;
  /** Milliseconds a method waits before it answers (or fails, or hangs). */
  readonly delays: Map<string, number>;
  /** The sum of {@link calls} (clearing `calls` restarts it too). */
  total(): number;
  /** Forget the recorded calls (faults and delays stay as they are). */
  reset(): void;
}

/** A wrapped store: usable wherever a `SessionStore` is, plus its {@link ProbeControls}. */
export type ProbeStore = SessionStore & ProbeControls;

/** Options of {@link probeStore}. */
export interface ProbeOptions {
  /**
   * Wait a random 0…`jitter` ms before every call except `ids` and `close`. Synchronous stores
   * (memory, SQLite) otherwise run a whole request between two others, and "concurrent" tests
   * would never interleave.
   * @default 0
   */
  jitter?: number;
}

/**
 * Wrap `inner`. Every function-valued property is wrapped (optional methods stay absent when
 * `inner` lacks them); other properties read through. A call with no fault or delay returns
 * exactly what `inner` returns.
 */
export function probeStore(inner: SessionStore, options: ProbeOptions = {}): ProbeStore {
  const jitter = options.jitter ?? 0;
  const controls: ProbeControls = {
    calls: new Map(),
    log: [],
    failing: new Set(),
    failWhen: undefined,
    hanging: new Set(),
    delays: new Map(),
    total: () => [...controls.calls.values()].reduce((sum, n) => sum + n, 0),
    reset() {
      controls.calls.clear();
      controls.log.length = 0;
    },
  };
  const wait = (method: string): number =>
    (controls.delays.get(method) ?? 0) +
    (jitter > 0 && method !== 'ids' && method !== 'close' ? Math.random() * jitter : 0);
  const wrap =
    (method: string, fn: (...args: unknown[]) => unknown) =>
    (...args: unknown[]): unknown => {
      controls.calls.set(method, (controls.calls.get(method) ?? 0) + 1);
      controls.log.push([method, args]);
      const fails = controls.failWhen?.([method, args]) === true;
      const ms = wait(method);
      if (ms === 0) return answer(method, fn, args, fails);
      return new Promise((resolve) => setTimeout(resolve, ms)).then(() =>
        answer(method, fn, args, fails),
      );
    };
  const answer = (
    method: string,
    fn: (...args: unknown[]) => unknown,
    args: unknown[],
    fails: boolean,
  ) => {
    if (controls.hanging.has(method)) return new Promise(() => undefined);
    if (fails || controls.failing.has(method)) {
      return Promise.reject(new Error(`injected ${method} failure: ${BACKEND_FAILURE}`));
    }
    return fn.apply(inner, args);
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (typeof property === 'string' && Object.hasOwn(controls, property)) {
        return controls[property as keyof ProbeControls];
      }
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return wrap(property, value as (...args: unknown[]) => unknown);
    },
    set(target, property, value, receiver) {
      if (property !== 'failWhen') return Reflect.set(target, property, value, receiver);
      controls.failWhen = value as ProbeControls['failWhen'];
      return true;
    },
  }) as ProbeStore;
}
