/**
 * Private (not exported from the package), node-only: what the `node:http`-based adapters (node,
 * Express) share — starting a request's session (`attach`), finding it again (`getSession`),
 * running the CSRF check (`runCsrf`), and committing before the response's first header byte.
 *
 * The core works on a neutral pair — cookie header in, `Set-Cookie` values out. What remains for
 * an adapter is to hold back the first header byte until the commit is done: node:http and
 * Express have no async pre-header hook, so once the session is first used the response is held
 * by the hold shared with the express-session facade (`_hold.ts`), with a {@link Commit} as its
 * owner.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { warnOnce } from '../core/diagnostics.js';
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
import { type HoldOwner, holdResponse } from './_hold.js';
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
  // `req.headers` read once: it is a getter on IncomingMessage.prototype, and on Express each read
  // of it walks the prototypes Express put in front of that one.
  const headers = req.headers;
  const scope = manager.begin({
    cookie: headers.cookie,
    header: (name) => req.headersDistinct[name],
    ip,
    userAgent: joined(headers['user-agent']),
    concurrency,
  });
  // Hold the response only once the session is used: an untouched request costs no patching.
  scope.onTouch(() => holdForCommit(req, res, scope));
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

/**
 * Hold `res` until `scope` is committed (see `_hold.ts`). When the session was first used after
 * the response started, it is too late to commit before the headers (use `await
 * session.commit()` before writing); what the session holds is still released.
 */
function holdForCommit<D extends object, F extends object>(
  req: IncomingMessage,
  res: ServerResponse,
  scope: SessionScope<D, F>,
): void {
  if (holdResponse(res, new Commit(req, scope))) return;
  warnLate();
  res.once('close', abortScope.bind(scope));
}

/**
 * Say once per process that a session was first used after its response's headers went out —
 * easy to do by accident (`res.writeHead(200).end(JSON.stringify({ n: await session.get('n') }))`
 * calls `writeHead` before the `await`): that response carries no `Set-Cookie`, `Vary: Cookie`
 * or `Cache-Control`, and the request's changes are not committed unless the handler awaits
 * `session.commit()` itself.
 */
function warnLate(): void {
  warnOnce(
    'SESSIONKIT_LATE_SESSION',
    "sessionkit: a session was first used after its response's headers were sent, so that response carries no Set-Cookie, Vary: Cookie or Cache-Control, and its changes are not committed unless the handler awaits session.commit(). Use the session before writeHead/write/end (await it first); see docs/adapters.md.",
  );
}

/**
 * The adapters' owner of a held response: at the first header byte, commit (an untouched session
 * sends the response at once); on success add the session's headers, on a session error (409,
 * 503, 500) answer with the generic error response instead of the held one; when the client went
 * away first, give up without committing (releases a lock).
 */
class Commit implements HoldOwner<SessionResponse> {
  constructor(
    readonly req: IncomingMessage,
    readonly scope: Committable,
  ) {}

  firstByte(): Promise<SessionResponse> | undefined {
    return this.scope.touched ? this.scope.end() : undefined;
  }

  ready(res: ServerResponse, out: SessionResponse): void {
    applySessionHeaders(res, out);
  }

  failed(res: ServerResponse, error: unknown): void {
    sendError(res, error, header(this.req, 'accept'));
  }

  closed(): void {
    abortScope.call(this.scope);
  }
}

/** What a {@link Commit} uses of a request's `SessionScope`. */
type Committable = Pick<SessionScope<object, object>, 'touched' | 'end' | 'abort'>;

function abortScope(this: Committable): void {
  void this.abort().catch(() => undefined);
}

/** A request header as a single string. */
export function header(req: IncomingMessage, name: string): string | undefined {
  return joined(req.headers[name]);
}

/** A header value as node parsed it, as a single string (repeated lines joined with `, `). */
function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
