/**
 * `sessionkit/express-session` — a drop-in replacement for express-session 1.19.
 *
 * ```ts
 * import session from 'sessionkit/express-session'; // was: from 'express-session'
 * app.use(session({ secret, store: new RedisStore({ client }), resave: false, saveUninitialized: false }));
 * ```
 *
 * Same options, defaults and validation errors; the same `req.session` (mutable, with `id`,
 * `cookie`, `regenerate`/`destroy`/`reload`/`save`/`touch`/`resetMaxAge`, plus promise forms);
 * the same cookie (`s:<id>.<sig>`, HMAC-SHA256 under the raw secret) and the same record
 * (`{ cookie, ...data }` under the raw id) in a connect store, so switching back keeps every
 * session. Better where nobody can be broken: the session is committed before the first header
 * byte, `destroy()` expires the cookie, and on a sessionkit store (`sessionkit/stores/*`)
 * concurrent requests no longer lose updates. `strict: true` adds sessionkit's rules. Every
 * difference: `docs/migrating-from-express-session.md`.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../core/errors.js';
import type { SessionStore } from '../core/store.js';
import { VerifiedIds } from '../core/verified-ids.js';
import type { ConnectStoreLike } from '../stores/_connect.js';
import { type Backend, connectBackend, nativeBackend } from './_backend.js';
import { Cookie, type CookieOptions, type Secret } from './_cookie.js';
import {
  type ExpressSessionEvent,
  type FacadeConfig,
  type FacadeRequest,
  generateFor,
  handle,
  type Next,
} from './_middleware.js';
import { migratingBackend } from './_migrate.js';
import { nativeStoreView } from './_native-store.js';
import { Session } from './_session.js';
import { MemoryStore, Store } from './_store.js';

export type { CookieData, CookieOptions, Secret } from './_cookie.js';
export { type Flash, type FlashOptions, flash } from './_flash.js';
export type { ExpressSessionEvent } from './_middleware.js';
export { Cookie, MemoryStore, Session, Store };

/**
 * The application's session data, for typing `req.session` in Express handlers. Empty here;
 * declare your keys by augmenting it, as with express-session:
 *
 * ```ts
 * declare module 'sessionkit/express-session' {
 *   interface SessionData { userId: string; views: number }
 * }
 * ```
 *
 * When `@types/express-session` is installed too, its own `Express.Request.session` wins and
 * its `declare module 'express-session' { interface SessionData … }` keeps typing `req.session`
 * unchanged (see docs/migrating-from-express-session.md, "Types").
 */
// biome-ignore lint/suspicious/noEmptyInterface: an interface, so applications can augment it
export interface SessionData {}

/** `req.session.cookie` as Express handlers see it (any express-session–shaped cookie). */
export interface SessionCookieLike {
  originalMaxAge: number | null;
  maxAge?: number | null | undefined;
  expires?: Date | null | undefined;
  httpOnly?: boolean | undefined;
  path?: string | undefined;
  domain?: string | undefined;
  secure?: boolean | 'auto' | undefined;
  sameSite?: boolean | string | undefined;
}

/** `req.session`'s own members as Express handlers see them (data comes from {@link SessionData}). */
export interface SessionMembers {
  readonly id: string;
  cookie: SessionCookieLike;
  regenerate(callback?: (error: unknown) => void): unknown;
  destroy(callback?: (error: unknown) => void): unknown;
  reload(callback?: (error: unknown) => void): unknown;
  save(callback?: (error?: unknown) => void): unknown;
  touch(): unknown;
  resetMaxAge(): unknown;
}

/** What the facade adds to Express's `Request` (typed only after `session()` ran, as in express-session). */
export interface SessionRequestFields {
  /** The session: its members plus the application's {@link SessionData}, every key optional. */
  session: SessionMembers & Partial<SessionData>;
  /** The session id. */
  sessionID: string;
}

declare global {
  namespace Express {
    // A base interface, not own properties: with @types/express-session installed its own
    // `session`/`sessionID` members override these instead of clashing with them (TS2717).
    interface Request extends SessionRequestFields {}
  }
}

