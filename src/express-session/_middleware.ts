/**
 * Private: one request's session lifecycle in the express-session facade — read the signed
 * cookie, load or generate `req.session`, and at the first header byte decide (with
 * express-session 1.19's rules for `resave`, `rolling`, `saveUninitialized` and `unset`) whether to
 * save, touch or destroy; the response is held until that store call is done, so a failed save
 * becomes an error response instead of a success pointing at nothing.
 */

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isSessionError, StoreError } from '../core/errors.js';
import type { Backend, LoadState } from './_backend.js';
import { Cookie, type CookieOptions, readCookie, type Secret, sign, unsign } from './_cookie.js';
import { holdFirstByte } from './_hold.js';
import { CONTROL, type RequestLike, Session, type SessionControl } from './_session.js';
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

/** Fill `req.sessionID` and `req.session` with a fresh session (express-session's `store.generate`). */
export function generateInto(config: FacadeConfig, req: FacadeRequest): void {
  const options = typeof config.cookie === 'function' ? config.cookie(req) : config.cookie;
  req.sessionID = config.genid(req);
  const session = new Session(req);
  session.cookie = freshCookie(config, req, options);
  req.session = session;
}

/** A new session's cookie: the options, with `'auto'` `secure` / `sameSite` resolved for `req`. */
function freshCookie(config: FacadeConfig, req: FacadeRequest, options: CookieOptions): Cookie {
  const cookie = new Cookie(options);
  const secure = isSecure(req, config.proxy);
  if (options.secure === 'auto') cookie.secure = secure;
  if (options.sameSite === 'auto') cookie.sameSite = secure ? 'none' : 'lax';
  return cookie;
}

/** Handle one request: see the module header. */
export function handle(
  config: FacadeConfig,
  req: FacadeRequest,
  res: ServerResponse,
  next: Next,
): void {
  if (req.session) {
    next();
    return;
  }
  if (!config.isReady()) {
    config.emit({ type: 'store-unavailable' });
    if (config.strict) unavailable(res);
    else next();
    return;
  }
  const options = typeof config.cookie === 'function' ? config.cookie(req) : config.cookie;
  if (!pathOf(req).startsWith(options.path || '/')) {
    next();
    return;
  }
  const secrets = config.secrets ?? (req.secret ? [req.secret] : undefined);
  if (secrets === undefined) {
    next(new Error('secret option required for sessions'));
    return;
  }

  const { backend } = config;
  const state: LoadState = {};
  let originalId: string | undefined;
  let originalHash: string | undefined;
  let savedHash: string | undefined;
  let destroyedByRequest = false;
  req.sessionStore = config.store;
  const cookieId = getCookie(req, config.name, secrets);
  req.sessionID = cookieId;

  const fail = (operation: string, error: unknown): unknown => {
    config.emit({ type: 'store-error', operation, error });
    // Compat: the store's own error, as express-session hands it on; strict: the typed error.
    if (!config.strict && isSessionError(error, 'ERR_SESSION_STORE') && error.cause !== undefined) {
      return error.cause;
    }
    return isSessionError(error)
      ? error
      : new StoreError(`The session store failed during ${operation}.`, { cause: error });
  };
  const generate = (): void => {
    generateInto(config, req);
    originalId = req.sessionID;
    originalHash = hash(req.session as Session);
    state.version = undefined;
    state.snapshot = undefined;
    state.pending = undefined;
  };
  const inflate = (data: Record<string, unknown>): void => {
    // A record without a cookie (written by something else) gets the configured one; express-
    // session fails every request of that user with a TypeError instead.
    if (typeof data.cookie !== 'object' || data.cookie === null) {
      data.cookie = freshCookie(config, req, options).data;
    }
    createSession(req, data);
    originalId = req.sessionID;
    originalHash = hash(data);
    // A session read from the store being migrated from is written to the new one regardless.
    if (!config.resave && !state.pending) savedHash = originalHash;
  };
  // `h` is `hash(s)`, computed once per decision by the caller (JSON + SHA-256 of the session).
  const isModified = (s: Session, h: string): boolean => originalId !== s.id || originalHash !== h;
  const isSaved = (s: Session, h: string): boolean => originalId === s.id && savedHash === h;
  const shouldSave = (s: Session, h: string): boolean => {
    if (typeof req.sessionID !== 'string') return false;
    return !config.saveUninitialized && !savedHash && cookieId !== req.sessionID
      ? isModified(s, h)
      : !isSaved(s, h);
  };
  const shouldTouch = (s: Session, h: string): boolean =>
    typeof req.sessionID === 'string' && cookieId === req.sessionID && !shouldSave(s, h);
  const shouldSetCookie = (s: Session, h: string): boolean => {
    if (typeof req.sessionID !== 'string') return false;
    return cookieId !== req.sessionID
      ? config.saveUninitialized || isModified(s, h)
      : config.rolling || (s.cookie.expires != null && isModified(s, h));
  };
  const save = async (s: Session, h: string = hash(s)): Promise<boolean> => {
    savedHash = h;
    return backend.save(s.id, s, state);
  };

  const control: SessionControl = {
    save(s, callback) {
      save(s).then(
        () => callback(),
        (error: unknown) => callback(fail('save', error)),
      );
    },
    reload(s, callback) {
      backend.load(s.id, state).then(
        (data) => {
          if (data === undefined) return callback(new Error('failed to load session'));
          createSession(req, data);
          callback();
        },
        (error: unknown) => callback(fail('reload', error)),
      );
    },
    destroy(s, callback) {
      delete req.session;
      destroyedByRequest = true;
      backend.destroy(s.id, state).then(
        () => callback(),
        (error: unknown) => callback(fail('destroy', error)),
      );
    },
    regenerate(_s, callback) {
      backend.destroy(req.sessionID as string, state).then(
        () => {
          generate();
          callback();
        },
        (error: unknown) => {
          generate();
          callback(fail('destroy', error));
        },
      );
    },
  };
  req[CONTROL] = control;

  let touched = false;
  const hold = holdFirstByte(
    res,
    () => {
      const s = req.session;
      if (s && !touched) {
        s.touch();
        touched = true;
      }
      const h = s ? hash(s) : '';
      const cookies: string[] = [];
      let setCookie = false;
      if (s && shouldSetCookie(s, h) && !(s.cookie.secure && !isSecure(req, config.proxy))) {
        setCookie = true;
      } else if (!s && destroyedByRequest && cookieId !== undefined) {
        // Better than express-session: a destroyed session's cookie is expired too.
        const data = { ...new Cookie(options).data, expires: new Date(0) };
        cookies.push(new Cookie(data).serialize(config.name, ''));
      }
      const writeCookie = (): void => {
        if (setCookie && req.session) {
          const value = `s:${sign(req.sessionID as string, secrets[0] as Secret)}`;
          cookies.push(req.session.cookie.serialize(config.name, value));
        }
        hold.withHeaders(() => appendSetCookie(res, cookies));
      };
      let work: Promise<unknown> | undefined;
      if (req.sessionID && config.unsetDestroy && req.session == null && !destroyedByRequest) {
        work = backend
          .destroy(req.sessionID, state)
          .catch((e: unknown) => Promise.reject(fail('destroy', e)));
      } else if (s && shouldSave(s, h)) {
        work = save(s, h).catch((e: unknown) => Promise.reject(fail('save', e)));
      } else if (s && shouldTouch(s, h) && (backend.native || hasTouch(config.store))) {
        work = backend
          .touch(s.id, s, state)
          .catch((e: unknown) => Promise.reject(fail('touch', e)));
      }
      if (work === undefined) {
        writeCookie();
        return undefined;
      }
      return work.then((written) => {
        if (written === false) {
          // Destroyed by another request while this one ran: termination is final.
          config.emit({ type: 'write-dropped' });
          setCookie = false;
        }
        writeCookie();
      });
    },
    (error) => {
      if (config.strict && isSessionError(error)) unavailable(res, error.status);
      else next(error);
    },
  );

  if (cookieId === undefined) {
    generate();
    next();
    return;
  }
  backend.load(cookieId, state).then(
    (data) => {
      try {
        if (data === undefined) generate();
        else inflate(data);
      } catch (error) {
        next(error);
        return;
      }
      next();
    },
    (error: unknown) => {
      const failure = fail('load', error);
      if (config.strict) unavailable(res);
      else next(failure);
    },
  );
}

