/**
 * `sessionkit/adapters/koa` — sessions for Koa 2 and 3.
 *
 * ```ts
 * const sessions = sessionMiddleware(manager);
 * const app = new Koa<Koa.DefaultState, KoaSessionContext<AppData>>();
 * app.use(sessions);
 * app.use(async (ctx) => {
 *   ctx.body = { visits: await ctx.session.update('visits', (n = 0) => n + 1) };
 * });
 * ```
 *
 * The session is started when the request enters the middleware (no I/O: it is loaded on first
 * use) and is available as `ctx.session` and `ctx.state.session`. It is committed after
 * `await next()` returns — Koa writes the response only after the whole middleware chain has
 * returned, so the `Set-Cookie`, `Vary: Cookie` and `Cache-Control` headers still make it.
 *
 * **When a downstream middleware throws** (including `ctx.throw()`), the request's session writes
 * are discarded and any lock is released; the error continues through Koa's error flow. Koa's
 * error responder drops every header, so a commit could not deliver a rotated cookie anyway. To
 * keep writes of a failing request, `await ctx.session.commit()` before throwing, or catch the
 * error in a middleware mounted after this one and set the error response there.
 *
 * Session errors (store outage 503, conflict 409, misuse 500) reach Koa's error flow as an error
 * derived from the session error — same `code`, `status`, `expose: false`, class and `cause` —
 * that also carries `headers` (`Cache-Control: no-store`, `Retry-After` on 503), so Koa's default
 * error responder answers them with a generic body. The session error itself is not modified.
 * Types are structural: the adapter needs no `@types/koa`.
 */

import type { IncomingMessage } from 'node:http';
import { isSessionError, StateError } from '../core/errors.js';
import type { ConcurrencyMode, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import { type CsrfOptions, createCsrfProtection, SAFE_METHODS } from '../csrf/index.js';
import { renderError } from './_errors.js';

export type { CsrfOptions } from '../csrf/index.js';

/** The parts of a Koa context the middleware uses. */
export interface KoaContextLike {
  req: IncomingMessage;
  /** The client IP, honouring Koa's `app.proxy` setting. */
  ip: string;
  state: object;
  headerSent: boolean;
  get(field: string): string;
  set(field: string, value: string): void;
  append(field: string, value: string | string[]): void;
  vary(field: string): void;
}

/**
 * Context properties the middleware adds — use as Koa's context type parameter to type
 * `ctx.session` per app: `new Koa<Koa.DefaultState, KoaSessionContext<AppData, FlashData>>()`.
 */
export interface KoaSessionContext<
  D extends object = DefaultData,
  F extends object = DefaultFlash,
> {
  session: Session<D, F>;
}

/** State properties the middleware adds (`ctx.state.session`, handy for templates). */
export interface KoaSessionState<D extends object = DefaultData, F extends object = DefaultFlash> {
  session: Session<D, F>;
}

/** Options of the Koa middleware. */
export interface KoaSessionOptions {
  /**
   * Concurrency mode for requests through this middleware (overrides the manager's).
   * @default the manager's `concurrency`
   */
  concurrency?: ConcurrencyMode;
}

/** Koa middleware that attaches `ctx.session`, with a typed accessor. */
export interface KoaSessionMiddleware<D extends object, F extends object> {
  (ctx: KoaContextLike, next: () => Promise<unknown>): Promise<void>;
  /** The typed session of a context that went through this middleware. */
  get(ctx: object): Session<D, F>;
}

const SESSIONS = new WeakMap<object, { session: unknown; manager: unknown }>();

/**
 * Koa middleware: starts the request's session lazily, sets `ctx.session` and
 * `ctx.state.session`, and commits after the downstream middleware resolves, before Koa writes
 * the response. A downstream error discards the session's writes (releasing any lock) and is
 * rethrown. A failing commit throws the session error (409/503/500) into Koa's error flow.
 */
export function sessionMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: KoaSessionOptions = {},
): KoaSessionMiddleware<D, F> {
  async function sessionMiddleware(
    ctx: KoaContextLike,
    next: () => Promise<unknown>,
  ): Promise<void> {
    const scope = manager.begin({
      cookie: ctx.req.headers.cookie,
      header: (name) => ctx.req.headersDistinct[name],
      ip: () => ctx.ip,
      userAgent: ctx.req.headers['user-agent'],
      concurrency: options.concurrency,
    });
    SESSIONS.set(ctx, { session: scope.session, manager });
    (ctx as KoaContextLike & { session?: unknown }).session = scope.session;
    (ctx.state as { session?: unknown }).session = scope.session;
    try {
      await next();
    } catch (error) {
      // The handler did not finish: its intents are incomplete, so nothing is committed.
      await scope.abort().catch(() => undefined);
      throw forKoa(error);
    }
    let out: Awaited<ReturnType<typeof scope.end>>;
    try {
      out = await scope.end();
    } catch (error) {
      throw forKoa(error);
    }
    // `ctx.respond = false` or raw writes to `ctx.res`: the data is saved, the headers are gone.
    if (ctx.headerSent) return;
    if (out.setCookie.length > 0) ctx.append('Set-Cookie', out.setCookie);
    if (out.vary) ctx.vary(out.varyOn);
    if (out.token !== undefined) ctx.set(out.token[0], out.token[1]);
    // Responses that read or set a session are never stored by shared caches.
    if (out.cacheControl !== undefined) ctx.set('Cache-Control', out.cacheControl);
    if (out.clearSiteData !== undefined) ctx.set('Clear-Site-Data', out.clearSiteData);
  }
  return Object.assign(sessionMiddleware, { get: (ctx: object) => getSession<D, F>(ctx) });
}