/** Options of {@link session}: express-session 1.19's, plus `strict`, `storeTimeout`, `onEvent`. */
export interface SessionOptions {
  /** Signs the cookie; an array: the first signs, all verify. Falls back to `req.secret`. */
  secret?: Secret | Secret[] | undefined;
  /** Cookie name. @default 'connect.sid' */
  name?: string | undefined;
  /** Old alias of `name`. */
  key?: string | undefined;
  /** An express-session store, or a sessionkit `SessionStore` (no lost updates). @default new MemoryStore() */
  store?: ConnectStoreLike | SessionStore | undefined;
  /** Cookie attributes, or a function of the request returning them. */
  cookie?: CookieOptions | ((req: IncomingMessage) => CookieOptions) | undefined;
  /** New session ids. @default 24 random bytes, base64url (32 characters) */
  genid?: ((req: IncomingMessage) => string) | undefined;
  /** Trust `X-Forwarded-Proto` (`true`), never (`false`), or Express's `trust proxy` (`undefined`). */
  proxy?: boolean | undefined;
  /** Save unmodified sessions on every request. @default true (deprecated default; `false` in strict mode) */
  resave?: boolean | undefined;
  /** Re-send the cookie on every response. @default false */
  rolling?: boolean | undefined;
  /** Save new, unmodified sessions. @default true (deprecated default; `false` in strict mode) */
  saveUninitialized?: boolean | undefined;
  /** What `delete req.session` / `req.session = null` does: `'keep'` or `'destroy'`. @default 'keep' */
  unset?: 'destroy' | 'keep' | undefined;
  /**
   * sessionkit's rules: secrets of at least 32 bytes (else `ConfigError`), `resave` and
   * `saveUninitialized` default to `false`, and a store outage answers 503 (`Cache-Control:
   * no-store`) instead of going on without `req.session` or passing the store's error on.
   * @default false
   */
  strict?: boolean | undefined;
  /** Milliseconds a store call may take before it fails with `StoreError`. @default 10_000 */
  storeTimeout?: number | undefined;
  /**
   * The connect store you are moving away from, while `store` is a sessionkit store ("read old,
   * write new"): a session `store` does not have is read from here, written to `store` by the
   * same request and then deleted here; logout deletes in both. Remove the option once the old
   * store is empty or its sessions have expired. @default undefined (no migration)
   */
  migrateFrom?: ConnectStoreLike | undefined;
  /** Called for every {@link ExpressSessionEvent}; must not throw. */
  onEvent?: ((event: ExpressSessionEvent) => void) | undefined;
}

/** The middleware `session()` returns. */
export type SessionMiddleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** The default export: `session(options)` with the classes attached, as express-session's. */
export interface SessionFactory {
  (options?: SessionOptions): SessionMiddleware;
  Store: typeof Store;
  MemoryStore: typeof MemoryStore;
  Cookie: typeof Cookie;
  Session: typeof Session;
}

/** Secrets shorter than this (bytes) are weak: warned about in compat mode, refused in strict. */
const MIN_SECRET_BYTES = 32;
const DEFAULT_STORE_TIMEOUT = 10_000;
let weakSecretWarned = false;

/**
 * Create the session middleware. Throws `TypeError` with express-session's messages for an
 * invalid `genid`, `unset` or an empty secret array; throws `ConfigError` (`ERR_SESSION_CONFIG`)
 * for a weak secret in strict mode or an invalid `storeTimeout`. A weak secret in compat mode is
 * accepted with a one-time process warning and a `weak-secret` event.
 */
