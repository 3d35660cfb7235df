/**
 * `sessionkit` — flash values: one-hop messages stored in the session and consumed on read.
 *
 * Consumption is its own small compare-and-set write (`commitEarly`), so with parallel requests
 * exactly one receives a value. `flash.now` values are request-local and never stored.
 */

import { parsePath, toValueAt } from './codec.js';
import type { Context } from './context.js';
import { StateError } from './errors.js';
import { markAccessed, type SessionState } from './state.js';
import type { DefaultFlash } from './types.js';
import { record } from './view.js';
import { commitEarly } from './writes.js';

/** The flash API of a session, typed by the manager's `FlashData`. */
export interface Flash<F extends object = DefaultFlash> {
  /** Set a one-hop value: readable (once) by a later request. Replaces earlier values of `key`. */
  set<K extends keyof F & string>(key: K, value: F[K]): void;
  /**
   * Append a message to the list under `key` (e.g. `add('success', 'Saved')`). Throws
   * `ERR_SESSION_TOO_LARGE` at the message that would take the session past `maxPayloadBytes`.
   */
  add<K extends keyof F & string>(key: K, value: F[K]): void;
  /** Set a value visible to this request only (never stored). */
  now<K extends keyof F & string>(key: K, value: F[K]): void;
  /**
   * Read and consume the latest value of `key`: this request's `now` value if any, else the one
   * a previous request flashed. Consumption is atomic: with parallel requests exactly one gets it.
   */
  get<K extends keyof F & string>(key: K): Promise<F[K] | undefined>;
  /** Read and consume every message under `key` (previous requests' first, then `now`). */
  messages<K extends keyof F & string>(key: K): Promise<F[K][]>;
  /** Every pending message under `key`, without consuming. */
  peek<K extends keyof F & string>(key: K): Promise<F[K][]>;
  /** Keep every value this request consumed (or would consume) for one more request. */
  reflash(): void;
  /** Keep the given keys' consumed values for one more request. */
  keep(...keys: (keyof F & string)[]): void;
}

/**
 * The flash API over a request's session state; `load` loads the session first. Its request-local
 * maps (`now` values, what was consumed) exist only once a handler uses flash. @internal
 */
export function createFlash<F extends object>(
  ctx: Context,
  s: SessionState,
  load: () => Promise<void>,
): Flash<F> {
  // Request-local flash (`flash.now`, never stored) and what this request consumed (for
  // `reflash` / `keep`): they exist only once the flash API is used.
  const nowValues = new Map<string, unknown[]>();
  const consumed = new Map<string, readonly unknown[]>();
  const push = (key: string, value: unknown, replace: boolean): void => {
    if (s.degraded) throw s.failed; // degraded: every write is the outage again
    if (s.destroyed) throw new StateError('The session was destroyed in this request.');
    record(ctx, s, {
      kind: 'flash',
      key: parseFlashKey(key),
      value: toValueAt([key], value, ctx.limits.maxDepth),
      replace,
    });
    markAccessed(s);
  };
  const take = async (key: string): Promise<unknown[]> => {
    parseFlashKey(key);
    await load();
    const stored = consumed.has(key) ? [] : await takeFlash(ctx, s, key);
    if (!consumed.has(key)) consumed.set(key, stored);
    const now = nowValues.get(key) ?? [];
    return [...stored, ...now];
  };
  const restore = (keys: Iterable<string>): void => {
    for (const key of keys) {
      const values = consumed.get(key);
      if (values !== undefined && values.length > 0) {
        record(ctx, s, { kind: 'flash-restore', key, values });
        consumed.delete(key);
      }
    }
  };
  return {
    set: (key, value) => push(key, value, true),
    add: (key, value) => push(key, value, false),
    now(key, value) {
      const list = nowValues.get(parseFlashKey(key)) ?? [];
      list.push(toValueAt([key], value, ctx.limits.maxDepth));
      nowValues.set(key, list);
    },
    async get(key) {
      const values = await take(key);
      return values.at(-1) as F[typeof key] | undefined;
    },
    async messages(key) {
      return (await take(key)) as F[typeof key][];
    },
    async peek(key) {
      parseFlashKey(key);
      await load();
      const stored = consumed.has(key) ? [] : ((s.base.flash[key] as unknown[] | undefined) ?? []);
      return [...stored, ...(nowValues.get(key) ?? [])] as F[typeof key][];
    },
    reflash() {
      // Values not consumed yet simply stay stored; consumed ones are put back.
      restore([...consumed.keys()]);
    },
    keep(...keys) {
      restore(keys);
    },
  };
}

function parseFlashKey(key: string): string {
  const [segment] = parsePath(key);
  if (segment !== key) throw new StateError('Flash keys cannot contain dots.');
  return key;
}

/** Consume the stored values of `key` with their own compare-and-set; `[]` when there are none. */
async function takeFlash(ctx: Context, s: SessionState, key: string): Promise<readonly unknown[]> {
  const op = await commitEarly(
    ctx,
    s,
    () => ({ kind: 'flash-take' as const, key, taken: [] as readonly unknown[] }),
    (p) => Array.isArray(p.flash[key]),
  );
  return op?.taken ?? [];
}
