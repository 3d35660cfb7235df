/**
 * `sessionkit` — the per-request session's public face: the `Session` interface a handler
 * touches (data, flash, metadata, status) and its option types. The implementation is
 * `session-impl.ts`.
 *
 * Reads are async because the record is loaded lazily: a request that never reads or writes its
 * session costs no store I/O at all. Writes are synchronous *intents* recorded in an operation
 * log (`ops.ts`); the lifecycle applies them at commit on the freshest record, so that concurrent
 * requests merge instead of overwriting each other.
 */

import type { ClearSiteDataType } from './clear-site-data.js';
import type { SessionMeta } from './codec.js';
import type { Flash } from './flash.js';
import type { DefaultData, DefaultFlash, SessionPath, SessionPathValue } from './types.js';

export type { Flash } from './flash.js';

/** Where the session stands relative to its stored record. */
export type SessionStatus = 'unmodified' | 'modified' | 'destroyed';

/** Options of {@link Session.regenerate}. */
export interface RegenerateOptions {
  /**
   * Keep the session data under the new id.
   * @default true
   */
  keep?: boolean;
}

/** Options of {@link Session.destroy}. */
export interface DestroyOptions {
  /**
   * Also ask the browser to clear the site's data: the response carries `Clear-Site-Data` with
   * the manager's `clearSiteData` directives (`true`, by default `"cookies", "storage"`) or the
   * directives given here. For logout-everywhere flows; sent only if the destroy commits.
   * @default false
   */
  clearSiteData?: boolean | readonly ClearSiteDataType[];
}

/** Options of {@link Session.login}. */
export interface LoginOptions extends RegenerateOptions {
  /** Issue a persistent ("remember me") cookie instead of a browser-session cookie. */
  persistent?: boolean;
}

/** The session of one request. Obtained from an adapter (or `manager.open()`). */
export interface Session<D extends object = DefaultData, F extends object = DefaultFlash> {
  /** `'modified'` while writes await commit, `'destroyed'` after `destroy()`. */
  readonly status: SessionStatus;
  /**
   * `true` after loading when fingerprint binding (policy `flag`) saw another ip / user agent than
   * the session was created or signed in with. Decide yourself: ask to re-authenticate, log, …
   */
  readonly flagged: boolean;
  /** `true` once {@link Session.degrade} took an outage: the request goes on without its session. */
  readonly degraded: boolean;
  /**
   * Degraded mode, opt-in per route: answer this request without its session after the store
   * failed. Pass the error you caught. A store outage (`ERR_SESSION_STORE`) or a lock timeout
   * (`ERR_SESSION_LOCK_TIMEOUT`) — from a read, `load()` or `commit()` — turns the session off
   * for the rest of the request: pending writes are dropped, nothing is written, no `Set-Cookie`
   * is sent (the client keeps the cookie it has: nobody is logged out, in or over), the response
   * stays `private, no-store`, and every later read, write or commit of the session throws that
   * error again (a 503 if it escapes). Any other error is rethrown as is, so
   * `catch (error) { session.degrade(error); … }` lets every other failure through; `undefined`
   * throws `ERR_SESSION_STATE`.
   */
  degrade(error: unknown): void;
  /** Value at a dot path, or `undefined`. Objects returned are frozen. */
  get<P extends SessionPath<D>>(key: P): Promise<SessionPathValue<D, P> | undefined>;
  /** `true` when the path exists (a stored `null` counts as present). */
  has(key: SessionPath<D>): Promise<boolean>;
  /** All data (frozen, null-prototype). */
  all(): Promise<Readonly<Partial<D>>>;
  /** Read and delete. */
  pull<P extends SessionPath<D>>(key: P): Promise<SessionPathValue<D, P> | undefined>;
  /**
   * Write a value (JSON data only; throws `ERR_SESSION_DATA` otherwise, and for nesting past
   * `maxDepth` counting the path's own levels). Throws `ERR_SESSION_TOO_LARGE` — recording
   * nothing — when it would take the session past `maxPayloadBytes`.
   */
  set<P extends SessionPath<D>>(key: P, value: SessionPathValue<D, P>): void;
  /** Remove a value. */
  delete(key: SessionPath<D>): void;
  /** Write several top-level keys at once without touching the others (all or none: see `set`). */
  merge(patch: Partial<D>): void;
  /** Remove all data (metadata and flash stay). */
  clear(): void;
  /**
   * Functional update: `fn` gets the current value and returns the next. It runs once, on the
   * loaded value, and the commit writes what it returned; on a concurrent change the core re-runs
   * `fn` on the fresh value, so increments are never lost. `fn` must be pure. Resolves the value
   * this request computed.
   */
  update<P extends SessionPath<D>>(
    key: P,
    fn: (current: SessionPathValue<D, P> | undefined) => SessionPathValue<D, P>,
  ): Promise<SessionPathValue<D, P>>;
  /** Flash values and messages. */
  readonly flash: Flash<F>;
  /** Core-kept metadata (creation, last seen, deadline, user, client). */
  meta(): Promise<Readonly<SessionMeta>>;
  /**
   * New id at commit; the old record is deleted. Data is kept by default; `keep: false` is
   * `invalidate()` (an empty session gets an id only once something is written to it).
   */
  regenerate(options?: RegenerateOptions): void;
  /**
   * Sign a user in: regenerate (a new id at every privilege change, against session fixation), record the user id and client, set persistence.
   * Throws `ERR_SESSION_STATE` for a user id that is empty, longer than 256 characters or holds NUL.
   */
  login(userId: string, options?: LoginOptions): void;
  /** Sign out but keep a (new, empty) session: `invalidate()` plus clearing the user. */
  logout(): void;
  /** Clear everything and issue a new id at commit; the old record is deleted. */
  invalidate(): void;
  /**
   * Delete the record and expire the cookie. Later writes throw `ERR_SESSION_STATE`. With
   * `clearSiteData` the response also carries `Clear-Site-Data`; an invalid directive list throws
   * `ERR_SESSION_STATE` and destroys nothing.
   */
  destroy(options?: DestroyOptions): void;
  /** Switch between a "remember me" cookie (`true`) and a browser-session cookie. */
  setPersistent(persistent: boolean): void;
  /**
   * With `hybridStore()`: keep this session in the server-side store from now on — revocable,
   * merged under concurrency, not bounded by the cookie — instead of sealed in the cookie. It
   * moves at commit (its sealed token is refused from then on) and stays server-side until it
   * ends. Does nothing for a session already server-side, and with server-side stores. Throws
   * `ERR_SESSION_CONFIG` with `cookieStore()` and `jwtStore()`, which have no server side.
   */
  moveServerSide(): void;
  /**
   * A CSRF token for this response: the session's synchronizer secret, masked with a fresh random
   * pad (BREACH-safe, different on every call). Creates the secret on first use — which saves the
   * session. The secret rotates on `regenerate()` / `login()` / `invalidate()`.
   */
  csrfToken(): Promise<string>;
  /** `true` when `token` was issued by `csrfToken()` for this session's current secret. */
  verifyCsrfToken(token: unknown): Promise<boolean>;
  /** Opaque handle of the stored record (hashed id), or `undefined` while unsaved. */
  handle(): Promise<string | undefined>;
  /** Load now (reads do this implicitly). Rejects with `ERR_SESSION_STORE` on outage. */
  load(): Promise<void>;
  /**
   * Commit pending writes now (adapters do it before the first header byte). Afterwards reads see
   * the committed state, including concurrent requests' merged writes.
   */
  commit(): Promise<void>;
}
