/**
 * Private: one request of the express-session facade after its cookie was read — the session it
 * loaded or generated (express-session's `store.generate`), the store calls of `req.session`'s
 * methods, and the decision at the first header byte (express-session 1.19's rules for `resave`,
 * `rolling`, `saveUninitialized` and `unset`): save, touch, destroy or nothing, with the response
 * held until that store call is done (`adapters/_hold.ts`), so a failed save becomes an error
 * response instead of a success pointing at nothing.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { HoldOwner } from '../adapters/_hold.js';
import { isSessionError } from '../core/errors.js';
import type { VerifiedIds } from '../core/verified-ids.js';
import { type Backend, type LoadState, storeFailure } from './_backend.js';
import { Cookie, type CookieOptions, type Secret, sign } from './_cookie.js';
import { type Fingerprint, fingerprint, same } from './_fingerprint.js';
import { controlOf, type RequestLike, Session, type SessionControl } from './_session.js';
import { createSession } from './_store.js';

/** An event of the facade, for logs and metrics; never carries a secret or a session id. */
export type ExpressSessionEvent =
  | { type: 'weak-secret' }
  | { type: 'store-error'; operation: string; error: unknown }
  | { type: 'store-unavailable' }
  | { type: 'write-dropped' }
  | { type: 'migrated' };

/** Everything the handler needs, resolved once from the options. */
export interface FacadeConfig {
  name: string;
  /** What `req.sessionStore` is: the connect store, or the view over a sessionkit store. */
  store: unknown;
  backend: Backend;
  cookie: CookieOptions | ((req: IncomingMessage) => CookieOptions);
  genid: (req: IncomingMessage) => string;
  proxy: boolean | undefined;
  resave: boolean;
  rolling: boolean;
  saveUninitialized: boolean;
  unsetDestroy: boolean;
  secrets: Secret[] | undefined;
  /** Signed cookie values these `secrets` accepted (none for `req.secret`, which may vary). */
  verified: VerifiedIds | undefined;
  strict: boolean;
  emit: (event: ExpressSessionEvent) => void;
  isReady: () => boolean;
}

/** The request as the facade sees it (Express adds `originalUrl`, `secure`, `secret`, …). */
export type FacadeRequest = IncomingMessage &
  RequestLike & {
    originalUrl?: string;
    secure?: boolean;
    secret?: Secret;
    signedCookies?: Record<string, unknown>;
    cookies?: Record<string, unknown>;
  };

/** Express's `next`. */
export type Next = (error?: unknown) => void;

/**
 * Fill `req.sessionID` and `req.session` with a fresh session (express-session's `store.generate`)
 * whose methods go through `control` (the request's {@link Lifecycle}).
 */
export function generateInto(
  config: FacadeConfig,
  req: FacadeRequest,
  control: SessionControl | undefined,
): void {
  const options = typeof config.cookie === 'function' ? config.cookie(req) : config.cookie;
  req.sessionID = config.genid(req);
  const session = new Session(req, undefined, control);
  session.cookie = freshCookie(config, req, options);
  req.session = session;
}

/**
 * The store's `generate(req)` (set on a connect store, and on the view over a sessionkit store):
 * a request the middleware serves keeps its lifecycle (the session being replaced holds it).
 */
export function generateFor(config: FacadeConfig, req: FacadeRequest): void {
  const control = controlOf(req.session);
  if (control instanceof Lifecycle) control.generateFromStore();
  else generateInto(config, req, control);
}

/** A new session's cookie: the options, with `'auto'` `secure` / `sameSite` resolved for `req`. */
export function freshCookie(
  config: FacadeConfig,
  req: FacadeRequest,
  options: CookieOptions,
): Cookie {
  const cookie = new Cookie(options);
  const secure = isSecure(req, config.proxy);
  if (options.secure === 'auto') cookie.secure = secure;
  if (options.sameSite === 'auto') cookie.sameSite = secure ? 'none' : 'lax';
  return cookie;
}

/**
 * One request's session: what it loaded (it is the backend's {@link LoadState}), the store calls
 * of `req.session`'s methods ({@link SessionControl}), and the commit at the first header byte
 * ({@link HoldOwner}). One object per request, its methods on the prototype: no closure per
 * request for any of it.
 */
