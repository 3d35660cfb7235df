/**
 * `sessionkit/adapters/fetch` — sessions for any `(Request) => Response` runtime: Next.js route
 * handlers, React Router loaders and actions, `Bun.serve`, `Deno.serve`, Cloudflare-style
 * `fetch` handlers. Web-standard APIs only (`Request`, `Response`, `Headers`).
 *
 * ```ts
 * export const POST = withSession(manager, async (request, session) => {
 *   const counter = await session.update('counter', (n = 0) => n + 1);
 *   return Response.json({ counter });
 * });
 * ```
 *
 * Commit timing: the session is loaded lazily from the request's `Cookie` header (nothing is
 * read until the handler uses it) and committed after the handler's `Response` resolves and
 * before it is returned, so the runtime sends the session's `Set-Cookie`, `Vary: Cookie` and
 * `Cache-Control` with the first header byte. A `Response` with immutable headers
 * (`Response.redirect()`, a `fetch()` result) is copied to carry them.
 *
 * Streaming: a body produced after the handler returns cannot change the session any more —
 * writes made while the stream runs are never committed. Make every write first, then
 * `await session.commit()` (it surfaces conflicts and outages while you can still choose the
 * response), then return the streaming `Response`; the adapter then only adds the headers.
 */

import { isSessionError, StateError } from '../core/errors.js';
import type { ConcurrencyMode, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import { type CsrfOptions, createCsrfProtection, SAFE_METHODS } from '../csrf/index.js';
import { discard, errorResponse, withSessionHeaders } from './_web.js';

/** Options of {@link withSession} and {@link createSessionScope}. */
export interface FetchSessionOptions {
  /**
   * The client IP for a request, recorded on create and login ("your devices"). A `Request` has
   * no socket, so the runtime must say: e.g. `server.requestIP(request)?.address` in Bun,
   * `info.remoteAddr.hostname` in Deno, or a header your own trusted proxy sets. Never trust a
   * client-supplied `X-Forwarded-For` here unless a proxy you run overwrites it.
   * @default no IP (`null` in the session's metadata)
   */
  getClientIp?: (request: Request) => string | undefined;
  /**
   * Concurrency mode for requests through this adapter (overrides the manager's).
   * @default the manager's `concurrency`
   */
  concurrency?: ConcurrencyMode;
}

/** A fetch handler that receives the request's session as second argument. */
export type FetchSessionHandler<D extends object, F extends object> = (
  request: Request,
  session: Session<D, F>,
) => Response | Promise<Response>;

/** One request's session plus the step that commits it onto a `Response`. */
export interface FetchSessionScope<D extends object, F extends object> {
  /** The request's session (loaded lazily on first use). */
  readonly session: Session<D, F>;
  /**
   * Commit the session and return `response` carrying its `Set-Cookie` (appended), `Vary:
   * Cookie` and `Cache-Control` — `response` itself, or a copy when its headers are immutable.
   * When the commit fails (`ERR_SESSION_CONFLICT` 409, `ERR_SESSION_STORE` or
   * `ERR_SESSION_LOCK_TIMEOUT` 503, misuse 500), `response` is discarded and a generic error
   * `Response` is returned instead (never rejects for session errors). Releases any lock.
   */
  apply(response: Response): Promise<Response>;
  /**
   * Give up without committing and release any session lock (lock mode). Call it when no
   * `Response` will go through {@link FetchSessionScope.apply}, e.g. in a `catch`.
   */
  abort(): Promise<void>;
}

const SESSIONS = new WeakMap<Request, unknown>();

/**
 * Wrap a fetch handler: it gets `(request, session)`, and its `Response` gets the session's
 * headers once the commit succeeded (see the module comment for timing and streaming).
 *
 * Errors:
 * - the commit fails → the handler's `Response` is discarded and a generic 409/503/500 is
 *   returned (`Cache-Control: no-store`, `Retry-After` on 503, no `Set-Cookie`);
 * - the handler throws a session error (`isSessionError`, e.g. a store outage while reading)
 *   → the scope is aborted and the same generic error `Response` is returned;
 * - the handler throws anything else → the scope is aborted (nothing is committed, a lock is
 *   released) and the error is rethrown for the runtime's own error handling.
 */
export function withSession<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  handler: FetchSessionHandler<D, F>,
  options: FetchSessionOptions = {},
): (request: Request) => Promise<Response> {
  return async function sessionHandler(request) {
    const scope = createSessionScope(manager, request, options);
    let response: Response;
    try {
      response = await handler(request, scope.session);
    } catch (error) {
      await scope.abort().catch(() => undefined);
      if (isSessionError(error)) return errorResponse(error, request.headers.get('accept'));
      throw error;
    }
    return scope.apply(response);
  };
}