function createSession(options: SessionOptions = {}): SessionMiddleware {
  const strict = options.strict === true;
  const genid = options.genid ?? defaultGenid;
  if (typeof genid !== 'function') throw new TypeError('genid option must be a function');
  let resave = options.resave;
  if (resave === undefined) {
    if (!strict) deprecate('undefined resave option; provide resave option');
    resave = !strict;
  }
  let saveUninitialized = options.saveUninitialized;
  if (saveUninitialized === undefined) {
    if (!strict) deprecate('undefined saveUninitialized option; provide saveUninitialized option');
    saveUninitialized = !strict;
  }
  if (options.unset && options.unset !== 'destroy' && options.unset !== 'keep') {
    throw new TypeError('unset option must be "destroy" or "keep"');
  }
  const given = options.secret;
  if (Array.isArray(given) && given.length === 0) {
    throw new TypeError('secret option array must contain one or more strings');
  }
  const secrets = given ? (Array.isArray(given) ? [...given] : [given]) : undefined;
  const emit = options.onEvent ?? (() => {});
  if (secrets === undefined) {
    if (strict) throw new ConfigError('Option `secret` is required in strict mode.');
    deprecate('req.secret; provide secret option');
  } else if (secrets.some((s) => Buffer.byteLength(s) < MIN_SECRET_BYTES)) {
    if (strict) {
      throw new ConfigError(
        `Option \`secret\`: every secret needs at least ${MIN_SECRET_BYTES} bytes in strict mode (generate one with \`sessionkit keygen\`).`,
      );
    }
    emit({ type: 'weak-secret' });
    if (!weakSecretWarned) {
      weakSecretWarned = true;
      process.emitWarning(
        `A session secret is shorter than ${MIN_SECRET_BYTES} bytes; accepted to keep existing sessions. Rotate to a strong one: new secret first in the array, old ones after.`,
        { code: 'SESSIONKIT_WEAK_SECRET' },
      );
    }
  }
  const storeTimeout = options.storeTimeout ?? DEFAULT_STORE_TIMEOUT;
  if (typeof storeTimeout !== 'number' || !Number.isFinite(storeTimeout) || storeTimeout <= 0) {
    throw new ConfigError('Option `storeTimeout` must be a positive number of milliseconds.');
  }
  const store = options.store ?? new MemoryStore();
  let backend = backendOf(store, storeTimeout);
  if (options.migrateFrom !== undefined) {
    const previous = backendOf(options.migrateFrom, storeTimeout);
    if (!backend.native || previous.native) {
      throw new ConfigError(
        'Option `migrateFrom` takes the old express-session store, and `store` must then be a sessionkit store.',
      );
    }
    backend = migratingBackend(backend, previous, emit);
  }
  let ready = true;
  const config: FacadeConfig = {
    name: options.name || options.key || 'connect.sid',
    store,
    backend,
    cookie: options.cookie ?? {},
    genid,
    proxy: options.proxy,
    resave,
    rolling: Boolean(options.rolling),
    saveUninitialized,
    unsetDestroy: options.unset === 'destroy',
    secrets,
    verified: secrets === undefined ? undefined : new VerifiedIds(),
    strict,
    emit,
    isReady: () => ready,
  };
  if (backend.native) {
    // express-session's callback API for `req.sessionStore` (the store itself has promises).
    config.store = nativeStoreView(config, store as SessionStore);
  } else {
    const connect = store as ConnectStoreLike & { generate?: (req: IncomingMessage) => void };
    connect.generate = (req) => generateFor(config, req as FacadeRequest);
    connect.on?.('disconnect', () => {
      ready = false;
    });
    connect.on?.('connect', () => {
      ready = true;
    });
  }
  if (process.env.NODE_ENV === 'production' && store instanceof MemoryStore) {
    console.warn(
      'Warning: the session MemoryStore is not designed for production: it leaks memory and serves one process.',
    );
  }
  return function session(req, res, next) {
    handle(config, req as FacadeRequest, res, next);
  };
}

/** `session(options)`, with `Store`, `MemoryStore`, `Cookie` and `Session` attached. */
const session: SessionFactory = Object.assign(createSession, {
  Store,
  MemoryStore,
  Cookie,
  Session,
});
export default session;

function backendOf(store: ConnectStoreLike | SessionStore, timeout: number): Backend {
  const s = store as Partial<ConnectStoreLike & SessionStore>;
  if (
    typeof s.destroy === 'function' &&
    typeof s.get === 'function' &&
    typeof s.set === 'function'
  ) {
    return connectBackend(store as ConnectStoreLike, timeout);
  }
  if (
    typeof s.delete === 'function' &&
    typeof s.touch === 'function' &&
    typeof s.get === 'function'
  ) {
    return nativeBackend(store as SessionStore, timeout);
  }
  throw new ConfigError(
    'Option `store` must be an express-session store (get, set, destroy) or a sessionkit store.',
  );
}

function defaultGenid(): string {
  return randomBytes(24).toString('base64url');
}

const deprecated = new Set<string>();
function deprecate(message: string): void {
  if (deprecated.has(message)) return;
  deprecated.add(message);
  process.emitWarning(`express-session deprecated ${message}`, 'DeprecationWarning');
}
