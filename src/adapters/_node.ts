/**
 * Private (not exported from the package), node-only: what the `node:http`-based adapters (node,
 * Express) share — starting a request's session (`attach`), finding it again (`getSession`),
 * running the CSRF check (`runCsrf`), and holding the response until the commit is done.
 *
 * The core works on a neutral pair — cookie header in, `Set-Cookie` values out. What remains for
 * an adapter is to hold back the first header byte until the commit is done. node:http and
 * Express have no async pre-header hook, so `holdResponse` defers `writeHead`, `write`, `end` and
 * `flushHeaders` until `scope.end()` settles, then replays them in order.
 */

import {
  type IncomingMessage,
  type OutgoingHttpHeaders,
  OutgoingMessage,
  type ServerResponse,
} from 'node:http';
import { isSessionError, StateError } from '../core/errors.js';
import type {
  ConcurrencyMode,
  SessionManager,
  SessionResponse,
  SessionScope,
} from '../core/manager.js';
import type { Session } from '../core/session.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import { type CsrfProtection, type CsrfRequest, SAFE_METHODS } from '../csrf/index.js';
import { renderError, statusText } from './_errors.js';
import { appendVary } from './_web.js';

/**
 * Where a request's session lives: a symbol-keyed property on the request itself. Every request
 * takes the same shape transition (one hidden class), and nothing is added to a WeakMap.
 */
const SESSION: unique symbol = Symbol('sessionkit.session');

/** A node request as this module sees it: with the session it attached, if any. */
type WithSession = IncomingMessage & { [SESSION]?: unknown };

/**
 * Start a session for a node request (lazily: nothing is read until it is used) and, once the
 * session is first used, hold the response until the commit settles. Throws what
 * `manager.begin` throws (`ERR_SESSION_CONFIG` for `concurrency: 'lock'` on a store without locks).
 */
export function attach<D extends object, F extends object>(
  manager: SessionManager<D, F>,
  req: IncomingMessage,
  res: ServerResponse,
  ip: string | (() => string | undefined) | undefined,
  concurrency: ConcurrencyMode | undefined,
): Session<D, F> {
  const scope = manager.begin({
    cookie: req.headers.cookie,
    header: (name) => req.headersDistinct[name],
    ip,
    userAgent: header(req, 'user-agent'),
    concurrency,
  });
  // Hold the response only once the session is used: an untouched request costs no patching.
  scope.onTouch(() => holdResponse(req, res, scope));
  (req as WithSession)[SESSION] = scope.session;
  return scope.session;
}

/**
 * The session of a request handled by the node or Express adapter's `sessionMiddleware` (or
 * the node adapter's `withSession`). Throws `ERR_SESSION_STATE` when the request did not go
 * through one.
 */
export function getSession<D extends object = DefaultData, F extends object = DefaultFlash>(
  req: IncomingMessage,
): Session<D, F> {
  const session = (req as WithSession)[SESSION];
  if (session === undefined) {
    throw new StateError('No session on this request: install the sessionkit middleware first.');
  }
  return session as Session<D, F>;
}

/**
 * Run the CSRF check for a node request: `next()` when it passes; a session error (403 for a
 * failed check, 503 when the session cannot be loaded) is answered with the generic error
 * response and `next` is not called; any other error goes to `next(error)`, as does a request
 * without a session (`ERR_SESSION_STATE`).
 */
export function runCsrf(
  csrf: CsrfProtection,
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
  scheme: 'http' | 'https',
): void {
  let session: Session<object, object>;
  try {
    session = getSession(req);
  } catch (error) {
    next(error);
    return;
  }
  const request: CsrfRequest = {
    method: effectiveMethod(req),
    path: pathOf(req),
    headers: (name) => header(req, name),
    body: (req as IncomingMessage & { body?: unknown }).body,
    scheme,
  };
  csrf.verify(request, session).then(
    () => next(),
    (error: unknown) => {
      if (!isSessionError(error)) next(error);
      else if (!res.headersSent && !res.writableEnded) sendError(res, error, header(req, 'accept'));
    },
  );
}

// A method-override middleware mounted earlier rewrites `req.method` and keeps the real one in
// `originalMethod`: a POST stays a POST for the CSRF check whatever it was rewritten to.
function effectiveMethod(req: IncomingMessage): string {
  const original = (req as IncomingMessage & { originalMethod?: unknown }).originalMethod;
  if (typeof original === 'string' && !SAFE_METHODS.has(original)) return original;
  return req.method ?? '';
}