/**
 * The lower-level form for frameworks with their own handler shape (React Router loaders and
 * actions, middleware chains): start the request's session, use it, then pass the `Response`
 * through `apply()`; call `abort()` when you end up not calling `apply()`.
 *
 * ```ts
 * export async function action({ request }: ActionFunctionArgs) {
 *   const { session, apply, abort } = createSessionScope(manager, request);
 *   try {
 *     session.flash.add('success', 'Saved');
 *     return await apply(redirect('/'));
 *   } catch (error) {
 *     await abort();
 *     throw error;
 *   }
 * }
 * ```
 *
 * Throws `ERR_SESSION_CONFIG` when `concurrency: 'lock'` is asked of a store without locks.
 */
export function createSessionScope<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  request: Request,
  options: FetchSessionOptions = {},
): FetchSessionScope<D, F> {
  const scope = manager.begin({
    cookie: request.headers.get('cookie') ?? undefined,
    header: (name) => request.headers.get(name) ?? undefined,
    ip: options.getClientIp === undefined ? undefined : () => options.getClientIp?.(request),
    userAgent: request.headers.get('user-agent') ?? undefined,
    concurrency: options.concurrency,
  });
  SESSIONS.set(request, scope.session);
  return {
    session: scope.session,
    async apply(response) {
      try {
        return withSessionHeaders(response, await scope.end());
      } catch (error) {
        await discard(response);
        return errorResponse(error, request.headers.get('accept'));
      }
    },
    abort: () => scope.abort(),
  };
}

/**
 * The session of a request handled by {@link withSession} or {@link createSessionScope} — the
 * same `Request` object the handler received. Throws `ERR_SESSION_STATE` for any other request.
 */
export function getSession<D extends object = DefaultData, F extends object = DefaultFlash>(
  request: Request,
): Session<D, F> {
  const session = SESSIONS.get(request);
  if (session === undefined) {
    throw new StateError('No session on this request: wrap the handler with withSession() first.');
  }
  return session as Session<D, F>;
}

/**
 * CSRF check for fetch handlers (options and rules: `sessionkit/csrf`): wraps a handler given to
 * {@link withSession} — `withSession(manager, csrfMiddleware(manager)(handler))`. Unsafe requests
 * (anything but GET, HEAD, OPTIONS) need a valid token, and cross-site ones are refused. The token
 * comes from the `x-csrf-token` header or the `_csrf` field of a JSON, urlencoded or
 * multipart body (read from a clone, so the handler can still read the body), never from the
 * URL. A failure throws `CsrfError` (`ERR_SESSION_CSRF`, 403), which `withSession` answers with
 * a generic 403 without running the handler. Throws `ERR_SESSION_CONFIG` for invalid options.
 */
export function csrfMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: CsrfOptions = {},
): (handler: FetchSessionHandler<D, F>) => FetchSessionHandler<D, F> {
  const csrf = createCsrfProtection(manager, options);
  return function withCsrf(handler) {
    return async function csrfHandler(request, session) {
      const url = new URL(request.url);
      const checked = !SAFE_METHODS.has(request.method) && !csrf.isExcepted(url.pathname);
      await csrf.verify(
        {
          method: request.method,
          path: url.pathname,
          headers: (name) => request.headers.get(name) ?? undefined,
          body: checked ? await readBody(request) : undefined,
          scheme: url.protocol === 'https:' ? 'https' : 'http',
        },
        session,
      );
      return handler(request, session);
    };
  };
}

/** The body's fields for the CSRF check, from a clone; `undefined` when there are none. */
async function readBody(request: Request): Promise<unknown> {
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  try {
    if (type.startsWith('application/json')) return await request.clone().json();
    if (
      type.startsWith('application/x-www-form-urlencoded') ||
      type.startsWith('multipart/form-data')
    ) {
      const form = await request.clone().formData();
      const fields = Object.create(null) as Record<string, unknown>;
      for (const [key, value] of form) {
        if (typeof value !== 'string') continue;
        const previous = fields[key];
        fields[key] = previous === undefined ? value : [previous, value].flat();
      }
      return fields;
    }
  } catch {
    // A malformed body carries no usable field; the header alone decides.
  }
  return undefined;
}