/** express-session's change detector: the session's JSON without its cookie. */
function hash(session: object): string {
  const text = JSON.stringify(session, function (this: unknown, key, value) {
    return this === session && key === 'cookie' ? undefined : value;
  });
  return createHash('sha256')
    .update(text ?? '')
    .digest('base64url');
}

function getCookie(
  req: FacadeRequest,
  name: string,
  secrets: readonly Secret[],
): string | undefined {
  const header = req.headers.cookie;
  let value: string | undefined;
  const raw = readCookie(Array.isArray(header) ? header.join('; ') : header, name);
  if (raw?.startsWith('s:')) value = unsign(raw.slice(2), secrets) || undefined;
  if (!value && typeof req.signedCookies?.[name] === 'string')
    value = req.signedCookies[name] as string;
  const parsed = req.cookies?.[name];
  if (!value && typeof parsed === 'string' && parsed.startsWith('s:')) {
    value = unsign(parsed.slice(2), secrets) || undefined;
  }
  return value;
}

function isSecure(req: FacadeRequest, proxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted) return true;
  if (proxy === false) return false;
  if (proxy !== true) return req.secure === true;
  const header = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0] ?? '';
  return first.trim().toLowerCase() === 'https';
}

function pathOf(req: FacadeRequest): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const end = url.search(/[?#]/);
  return (end === -1 ? url : url.slice(0, end)) || '/';
}

function hasTouch(store: unknown): boolean {
  return typeof (store as { touch?: unknown }).touch === 'function';
}

function appendSetCookie(res: ServerResponse, cookies: string[]): void {
  if (cookies.length === 0) return;
  const previous = res.getHeader('Set-Cookie');
  const list =
    previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
  res.setHeader('Set-Cookie', [...list, ...cookies]);
}

/** Strict mode's answer to a store that cannot serve: 503, never cached, generic body. */
function unavailable(res: ServerResponse, status = 503): void {
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
