/**
 * Private: `req.session` of the express-session facade. Its own enumerable properties are the
 * application's data plus `cookie`; `id` and `req` are non-enumerable, and the methods live on
 * the prototype, so `JSON.stringify(req.session)` is exactly the record express-session stores.
 * Each method takes an optional node-style callback; without one it returns a promise (that never
 * goes unhandled) — with one it returns the session, as express-session does.
 */

import type { ConnectCallback } from '../stores/_connect.js';
import type { Cookie } from './_cookie.js';

/** What a request must carry for a `Session` (an `IncomingMessage` in practice). */
export interface RequestLike {
  sessionID?: string | undefined;
  session?: Session | undefined;
  sessionStore?: unknown;
}

/** The per-request lifecycle that performs a session's store operations (set by the middleware). */
export interface SessionControl {
  save(session: Session, callback: (error?: unknown) => void): void;
  reload(session: Session, callback: (error?: unknown) => void): void;
  destroy(session: Session, callback: (error?: unknown) => void): void;
  regenerate(session: Session, callback: (error?: unknown) => void): void;
}

/**
 * Where a session keeps the {@link SessionControl} of the request it was made for (a
 * non-enumerable own property of the session, not of the request: behind Express every property
 * added to a request costs a hidden class of its own, see docs/benchmarks.md).
 */
export const CONTROL: unique symbol = Symbol('sessionkit.expressSession.control');

/** A callback, or a promise when there is none (the `this` of a callback form is the session). */
type Done = ((error?: unknown) => void) | undefined;

/** `req.session`: the application's data, `cookie`, `id` and the lifecycle methods. */
export class Session {
  declare readonly id: string;
  declare readonly req: RequestLike;
  declare cookie: Cookie;
  // The methods live on the prototype (non-enumerable, as in express-session); typed here.
  declare touch: () => Session;
  declare resetMaxAge: () => Session;
  declare save: (callback?: Done) => unknown;
  declare reload: (callback?: Done) => unknown;
  declare destroy: (callback?: Done) => unknown;
  declare regenerate: (callback?: Done) => unknown;
  [key: string]: unknown;

  /**
   * `control`: the middleware's lifecycle of `req` (its store calls); without one, the methods act
   * on `req.sessionStore` directly, as express-session's own Session does.
   */
  constructor(req: RequestLike, data?: object, control?: SessionControl) {
    Object.defineProperty(this, 'req', { value: req });
    Object.defineProperty(this, 'id', { value: req.sessionID });
    Object.defineProperty(this, CONTROL, { value: control });
    if (typeof data === 'object' && data !== null) {
      for (const key of Object.keys(data)) {
        // Own data only: a stored "__proto__" or a method name never shadows the prototype.
        if (!(key in this)) this[key] = (data as Record<string, unknown>)[key];
      }
    }
  }
}

/** The {@link SessionControl} `session` was made with, if any. */
export function controlOf(session: Session | undefined): SessionControl | undefined {
  return (session as { [CONTROL]?: SessionControl } | undefined)?.[CONTROL];
}

type SessionMethods = 'touch' | 'resetMaxAge' | 'save' | 'reload' | 'destroy' | 'regenerate';

define('touch', function touch(this: Session) {
  return this.resetMaxAge();
});

define('resetMaxAge', function resetMaxAge(this: Session) {
  this.cookie.maxAge = this.cookie.originalMaxAge;
  return this;
});

for (const name of ['save', 'reload', 'destroy', 'regenerate'] as const) {
  define(name, function lifecycle(this: Session, callback?: Done) {
    const control = controlOf(this) ?? fallback;
    if (typeof callback === 'function') {
      control[name](this, callback);
      return this;
    }
    const done = new Promise<void>((resolve, reject) => {
      control[name](this, (error) => (error ? reject(error) : resolve()));
    });
    done.catch(() => undefined);
    return done;
  });
}

/** A store with express-session's callback API, as `req.sessionStore` holds it. */
interface ConnectStoreOf {
  get(sid: string, callback: ConnectCallback): unknown;
  set(sid: string, session: unknown, callback?: ConnectCallback): unknown;
  destroy(sid: string, callback?: ConnectCallback): unknown;
  regenerate?(req: RequestLike, callback: (error?: unknown) => void): unknown;
  createSession?(req: RequestLike, data: unknown): unknown;
}

// A Session made outside the middleware (e.g. by `store.load`) acts on `req.sessionStore`
// directly, as express-session's own Session does.
const fallback: SessionControl = {
  save(session, callback) {
    (session.req.sessionStore as ConnectStoreOf).set(session.id, session, (e) => callback(e));
  },
  reload(session, callback) {
    const store = session.req.sessionStore as ConnectStoreOf;
    store.get(session.id, (error, value) => {
      if (error) return callback(error);
      if (!value) return callback(new Error('failed to load session'));
      store.createSession?.(session.req, value);
      callback();
    });
  },
  destroy(session, callback) {
    delete session.req.session;
    (session.req.sessionStore as ConnectStoreOf).destroy(session.id, (e) => callback(e));
  },
  regenerate(session, callback) {
    (session.req.sessionStore as ConnectStoreOf).regenerate?.(session.req, callback);
  },
};

function define(name: SessionMethods, fn: (...args: never[]) => unknown): void {
  Object.defineProperty(Session.prototype, name, {
    configurable: true,
    enumerable: false,
    writable: true,
    value: fn,
  });
}
