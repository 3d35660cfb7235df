/**
 * Private: `req.sessionStore` when the facade runs on a sessionkit store. express-session apps
 * reach the store through `req.sessionStore` with its callback API over raw session ids —
 * `get(sid, cb)`, `set(sid, session, cb)`, `destroy(sid, cb)`, `touch(sid, session, cb)`,
 * `generate(req)`, `regenerate(req, cb)`, `load(sid, cb)`, `createSession(req, data)` — and a
 * sessionkit store has a promise API over hashed keys. This view is a facade `Store` (an
 * `EventEmitter`, `instanceof session.Store`) whose methods go through the facade's backend: the
 * same hashing, deadlines, compare-and-set and migration (`migrateFrom`) as the middleware's own
 * reads and writes. The sessionkit store itself is its `store` property.
 *
 * `set` is a whole-session write under compare-and-set: it reads the current record first and
 * replaces it (a record written in between is merged into, as a request's save is). Without a
 * callback `get`, `set`, `destroy` and `touch` return a promise that never goes unhandled.
 * Under `migrateFrom`, a `get` of a session only the old store has reads it from there (and emits
 * `migrated`) without moving it; a `set` moves it, as a request's save does.
 */

import type { SessionStore } from '../core/store.js';
import { type Backend, type LoadState, storeFailure } from './_backend.js';
import { type FacadeConfig, type FacadeRequest, generateFor } from './_lifecycle.js';
import type { RequestLike, Session } from './_session.js';
import { Store } from './_store.js';

/** A node-style callback of the store API. */
type Callback<T = unknown> = ((error?: unknown, value?: T) => void) | undefined;

/** `req.sessionStore` over a sessionkit store: express-session's `Store` API. */
export interface NativeStoreView extends Store {
  /** The sessionkit store the facade was given. */
  readonly store: SessionStore;
  /** The stored `{ cookie, ...data }` of `sid`, or `null` when there is none. */
  get(sid: string, callback?: Callback<Record<string, unknown> | null>): unknown;
  /** Write `session` (a `Session` or a plain `{ cookie, ...data }`) under `sid`. */
  set(sid: string, session: object, callback?: Callback): unknown;
  /** Delete `sid`. */
  destroy(sid: string, callback?: Callback): unknown;
  /** Refresh `sid`'s stored expiry from `session.cookie` (a missing session stays missing). */
  touch(sid: string, session: object, callback?: Callback): unknown;
}

/** Build the view for one middleware (`config.backend` is the native or migrating backend). */
export function nativeStoreView(config: FacadeConfig, store: SessionStore): NativeStoreView {
  const { backend } = config;
  const view = new Store() as NativeStoreView;
  Object.defineProperty(view, 'store', { value: store, enumerable: false });
  // Failures reach the app as the middleware's own do (`storeFailure`: a `store-error` event;
  // the store's error in compat mode, the typed StoreError in strict mode).
  const fail = (operation: string) => (error: unknown) => {
    throw storeFailure(config, operation, error);
  };
  view.get = (sid, callback) =>
    finish(
      backend.load(sid, {}).then((data) => data ?? null, fail('get')),
      callback,
    );
  view.set = (sid, session, callback) =>
    finish(write(backend, sid, session).catch(fail('set')), callback);
  view.destroy = (sid, callback) =>
    finish(backend.destroy(sid, {}).catch(fail('destroy')), callback);
  view.touch = (sid, session, callback) =>
    finish(refresh(backend, sid, session).catch(fail('touch')), callback);
  // As express-session sets it on its store: a fresh session on `req`.
  view.generate = (req: RequestLike) => generateFor(config, req as FacadeRequest);
  return view;
}

async function write(backend: Backend, sid: string, session: object): Promise<void> {
  const state: LoadState = {};
  await backend.load(sid, state);
  await backend.save(sid, withDates(session), state);
}

/** With nothing loaded the backend always touches (a missing record stays missing). */
async function refresh(backend: Backend, sid: string, session: object): Promise<void> {
  await backend.touch(sid, withDates(session), {});
}

/**
 * `session` as the backend reads it: a plain object from `get` has its cookie's `expires` as
 * JSON text, which becomes a `Date` on a copy (a `Session` is passed as it is).
 */
function withDates(session: object): Session {
  const cookie = (session as { cookie?: { expires?: unknown } }).cookie;
  if (typeof cookie?.expires !== 'string') return session as Session;
  const copy = { ...session, cookie: { ...cookie, expires: new Date(cookie.expires) } };
  // JSON.stringify of the copy is the record (the cookie's fields as express-session stores them).
  return copy as unknown as Session;
}

/** Call `callback` once the work settles, outside the promise chain; or return a promise. */
function finish<T>(work: Promise<T>, callback: Callback<T>): unknown {
  if (typeof callback !== 'function') {
    work.catch(() => undefined);
    return work;
  }
  work.then(
    (value) => process.nextTick(callback, undefined, value),
    (error: unknown) => process.nextTick(callback, error),
  );
  return undefined;
}
