/**
 * `sessionkit/adapters/hono` — sessions for Hono 4, on every runtime Hono runs on
 * (`@hono/node-server`, Bun, Deno, workers): web-standard APIs only, no `node:http`.
 *
 * ```ts
 * const app = new Hono<SessionEnv<AppData, FlashData>>();
 * app.use(sessionMiddleware(manager));
 * app.post('/counter', async (c) => {
 *   const counter = await c.get('session').update('counter', (n = 0) => n + 1);
 *   return c.json({ counter });
 * });
 * ```
 *
 * Commit timing: after `await next()` — once the handler (and every middleware after this one)
 * produced `c.res` — and before the middleware returns, so the session's `Set-Cookie`,
 * `Vary: Cookie` and `Cache-Control` go out with the first header byte. A response with immutable
 * headers (`Response.redirect()`, a `fetch()` result) is copied to carry them. For streaming
 * bodies (`c.body(stream)`, `streamText`), make every write, `await session.commit()`, then
 * return the stream: writes made while the stream runs are never committed.
 *
 * Errors: session errors are answered by this middleware with a generic response (409, 503 +
 * `Retry-After`, 500; `Cache-Control: no-store`, no `Set-Cookie`) — a commit failure replaces
 * the handler's response, and a session error thrown by a handler (a store outage while
 * reading) replaces whatever `app.onError` returned for it (onError still sees it, for logging).
 * A handler that throws anything else commits nothing (a lock is released) and Hono's `onError`
 * response stands.
 */

import type { Context, MiddlewareHandler } from 'hono';
import { isSessionError, StateError } from '../core/errors.js';
import type { ConcurrencyMode, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import { type CsrfOptions, createCsrfProtection, SAFE_METHODS } from '../csrf/index.js';
import { discard, errorResponse, withSessionHeaders } from './_web.js';

export type { CsrfOptions } from '../csrf/index.js';

/**
 * The Hono environment that types `c.get('session')`: `new Hono<SessionEnv<AppData, FlashData>>()`.
 * Combine with your own: `SessionEnv<AppData> & { Bindings: MyBindings }`.
 */
export type SessionEnv<D extends object = DefaultData, F extends object = DefaultFlash> = {
  Variables: { session: Session<D, F> };
};

/** Options of {@link sessionMiddleware}. */
export interface HonoSessionOptions {
  /**
   * The client IP for a request, recorded on create and login ("your devices"). Hono has no
   * portable socket address; on `@hono/node-server` use
   * `(c) => getConnInfo(c).remote.address` (from `@hono/node-server/conninfo`), elsewhere your
   * runtime's equivalent. Never trust a client-supplied `X-Forwarded-For` here.
   * @default no IP (`null` in the session's metadata)
   */
  getClientIp?: (c: Context) => string | undefined;
  /**
   * Concurrency mode for requests through this middleware (overrides the manager's).
   * @default the manager's `concurrency`
   */
  concurrency?: ConcurrencyMode;
}

/**
 * Hono middleware: starts the request's session lazily (no store I/O until it is used), sets it
 * as the `session` variable, and commits after `await next()`. See the module comment for the
 * error behaviour. Throws `ERR_SESSION_CONFIG` per request when `concurrency: 'lock'` is asked of
 * a store without locks.
 */
export function sessionMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: HonoSessionOptions = {},
): MiddlewareHandler<SessionEnv<D, F>> {
  return async function sessionMiddleware(c, next) {
    const scope = manager.begin({
      cookie: c.req.header('cookie'),
      header: (name) => c.req.header(name),
      ip: options.getClientIp === undefined ? undefined : () => options.getClientIp?.(c),
      userAgent: c.req.header('user-agent'),
      concurrency: options.concurrency,
    });
    c.set('session', scope.session);
    try {
      await next();
    } catch (error) {
      // Only when `onError` itself threw: nothing will be sent from here, so release the lock.
      await scope.abort().catch(() => undefined);
      throw error;
    }
    // Hono hands a handler's error to `onError` where it was thrown; it surfaces here as c.error.
    if (c.error !== undefined) {
      await scope.abort().catch(() => undefined);
      if (isSessionError(c.error)) await replace(c, errorResponse(c.error, accept(c)));
      return;
    }
    let response: Response;
    try {
      response = withSessionHeaders(c.res, await scope.end());
    } catch (error) {
      await replace(c, errorResponse(error, accept(c)));
      return;
    }
    if (response !== c.res) await replace(c, response, false);
  };
}

/**
 * The session of the current request: `c.get('session')`, but throws `ERR_SESSION_STATE` when
 * {@link sessionMiddleware} did not run for this route.
 */
export function getSession<D extends object = DefaultData, F extends object = DefaultFlash>(
  c: Context<SessionEnv<D, F>>,
): Session<D, F> {
  const session = c.get('session') as Session<D, F> | undefined;
  if (session === undefined) {
    throw new StateError('No session on this request: install sessionMiddleware() first.');
  }
  return session;
}

function accept(c: Context): string | null {
  return c.req.header('accept') ?? null;
}

/**
 * Make `response` the one sent. Assigning `c.res` while one is set merges the old response's
 * headers into the new one (Set-Cookie included), so it is cleared first: an error response
 * must not carry the handler's cookies, and a copy must not have its Set-Cookie list reset.
 */
async function replace(c: Context, response: Response, dropOld = true): Promise<void> {
  if (dropOld) await discard(c.res);
  c.res = undefined;
  c.res = response;
}

/**
 * Hono CSRF middleware (options and rules: `sessionkit/csrf`). Mount it after
 * {@link sessionMiddleware}. The token comes from the `x-csrf-token` header or the `_csrf` field
 * of a urlencoded, multipart or JSON body (never the URL), read with Hono's own cached
 * `c.req.parseBody()` / `c.req.json()` so the handler can read the body again (a repeated form
 * field: Hono keeps the last). Unsafe requests (anything but GET, HEAD, OPTIONS) without a valid
 * token — and cross-site ones — get a 403 with a generic
 * body and `Cache-Control: no-store`; the handler never runs. Pages get the token with
 * `await session.csrfToken()`. Throws `ERR_SESSION_CONFIG` for invalid options.
 */
export function csrfMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: CsrfOptions = {},
): MiddlewareHandler<SessionEnv<D, F>> {
  const csrf = createCsrfProtection(manager, options);
  return async function csrfMiddleware(c, next) {
    const url = new URL(c.req.url);
    const method = c.req.method;
    const checked = !SAFE_METHODS.has(method) && !csrf.isExcepted(url.pathname);
    try {
      await csrf.verify(
        {
          method,
          path: url.pathname,
          headers: (name) => c.req.header(name),
          body: checked ? await readBody(c) : undefined,
          scheme: url.protocol === 'https:' ? 'https' : 'http',
        },
        getSession(c),
      );
    } catch (error) {
      if (!isSessionError(error)) throw error;
      return errorResponse(error, accept(c));
    }
    await next();
    return undefined;
  };
}

// The parsed body when it is a form or JSON; anything else (text/plain included) has no field.
async function readBody(c: Context): Promise<unknown> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  try {
    if (type.startsWith('application/json')) return await c.req.json();
    if (
      type.startsWith('application/x-www-form-urlencoded') ||
      type.startsWith('multipart/form-data')
    ) {
      return await c.req.parseBody();
    }
  } catch {
    // A malformed body carries no usable field; the header alone decides.
  }
  return undefined;
}