export class Lifecycle implements LoadState, SessionControl, HoldOwner<unknown> {
  version: number | undefined = undefined;
  snapshot: string | undefined = undefined;
  pending: boolean | undefined = undefined;
  expiresAt: number | undefined = undefined;
  key: string | undefined = undefined;
  keyId: string | undefined = undefined;
  /** The id and the change fingerprint (`_fingerprint.ts`) of the session as loaded or generated. */
  originalId: string | undefined = undefined;
  originalHash: Fingerprint | undefined = undefined;
  /** The fingerprint last saved (or loaded, when unmodified sessions are not re-saved). */
  savedHash: Fingerprint | undefined = undefined;
  destroyedByRequest = false;
  /** `req.session.touch()` ran at the first header byte. */
  touched = false;
  /** Whether the first header byte sends the session cookie, and the store call it waits for. */
  setCookie = false;
  operation: string | undefined = undefined;

  constructor(
    readonly config: FacadeConfig,
    readonly req: FacadeRequest,
    readonly next: Next,
    readonly options: CookieOptions,
    readonly secrets: readonly Secret[],
    readonly cookieId: string | undefined,
  ) {}

  /** A store error as the app sees it, after the `store-error` event. */
  fail(operation: string, error: unknown): unknown {
    return storeFailure(this.config, operation, error);
  }

  generate(): void {
    generateInto(this.config, this.req, this);
    this.originalId = this.req.sessionID;
    this.originalHash = fingerprint(this.req.session as Session);
    this.version = undefined;
    this.snapshot = undefined;
    this.pending = undefined;
  }

  /**
   * A fresh session made by the store's `generate(req)` (express-session's pattern after
   * `destroy()`, and `store.regenerate`): what was loaded is no longer this request's session, so
   * its next save creates the new id. `originalId` stays: the new id counts as a change.
   */
  generateFromStore(): void {
    generateInto(this.config, this.req, this);
    this.version = undefined;
    this.snapshot = undefined;
    this.expiresAt = undefined;
    this.pending = undefined;
  }

  /** Turn loaded data into `req.session`. */
  inflate(data: Record<string, unknown>): void {
    // A record without a cookie (written by something else) gets the configured one; express-
    // session fails every request of that user with a TypeError instead.
    if (typeof data.cookie !== 'object' || data.cookie === null) {
      data.cookie = freshCookie(this.config, this.req, this.options).data;
    }
    createSession(this.req, data, this);
    this.originalId = this.req.sessionID;
    this.originalHash = fingerprint(data);
    // A session read from the store being migrated from is written to the new one regardless.
    if (!this.config.resave && !this.pending) this.savedHash = this.originalHash;
  }

  loaded(data: Record<string, unknown> | undefined): void {
    try {
      if (data === undefined) this.generate();
      else this.inflate(data);
    } catch (error) {
      this.next(error);
      return;
    }
    this.next();
  }

  loadFailed(res: ServerResponse, error: unknown): void {
    const failure = this.fail('load', error);
    if (this.config.strict) unavailable(res);
    else this.next(failure);
  }

  // `h` is `fingerprint(s)`, computed once per decision by the caller.
  isModified(s: Session, h: Fingerprint): boolean {
    return this.originalId !== s.id || !same(this.originalHash, h);
  }
  isSaved(s: Session, h: Fingerprint): boolean {
    return this.originalId === s.id && same(this.savedHash, h);
  }
  shouldSave(s: Session, h: Fingerprint): boolean {
    if (typeof this.req.sessionID !== 'string') return false;
    return !this.config.saveUninitialized && !this.savedHash && this.cookieId !== this.req.sessionID
      ? this.isModified(s, h)
      : !this.isSaved(s, h);
  }
  shouldTouch(s: Session, h: Fingerprint): boolean {
    return (
      typeof this.req.sessionID === 'string' &&
      this.cookieId === this.req.sessionID &&
      !this.shouldSave(s, h)
    );
  }
  shouldSetCookie(s: Session, h: Fingerprint): boolean {
    if (typeof this.req.sessionID !== 'string') return false;
    return this.cookieId !== this.req.sessionID
      ? this.config.saveUninitialized || this.isModified(s, h)
      : this.config.rolling || (s.cookie.expires != null && this.isModified(s, h));
  }

  /** Save `s` (fingerprint `h`) to the store. */
  write(s: Session, h: Fingerprint): Promise<boolean> {
    this.savedHash = h;
    return this.config.backend.save(s.id, s, this);
  }

