/**
 * `sessionkit/adapters/express` — sessions for Express 4 and 5.
 *
 * ```ts
 * const sessions = sessionMiddleware(manager);
 * app.use(sessions);
 * app.post('/api/counter', async (req, res) => {
 *   const session = sessions.get(req);
 *   await session.update('counter', (n = 0) => n + 1);
 *   await session.commit();
 *   res.json({ counter: await session.get('counter') });
 * });
 * app.use(sessionErrorHandler());
 * ```
 *
 * The client IP comes from `req.ip`, so Express's own `trust proxy` setting applies. Types are
 * structural: the adapter needs no `@types/express`. The middleware switches each request and
 * response to V8's dictionary mode first (`_dictionary.ts`): Express leaves them on hidden classes
 * no other request shares, which makes every later property add and read slow.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSessionError } from '../core/errors.js';
import type { ConcurrencyMode, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import { type CsrfOptions, createCsrfProtection } from '../csrf/index.js';
import { toDictionaryMode } from './_dictionary.js';
import { attach, getSession, header, runCsrf, sendError } from './_node.js';

export type { CsrfOptions } from '../csrf/index.js';
export { getSession } from './_node.js';

/** The parts of an Express request the adapter reads. */
export type ExpressRequestLike = IncomingMessage & {
  ip?: string | undefined;
  protocol?: string | undefined;
};

/** Options of the Express middleware. */
export interface ExpressSessionOptions {
  /**
   * Concurrency mode for requests through this middleware (overrides the manager's).
   * @default the manager's `concurrency`
   */
  concurrency?: ConcurrencyMode;
}

/** Express middleware that attaches `req.session`, with a typed accessor. */
export interface ExpressSessionMiddleware<D extends object, F extends object> {
  (req: ExpressRequestLike, res: ServerResponse, next: (error?: unknown) => void): void;
  /** The typed session of a request that went through this middleware. */
  get(req: IncomingMessage): Session<D, F>;
}

/**
 * Express middleware: starts the request's session lazily, sets `req.session`, and commits
 * before the first header byte. Mount it before the routes that use sessions.
 */
export function sessionMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: ExpressSessionOptions = {},
): ExpressSessionMiddleware<D, F> {
  function sessionMiddleware(
    req: ExpressRequestLike,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ): void {
    toDictionaryMode(req, res);
    let session: Session<D, F>;
    try {
      session = attach(
        manager,
        req,
        res,
        () => req.ip ?? req.socket?.remoteAddress,
        options.concurrency,
      );
    } catch (error) {
      next(error);
      return;
    }
    (req as ExpressRequestLike & { session?: unknown }).session = session;
    next();
  }
  return Object.assign(sessionMiddleware, {
    get: (req: IncomingMessage) => getSession<D, F>(req),
  });
}

/**
 * Express error middleware that answers session errors (store outage → 503, conflict → 409,
 * lock timeout → 503 + `Retry-After`) with a generic body — no message, stack or id — and passes
 * every other error on. Mount it after your routes.
 */
export function sessionErrorHandler(): (
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void {
  // Four parameters: Express recognizes an error middleware by its arity.
  return function sessionErrorHandler(error, req, res, next) {
    if (!isSessionError(error) || res.headersSent) {
      next(error);
      return;
    }
    sendError(res, error, header(req, 'accept'));
  };
}

/**
 * Express CSRF middleware (options and rules: `sessionkit/csrf`). Mount it after
 * {@link sessionMiddleware} and after the body parsers whose forms carry the token
 * (`express.urlencoded()`, `express.json()`, multer): the `_csrf` field is read from `req.body`,
 * the `x-csrf-token` header always, the URL never. Unsafe requests (anything but GET, HEAD,
 * OPTIONS) without a valid token — and cross-site ones — get a 403 with a generic body and
 * `Cache-Control: no-store`; the route never runs. The default allowed origin uses
 * `req.protocol`, so Express's `trust proxy` setting applies. Pages get the token with
 * `await session.csrfToken()`. Throws `ERR_SESSION_CONFIG` for invalid options.
 */
export function csrfMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: CsrfOptions = {},
): (req: ExpressRequestLike, res: ServerResponse, next: (error?: unknown) => void) => void {
  const csrf = createCsrfProtection(manager, options);
  return function csrfMiddleware(req, res, next) {
    runCsrf(csrf, req, res, next, req.protocol === 'https' ? 'https' : 'http');
  };
}