// The full path even under a mounted router (`originalUrl`), without query or fragment.
function pathOf(req: IncomingMessage): string {
  const original = (req as IncomingMessage & { originalUrl?: unknown }).originalUrl;
  const url = typeof original === 'string' ? original : (req.url ?? '/');
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/** The client IP of a node request: the socket address, or `X-Forwarded-For` when trusted. */
export function clientIp(req: IncomingMessage, trustProxy: boolean | number): string | undefined {
  const socket = req.socket?.remoteAddress;
  if (trustProxy === false || trustProxy === 0) return socket;
  const header = req.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (chain.length === 0) return socket;
  // Trust `n` proxies: the client is the n-th address from the right (RFC 7239 §7.4 reasoning).
  const hops = trustProxy === true ? chain.length : trustProxy;
  return chain[Math.max(0, chain.length - hops)] ?? socket;
}

/** Put a commit's headers on a node response whose headers are not sent yet. */
function applySessionHeaders(res: ServerResponse, out: SessionResponse): void {
  if (out.setCookie.length > 0) {
    const existing = res.getHeader('set-cookie');
    const list =
      existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
    res.setHeader('set-cookie', [...list, ...out.setCookie]);
  }
  if (out.vary) {
    const vary = res.getHeader('vary');
    res.setHeader('vary', appendVary(vary === undefined ? undefined : String(vary), out.varyOn));
  }
  if (out.token !== undefined) res.setHeader(out.token[0], out.token[1]);
  if (out.cacheControl !== undefined) {
    // A response that reads or sets a session must never be stored by a shared cache, whatever
    // the handler said; `cacheControl: false` on the manager opts out.
    res.setHeader('cache-control', out.cacheControl);
  }
  if (out.clearSiteData !== undefined) res.setHeader('clear-site-data', out.clearSiteData);
}

/**
 * Send the generic error response ({@link renderError}) on a node response whose headers are not
 * sent yet: every header the handler set is removed first (no `Set-Cookie` leaves with an error).
 */
export function sendError(
  res: ServerResponse,
  error: unknown,
  accept: string | undefined,
  end: (body: string) => void = (body) => res.end(body),
): void {
  const response = renderError(error, accept);
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = response.status;
  res.statusMessage = statusText(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(response.body));
  end(response.body);
}

type Call = { kind: 'writeHead' | 'write' | 'end' | 'flushHeaders'; args: unknown[] };

/**
 * Hold back every header/body byte of `res` until `scope.end()` settles: on success the
 * session headers are added and the held calls replayed; on a session error (409/503/500) the
 * held response is dropped and a generic error response is sent instead. Writes while held return
 * `false`, and `'drain'` follows the replay, so streams back off instead of buffering without end.
 */
export function holdResponse<D extends object, F extends object>(
  req: IncomingMessage,
  res: ServerResponse,
  scope: SessionScope<D, F>,
): void {
  if (realHeadersSent(res) || res.writableEnded) {
    // The session was first used after the response started: too late to commit before the
    // headers (use `await session.commit()` before writing). Still release what it holds.
    res.once('close', () => void scope.abort().catch(() => undefined));
    return;
  }
  const original = {
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
  };
  const held: Call[] = [];
  let phase: 'open' | 'committing' | 'done' = 'open';
  let needsDrain = false;

  const restore = (): void => {
    res.writeHead = original.writeHead;
    res.write = original.write;
    res.end = original.end;
    res.flushHeaders = original.flushHeaders;
  };

  const replay = (out: SessionResponse): void => {
    applySessionHeaders(res, out);
    for (const call of held) {
      if (call.kind === 'writeHead') {
        (original.writeHead as (...a: unknown[]) => unknown).apply(
          res,
          withSessionHeaders(call.args, out),
        );
      } else {
        (original[call.kind] as (...a: unknown[]) => unknown).apply(res, call.args);
      }
    }
    if (needsDrain) res.emit('drain');
  };

  const start = (): void => {
    if (phase !== 'open') return;
    phase = 'committing';
    scope.end().then(
      (out) => {
        phase = 'done';
        restore();
        replay(out);
      },
      (error: unknown) => {
        phase = 'done';
        restore();
        sendError(res, error, header(req, 'accept'));
      },
    );
  };

  const hold =
    (kind: Call['kind']) =>
    (...args: unknown[]): unknown => {
      if (phase === 'open' && !scope.touched) {
        // The session was never used: nothing to commit and no header to add, so the response
        // goes out at once, without a held copy or a microtask of delay.
        phase = 'done';
        restore();
        return (original[kind] as (...a: unknown[]) => unknown).apply(res, args);
      }
      held.push({ kind, args });
      start();
      if (kind === 'write') {
        needsDrain = true;
        return false;
      }
      return kind === 'flushHeaders' ? undefined : res;
    };

  res.writeHead = hold('writeHead') as typeof res.writeHead;
  res.write = hold('write') as typeof res.write;
  res.end = hold('end') as typeof res.end;
  res.flushHeaders = hold('flushHeaders') as typeof res.flushHeaders;
  // Once the handler has written or ended, its headers count as sent, as they would be without
  // the hold: error handlers that check `headersSent` must not write a second response over it
  // (which replayed a wrong status and crashed the process with "write after end").
  // (Never deleted afterwards: a delete would drop `res` into slow dictionary mode for every
  // later property access by node and the framework; once released it reports the real value.)
  (res as HeldResponse)[HOLD_PHASE] = () => phase;
  Object.defineProperty(res, 'headersSent', HEADERS_SENT_OVERRIDE);

  // The client went away before any response: give up without committing (releases a lock).
  res.once('close', () => {
    if (phase !== 'open') return;
    phase = 'done';
    restore();
    void scope.abort().catch(() => undefined);
  });
}

const HEADERS_SENT = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'headersSent')?.get;

