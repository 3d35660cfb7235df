/**
 * Private: where the express-session facade keeps sessions. Two backends behind one shape:
 *
 * - **connect**: an express-session store, used exactly as express-session uses it (the raw id as
 *   sid, the record `{ cookie, ...data }`, whole-record writes: last writer wins), so rolling
 *   back to express-session keeps every session.
 * - **native**: a sessionkit `SessionStore`. The id is hashed into the store key; the record's
 *   data is the same JSON. A save diffs the session against what this request loaded and writes
 *   with compare-and-set; when another request wrote first, the diff is re-applied on the fresh
 *   record (numbers as increments, objects key by key) and retried, so concurrent
 *   `req.session.count++` or writes to different keys are never lost, and a destroyed session is
 *   never written back.
 *
 * Native store calls run under the core's shared deadline wheel (`core/deadlines.ts`): a call that
 * outlives `storeTimeout` fails with `StoreError`, with no timer or `AbortSignal` of its own (a
 * per-call `AbortSignal.timeout` lived for the whole timeout and was promoted to the old
 * generation under load). {@link storeFailure} is what a failed store call looks like to the app.
 */

import { DeadlineWheel } from '../core/deadlines.js';
import { ConflictError, isSessionError, StoreError } from '../core/errors.js';
import { hashSessionId } from '../core/keys.js';
import type { SessionStore, StoreCallOptions } from '../core/store.js';
import { type ConnectStoreLike, callConnect } from '../stores/_connect.js';
import type { FacadeConfig } from './_lifecycle.js';
import { applyOps, diff, type JsonObject, type MergeOp } from './_merge.js';
import type { Session } from './_session.js';

/** What a backend remembers of one request's session between load and save. */
export interface LoadState {
  /** The record version loaded or last written (native only). */
  version?: number | undefined;
  /**
   * The data as loaded or last written, as JSON text (native only): parsed again only when the
   * request saves, so a read never copies the data.
   */
  snapshot?: string | undefined;
  /** Loaded from elsewhere (a store being migrated from): write it even when unmodified. */
  pending?: boolean | undefined;
  /** The stored expiry as loaded or last written (native only), for the touch threshold. */
  expiresAt?: number | undefined;
  /** The store key of {@link keyId} (native only): hashed once per request. */
  key?: string | undefined;
  keyId?: string | undefined;
}

/** Storage operations of the facade. Every method rejects with `StoreError` on a failing store. */
export interface Backend {
  readonly native: boolean;
  /**
   * The key this backend keeps session `id` under: the raw id in a connect store (as
   * express-session does), `hashSessionId(id)` in a sessionkit store.
   */
  key(id: string): string;
  /** The stored `{ cookie, ...data }`, or `undefined` when there is none. */
  load(id: string, state: LoadState): Promise<Record<string, unknown> | undefined>;
  /** Write the session. Native: resolves `false` when it was destroyed meanwhile (nothing written). */
  save(id: string, session: Session, state: LoadState): Promise<boolean>;
  /**
   * Refresh the stored expiry: a promise when a store call was started, `undefined` when none is
   * needed (no `touch` on the connect store; a native expiry that would not move enough), so the
   * response need not wait.
   */
  touch(id: string, session: Session, state: LoadState): Promise<void> | undefined;
  /** Delete the session. */
  destroy(id: string, state: LoadState): Promise<void>;
}

/**
 * An unmodified session's stored expiry is moved (`touch`) only when it would move by at least
 * this much, or a tenth of the remaining lifetime if that is less: not one write per read.
 */
const TOUCH_THRESHOLD = 60_000;
/** How many times a native save re-applies its changes after losing a compare-and-set. */
const MAX_ATTEMPTS = 1000;
/** Expiry of a browser-session cookie's record (connect-redis's default TTL: one day). */
const DEFAULT_TTL = 86_400_000;

/** express-session's way over a connect store. */
export function connectBackend(store: ConnectStoreLike, timeout: number): Backend {
  const o = { timeout };
  return {
    native: false,
    key: (id) => id,
    async load(id) {
      const value = await callConnect('get', (cb) => store.get(id, cb), o);
      return typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)
        : undefined;
    },
    async save(id, session) {
      await callConnect('set', (cb) => store.set(id, session as never, cb), o);
      return true;
    },
    touch(id, session) {
      if (typeof store.touch !== 'function') return undefined;
      return callConnect('touch', (cb) => store.touch?.(id, session as never, cb), o).then(
        () => undefined,
      );
    },
    async destroy(id) {
      await callConnect('destroy', (cb) => store.destroy(id, cb), o);
    },
  };
}

