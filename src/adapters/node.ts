/**
 * `sessionkit/adapters/node` — sessions for plain `node:http` servers.
 *
 * ```ts
 * const server = http.createServer(withSession(manager, async (req, res, session) => {
 *   await session.update('visits', (n = 0) => n + 1);
 *   res.end('ok');
 * }));
 * ```
 *
 * The session is committed before the first header byte: the response is held until the commit
 * settles, then sent with the session's `Set-Cookie`, `Vary: Cookie` and `Cache-Control`. A commit
 * error replaces the response with a generic 409/503/500.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ConcurrencyMode, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import { type CsrfOptions, createCsrfProtection } from '../csrf/index.js';
import { attach, clientIp, getSession, header, runCsrf, sendError } from './_node.js';

export type { CsrfOptions } from '../csrf/index.js';
export { getSession } from './_node.js';

/** Options shared by the node-style adapters. */
export interface NodeSessionOptions {
  /**
   * Trust `X-Forwarded-For`: `false` uses the socket address; `true` trusts every hop; a number
   * trusts that many proxies in front of the app. Spoofed headers are ignored unless trusted.
   * @default false
   */
  trustProxy?: boolean | number;
  /**
   * Concurrency mode for requests through this middleware (overrides the manager's).
   * @default the manager's `concurrency`
   */
  concurrency?: ConcurrencyMode;
}

/** A connect-style middleware that attaches `req.session`, with a typed accessor. */
export interface NodeSessionMiddleware<D extends object, F extends object> {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  /** The typed session of a request that went through this middleware. */
  get(req: IncomingMessage): Session<D, F>;
}

/** A node:http handler that receives the session as third argument. */
export type NodeSessionHandler<D extends object, F extends object> = (
  req: IncomingMessage,
  res: ServerResponse,
  session: Session<D, F>,
) => unknown;

/**
 * Connect-style middleware (`(req, res, next)`): starts the request's session (lazily — nothing
 * is read until it is used), sets `req.session`, and commits before the response's first header
 * byte. Works in any connect-compatible stack.
 */
export function sessionMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: NodeSessionOptions = {},
): NodeSessionMiddleware<D, F> {
  const trustProxy = options.trustProxy ?? false;
  function sessionMiddleware(
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ): void {
    let session: Session<D, F>;
    try {
      session = attach(manager, req, res, () => clientIp(req, trustProxy), options.concurrency);
    } catch (error) {
      next(error);
      return;
    }
    (req as IncomingMessage & { session?: unknown }).session = session;
    next();
  }
  return Object.assign(sessionMiddleware, {
    get: (req: IncomingMessage) => getSession<D, F>(req),
  });
}

/**
 * Wrap a node:http handler. The handler gets the session as third argument; if it throws or
 * rejects before responding, the client gets a generic 500 (or the session error's 409/503) and
 * `onError`, when given, sees the error.
 */
export function withSession<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  handler: NodeSessionHandler<D, F>,
  options: NodeSessionOptions & { onError?: (error: unknown, req: IncomingMessage) => void } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const trustProxy = options.trustProxy ?? false;
  return function sessionHandler(req: IncomingMessage, res: ServerResponse): void {
    const fail = (error: unknown): void => {
      options.onError?.(error, req);
      if (!res.headersSent && !res.writableEnded) sendError(res, error, header(req, 'accept'));
    };
    try {
      const session = attach(
        manager,
        req,
        res,
        () => clientIp(req, trustProxy),
        options.concurrency,
      );
      Promise.resolve(handler(req, res, session)).catch(fail);
    } catch (error) {
      fail(error);
    }
  };
}

/** A connect-style middleware. */
export type NodeMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Connect-style CSRF middleware (options and rules: `sessionkit/csrf`). Mount it after
 * {@link sessionMiddleware} and after your body parsers: the `_csrf` field is read from
 * `req.body` when a parser set it; without one, only the `x-csrf-token` header counts (never the
 * URL). Unsafe requests (anything but GET, HEAD, OPTIONS) without a valid token — and cross-site
 * ones — get a 403 with a generic body and `Cache-Control: no-store`, and `next` is not called,
 * so the handler never runs. A store outage
 * while loading the session answers 503 the same way. Pages get the token with
 * `await session.csrfToken()`. Throws `ERR_SESSION_CONFIG` for invalid options.
 */
export function csrfMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: CsrfOptions = {},
): NodeMiddleware {
  const csrf = createCsrfProtection(manager, options);
  return function csrfMiddleware(req, res, next) {
    const encrypted = (req.socket as TLSSocket | undefined)?.encrypted === true;
    runCsrf(csrf, req, res, next, encrypted ? 'https' : 'http');
  };
}