const HOLD_PHASE = Symbol('sessionkit.holdPhase');
type HeldResponse = ServerResponse & { [HOLD_PHASE]?: () => 'open' | 'committing' | 'done' };

// One shared accessor for every held response: a per-response closure here would give each
// response its own hidden class and slow every later property access on it.
const HEADERS_SENT_OVERRIDE: PropertyDescriptor = {
  configurable: true,
  get(this: HeldResponse): boolean {
    return this[HOLD_PHASE]?.() === 'committing' || realHeadersSent(this);
  },
};

/** The response's own `headersSent`, past any override. */
function realHeadersSent(res: ServerResponse): boolean {
  return HEADERS_SENT === undefined ? false : Boolean(HEADERS_SENT.call(res));
}

/** A request header as a single string. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

// `writeHead(status, [message], [headers])` headers override setHeader() values, so the session's
// headers are merged into that object too.
function withSessionHeaders(args: unknown[], out: SessionResponse): unknown[] {
  const index = typeof args[1] === 'string' ? 2 : 1;
  const given = args[index];
  if (typeof given !== 'object' || given === null) return args;
  const headers: OutgoingHttpHeaders = {};
  if (Array.isArray(given)) {
    // A flat [name, value, …] list may repeat a name (several Set-Cookie): keep every value.
    for (let i = 0; i + 1 < given.length; i += 2) {
      const name = String(given[i]);
      const previous = headers[name];
      const value = given[i + 1] as string | string[];
      headers[name] = previous === undefined ? value : [previous, value].flat().map(String);
    }
  } else {
    Object.assign(headers, given);
  }
  const lower = new Map(Object.keys(headers).map((k) => [k.toLowerCase(), k]));
  const cookieKey = lower.get('set-cookie');
  if (cookieKey !== undefined && out.setCookie.length > 0) {
    const existing = headers[cookieKey];
    const list = Array.isArray(existing)
      ? existing
      : existing === undefined
        ? []
        : [String(existing)];
    headers[cookieKey] = [...list, ...out.setCookie];
  }
  const varyKey = lower.get('vary');
  if (varyKey !== undefined && out.vary)
    headers[varyKey] = appendVary(String(headers[varyKey]), out.varyOn);
  const ccKey = lower.get('cache-control');
  if (ccKey !== undefined && out.cacheControl !== undefined) {
    headers[ccKey] = out.cacheControl;
  }
  const csdKey = lower.get('clear-site-data');
  if (csdKey !== undefined && out.clearSiteData !== undefined) {
    headers[csdKey] = out.clearSiteData;
  }
  const copy = [...args];
  copy[index] = headers;
  return copy;
}