/** Diff-and-merge with compare-and-set over a sessionkit store. */
export function nativeBackend(store: SessionStore, timeout: number): Backend {
  const deadlines = new DeadlineWheel(timeout, store.name);
  /** Run one store call under the shared deadline (`ifVersion` for a compare-and-set write). */
  function call<T>(
    operation: string,
    invoke: (options: StoreCallOptions) => Promise<T>,
    ifVersion?: number,
  ): Promise<T> {
    const tick = deadlines.enter();
    const options =
      ifVersion === undefined ? tick.options : { ifVersion, signal: tick.options.signal };
    return deadlines.guard(tick, operation, invoke(options));
  }
  return {
    native: true,
    key: hashSessionId,
    async load(id, state) {
      const key = keyIn(state, id);
      const record = await call('get', (o) => store.get(key, o));
      const data = record && parse(record.data);
      if (record === undefined || data === undefined) return undefined;
      state.version = record.version;
      state.snapshot = record.data;
      state.expiresAt = record.expiresAt;
      return data;
    },
    async save(id, session, state) {
      const key = keyIn(state, id);
      const text = JSON.stringify(session);
      const expiresAt = expiryOf(session);
      if (state.version === undefined || state.snapshot === undefined) {
        const record = { data: text, version: 1, expiresAt, userId: null };
        if (!(await call('set', (o) => store.set(key, record, o), 0))) {
          throw new ConflictError('retries-exhausted');
        }
        state.version = 1;
        state.snapshot = text;
        state.expiresAt = expiresAt;
        return true;
      }
      // The changes as merge operations are needed only once a compare-and-set is lost: the
      // texts they come from are kept (taken now, before any await) and diffed then.
      const loaded = state.snapshot;
      let ops: MergeOp[] | undefined;
      let cookie: unknown;
      let base = { version: state.version, data: text };
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const version = base.version + 1;
        const record = { data: base.data, version, expiresAt, userId: null };
        if (await call('set', (o) => store.set(key, record, o), base.version)) {
          state.version = version;
          state.snapshot = base.data;
          state.expiresAt = expiresAt;
          return true;
        }
        // Back off a little (random, growing to 16 ms) so a burst of writers on one session
        // does not retry in lockstep.
        await sleep(Math.random() * Math.min(16, attempt + 1));
        const fresh = await call('get', (o) => store.get(key, o));
        const freshData = fresh && parse(fresh.data);
        // Gone (destroyed or expired) since this request loaded it: never write it back.
        if (fresh === undefined || freshData === undefined) return false;
        if (ops === undefined) {
          const mine = JSON.parse(text) as JsonObject;
          ops = diff(parse(loaded) ?? {}, mine);
          cookie = mine.cookie;
        }
        const merged = applyOps(freshData, ops, cookie);
        base = { version: fresh.version, data: JSON.stringify(merged) };
      }
      throw new ConflictError('retries-exhausted');
    },
    touch(id, session, state) {
      const expiresAt = expiryOf(session);
      const moved = expiresAt - (state.expiresAt ?? Number.NEGATIVE_INFINITY);
      if (moved < Math.min(TOUCH_THRESHOLD, (expiresAt - Date.now()) / 10)) return undefined;
      const key = keyIn(state, id);
      return call('touch', (o) => store.touch(key, expiresAt, o)).then(() => {
        state.expiresAt = expiresAt;
      });
    },
    async destroy(id, state) {
      const key = keyIn(state, id);
      await call('delete', (o) => store.delete(key, o));
      state.version = undefined;
      state.snapshot = undefined;
      state.expiresAt = undefined;
    },
  };
}

/**
 * The store key of `id` (the core's `hashSessionId`: base64url(SHA-256(id)), so a store dump holds
 * no usable id), remembered in `state` for the rest of the request.
 */
function keyIn(state: LoadState, id: string): string {
  if (state.keyId !== id || state.key === undefined) {
    state.key = hashSessionId(id);
    state.keyId = id;
  }
  return state.key;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function expiryOf(session: Session): number {
  const expires = session.cookie?.expires;
  return expires instanceof Date ? expires.valueOf() : Date.now() + DEFAULT_TTL;
}

function parse(text: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A store error as the app sees it, after the `store-error` event: in compat mode the store's own
 * error, as express-session hands it on; in strict mode the typed `StoreError`.
 */
export function storeFailure(config: FacadeConfig, operation: string, error: unknown): unknown {
  config.emit({ type: 'store-error', operation, error });
  if (!config.strict && isSessionError(error, 'ERR_SESSION_STORE') && error.cause !== undefined) {
    return error.cause;
  }
  return isSessionError(error)
    ? error
    : new StoreError(`The session store failed during ${operation}.`, { cause: error });
}