  // SessionControl: `req.session.save()` and the other methods.
  save(s: Session, callback: (error?: unknown) => void): void {
    this.write(s, fingerprint(s)).then(
      () => callback(),
      (error: unknown) => callback(this.fail('save', error)),
    );
  }
  reload(s: Session, callback: (error?: unknown) => void): void {
    this.config.backend.load(s.id, this).then(
      (data) => {
        if (data === undefined) return callback(new Error('failed to load session'));
        createSession(this.req, data, this);
        callback();
      },
      (error: unknown) => callback(this.fail('reload', error)),
    );
  }
  destroy(s: Session, callback: (error?: unknown) => void): void {
    delete this.req.session;
    this.destroyedByRequest = true;
    this.config.backend.destroy(s.id, this).then(
      () => callback(),
      (error: unknown) => callback(this.fail('destroy', error)),
    );
  }
  regenerate(_s: Session, callback: (error?: unknown) => void): void {
    this.config.backend.destroy(this.req.sessionID as string, this).then(
      () => {
        this.generate();
        callback();
      },
      (error: unknown) => {
        this.generate();
        callback(this.fail('destroy', error));
      },
    );
  }

  // HoldOwner: at the first header byte, save, touch or destroy as express-session decides.
  firstByte(res: ServerResponse): Promise<unknown> | undefined {
    const { config, req } = this;
    const s = req.session;
    if (s && !this.touched) {
      s.touch();
      this.touched = true;
    }
    const h = s ? fingerprint(s) : [];
    this.setCookie =
      s != null && this.shouldSetCookie(s, h) && !(s.cookie.secure && !isSecure(req, config.proxy));
    let work: Promise<unknown> | undefined;
    if (req.sessionID && config.unsetDestroy && req.session == null && !this.destroyedByRequest) {
      this.operation = 'destroy';
      work = config.backend.destroy(req.sessionID, this);
    } else if (s && this.shouldSave(s, h)) {
      this.operation = 'save';
      work = this.write(s, h);
    } else if (s && this.shouldTouch(s, h)) {
      this.operation = 'touch';
      work = config.backend.touch(s.id, s, this);
    }
    if (work === undefined) this.writeCookies(res);
    return work;
  }

  ready(res: ServerResponse, written: unknown): void {
    this.operation = undefined;
    if (written === false) {
      // Destroyed by another request while this one ran: termination is final.
      this.config.emit({ type: 'write-dropped' });
      this.setCookie = false;
    }
    this.writeCookies(res);
  }

  failed(res: ServerResponse, error: unknown): void {
    const failure = this.operation === undefined ? error : this.fail(this.operation, error);
    if (this.config.strict && isSessionError(failure)) unavailable(res, failure.status);
    else this.next(failure);
  }

  /** The session cookie (or the expired one of a destroyed session) onto the response. */
  writeCookies(res: ServerResponse): void {
    const { config, req } = this;
    let cookie: string | undefined;
    if (this.setCookie && req.session) {
      const value = `s:${sign(req.sessionID as string, this.secrets[0] as Secret)}`;
      cookie = req.session.cookie.serialize(config.name, value);
    } else if (!req.session && this.destroyedByRequest && this.cookieId !== undefined) {
      // Better than express-session: a destroyed session's cookie is expired too.
      const data = { ...new Cookie(this.options).data, expires: new Date(0) };
      cookie = new Cookie(data).serialize(config.name, '');
    }
    if (cookie !== undefined) appendSetCookie(res, cookie);
  }
}

/** Whether `req` came over TLS (or, per `proxy`, says so through its proxy). */
export function isSecure(req: FacadeRequest, proxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted) return true;
  if (proxy === false) return false;
  if (proxy !== true) return req.secure === true;
  const header = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0] ?? '';
  return first.trim().toLowerCase() === 'https';
}

function appendSetCookie(res: ServerResponse, cookie: string): void {
  const previous = res.getHeader('Set-Cookie');
  res.setHeader(
    'Set-Cookie',
    previous === undefined
      ? [cookie]
      : Array.isArray(previous)
        ? [...previous, cookie]
        : [String(previous), cookie],
  );
}

/** Strict mode's answer to a store that cannot serve: 503, never cached, generic body. */
export function unavailable(res: ServerResponse, status = 503): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = status === 503 ? 'Service Unavailable' : 'Internal Server Error';
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
