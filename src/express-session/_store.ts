/**
 * Private: the facade's `Store` base class and `MemoryStore`, with express-session 1.19's
 * contracts, so connect-* stores written as `class X extends session.Store` (or the older
 * `require('connect-x')(session)` form) work on top of the facade unchanged.
 */

import { EventEmitter } from 'node:events';
import type { ConnectCallback, ConnectSessionObject } from '../stores/_connect.js';
import { Cookie, type CookieData } from './_cookie.js';
import { controlOf, type RequestLike, Session, type SessionControl } from './_session.js';

/**
 * Base class of express-session stores: an `EventEmitter` (`'connect'` / `'disconnect'` tell the
 * middleware whether to use the store) with `regenerate`, `load` and `createSession`. Subclasses
 * implement `get`, `set`, `destroy` and optionally `touch`, `all`, `clear`, `length`.
 */
export interface Store extends EventEmitter {
  /** Set by the middleware: fills `req.sessionID`, `req.session` with a fresh session. */
  generate?: ((req: RequestLike) => void) | undefined;
  /** Destroy `req.sessionID`, then generate a new session on `req`; `callback(error)`. */
  regenerate(req: RequestLike, callback: (error?: unknown) => void): void;
  /** Read `sid` as a `Session` (`callback()` when missing). */
  load(sid: string, callback: (error?: unknown, session?: Session) => void): void;
  /** Turn stored data into `req.session` (a `Session` with a `Cookie`), keeping `originalMaxAge`. */
  createSession(req: RequestLike, data: ConnectSessionObject): Session;
}

/** `Store` as a value: `new Store()`, `class X extends Store`, or the pre-class `Store.call(this)`. */
export interface StoreConstructor {
  new (): Store;
  /** The pre-class form: `function MyStore() { Store.call(this) }` with `util.inherits`. */
  call(self: object): void;
  readonly prototype: Store;
}

/**
 * A plain constructor function, not a `class`: connect stores written before ES classes call
 * `session.Store.call(this)` (with `util.inherits`), which a class constructor refuses with a
 * `TypeError`; `class X extends Store` works as well.
 */
export const Store = function Store(this: Store) {
  EventEmitter.call(this);
} as unknown as StoreConstructor;
Object.setPrototypeOf(Store, EventEmitter);
Object.setPrototypeOf(Store.prototype, EventEmitter.prototype);

defineMethod('regenerate', function regenerate(this: Store, req, callback) {
  (this as unknown as StoreMethods).destroy(req.sessionID as string, (error) => {
    this.generate?.(req);
    callback(error);
  });
});

defineMethod('load', function load(this: Store, sid, callback) {
  (this as unknown as StoreMethods).get(sid, (error, value) => {
    if (error) return callback(error);
    if (!value) return callback();
    const req: RequestLike = { sessionID: sid, sessionStore: this };
    callback(undefined, this.createSession(req, value as ConnectSessionObject));
  });
});

defineMethod('createSession', function createSessionMethod(this: Store, req, data) {
  // A request the middleware serves keeps its lifecycle (the session being replaced holds it).
  return createSession(req, data, controlOf(req.session));
});

function defineMethod<K extends 'regenerate' | 'load' | 'createSession'>(
  name: K,
  fn: (this: Store, ...args: Parameters<Store[K]>) => ReturnType<Store[K]>,
): void {
  Object.defineProperty(Store.prototype, name, {
    configurable: true,
    enumerable: false,
    writable: true,
    value: fn,
  });
}

/**
 * Turn stored data (`{ cookie, ...data }`, as JSON gave it back) into `req.session`: the cookie
 * becomes a {@link Cookie} with `expires` as a Date and `originalMaxAge` as stored.
 */
export function createSession(
  req: RequestLike,
  data: { cookie?: unknown },
  control?: SessionControl,
): Session {
  const stored = (
    typeof data.cookie === 'object' && data.cookie !== null ? data.cookie : {}
  ) as CookieData;
  const expires = stored.expires;
  const originalMaxAge = stored.originalMaxAge ?? null;
  const cookie = new Cookie(stored);
  if (typeof expires === 'string') cookie.expires = new Date(expires);
  cookie.originalMaxAge = originalMaxAge;
  data.cookie = cookie;
  const session = new Session(req, data, control);
  req.session = session;
  return session;
}

interface StoreMethods {
  get(sid: string, callback: ConnectCallback): void;
  destroy(sid: string, callback: ConnectCallback): void;
}

/**
 * express-session's in-process store: JSON strings in a plain map, expired sessions dropped when
 * read. Not for production (it grows without bound and serves one process), as in express-session.
 */
export class MemoryStore extends Store {
  /** sid → JSON of the session. */
  sessions: Record<string, string> = Object.create(null);

  /** Every live session, by sid. */
  all(callback: (error: unknown, sessions?: Record<string, unknown>) => void): void {
    const out: Record<string, unknown> = Object.create(null);
    for (const sid of Object.keys(this.sessions)) {
      const session = this.read(sid);
      if (session) out[sid] = session;
    }
    defer(() => callback(null, out));
  }

  /** Drop every session. */
  clear(callback?: ConnectCallback): void {
    this.sessions = Object.create(null);
    if (callback) defer(callback);
  }

  /** Drop one session. */
  destroy(sid: string, callback?: ConnectCallback): void {
    delete this.sessions[sid];
    if (callback) defer(callback);
  }

  /** Read one live session (`undefined` when missing or expired). */
  get(sid: string, callback: ConnectCallback): void {
    const session = this.read(sid);
    defer(() => callback(null, session));
  }

  /** Write one session. */
  set(sid: string, session: unknown, callback?: ConnectCallback): void {
    this.sessions[sid] = JSON.stringify(session);
    if (callback) defer(callback);
  }

  /** How many live sessions there are. */
  length(callback: (error: unknown, length?: number) => void): void {
    this.all((error, sessions) => {
      if (error) return callback(error);
      callback(null, Object.keys(sessions ?? {}).length);
    });
  }

  /** Move a stored session's cookie expiry to `session.cookie`'s. */
  touch(sid: string, session: { cookie: unknown }, callback?: ConnectCallback): void {
    const current = this.read(sid);
    if (current) {
      current.cookie = session.cookie;
      this.sessions[sid] = JSON.stringify(current);
    }
    if (callback) defer(callback);
  }

  private read(sid: string): { cookie: unknown; [key: string]: unknown } | undefined {
    const text = this.sessions[sid];
    if (!text) return undefined;
    const session = JSON.parse(text) as { cookie: { expires?: unknown } };
    const expires =
      typeof session.cookie?.expires === 'string' ? new Date(session.cookie.expires) : undefined;
    if (expires !== undefined && expires.valueOf() <= Date.now()) {
      delete this.sessions[sid];
      return undefined;
    }
    return session;
  }
}

function defer(fn: (...args: unknown[]) => void): void {
  setImmediate(fn);
}