/**
 * The typed session of a context handled by {@link sessionMiddleware}. Pass the manager to infer
 * its `AppData`/`FlashData` types (and check the session came from it), or give them explicitly.
 * Throws `ERR_SESSION_STATE` when the context did not go through the middleware, or when the
 * session belongs to another manager.
 */
export function getSession<D extends object = DefaultData, F extends object = DefaultFlash>(
  ctx: object,
  manager?: SessionManager<D, F>,
): Session<D, F> {
  const entry = SESSIONS.get(ctx);
  if (entry === undefined) {
    throw new StateError('No session on this context: use sessionkit’s sessionMiddleware first.');
  }
  if (manager !== undefined && (manager as unknown) !== entry.manager) {
    throw new StateError('This context’s session belongs to another session manager.');
  }
  return entry.session as Session<D, F>;
}

/**
 * What Koa's error flow gets for `error`. Koa's error responder drops every header except the
 * thrown error's `headers`, so a session error is thrown as a new object whose prototype is the
 * session error — `instanceof`, `code`, `status`, `expose: false`, `message`, `cause` and the
 * stack all read through — with its own `headers` from {@link renderError} (`Cache-Control:
 * no-store`, `Retry-After` on 503; the content type is Koa's). The session error is not modified.
 * Any other error, or one that already has `headers`, is returned as is.
 */
function forKoa(error: unknown): unknown {
  if (!isSessionError(error) || (error as { headers?: unknown }).headers !== undefined) {
    return error;
  }
  const { headers } = renderError(error, undefined);
  delete headers['content-type'];
  return Object.create(error, {
    headers: { value: headers, configurable: true, enumerable: true, writable: true },
  }) as unknown;
}

/** The Koa context fields the CSRF middleware reads, beyond {@link KoaContextLike}. */
type KoaCsrfContext = KoaContextLike & {
  originalUrl?: string;
  protocol?: string;
  status?: number;
  body?: unknown;
  request?: { body?: unknown; originalMethod?: unknown };
};

/**
 * Koa CSRF middleware (options and rules: `sessionkit/csrf`). Mount it after
 * {@link sessionMiddleware} and after your body parser (`@koa/bodyparser`, `koa-body`): the
 * `_csrf` field is read from `ctx.request.body` when a parser set it; without one, only the
 * `x-csrf-token` header counts (never the URL). Unsafe requests (anything but GET, HEAD, OPTIONS)
 * without a valid token — and cross-site ones — get a 403 with a generic body and
 * `Cache-Control: no-store`; `next` is not called. The default allowed origin uses
 * `ctx.protocol`, so `app.proxy` applies. Pages get the token with `await session.csrfToken()`. Throws `ERR_SESSION_CONFIG` for invalid options.
 */
export function csrfMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: CsrfOptions = {},
): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void> {
  const csrf = createCsrfProtection(manager, options);
  return async function csrfMiddleware(context, next) {
    const ctx = context as KoaCsrfContext;
    const original = ctx.request?.originalMethod;
    const method =
      typeof original === 'string' && !SAFE_METHODS.has(original)
        ? original
        : (ctx.req.method ?? '');
    const url = ctx.originalUrl ?? ctx.req.url ?? '/';
    const end = url.search(/[?#]/);
    try {
      await csrf.verify(
        {
          method,
          path: end === -1 ? url : url.slice(0, end),
          headers: (name) => {
            const value = ctx.req.headers[name];
            return Array.isArray(value) ? value.join(', ') : value;
          },
          body: ctx.request?.body,
          scheme: ctx.protocol === 'https' ? 'https' : 'http',
        },
        getSession(ctx),
      );
    } catch (error) {
      if (!isSessionError(error)) throw error;
      const response = renderError(error, ctx.get('accept'));
      ctx.status = response.status;
      for (const [name, value] of Object.entries(response.headers)) ctx.set(name, value);
      ctx.body = response.body;
      return;
    }
    await next();
  };
}
