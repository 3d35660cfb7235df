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
import { StateError } from '../core/errors.js';
import type { ConcurrencyMode, SessionManager } from '../core/manager.js';
import type { Session } from '../core/session.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import { clientIp, header, holdResponse, sendError } from './_shared.js';

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

const SESSIONS = new WeakMap<object, unknown>();

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
  const middleware = (
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ): void => {
    let session: Session<D, F>;
    try {
      session = attach(manager, req, res, clientIp(req, trustProxy), options.concurrency);
    } catch (error) {
      next(error);
      return;
    }
    (req as IncomingMessage & { session?: unknown }).session = session;
    next();
  };
  return Object.assign(middleware, { get: (req: IncomingMessage) => getSession<D, F>(req) });
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
  return (req, res) => {
    const fail = (error: unknown): void => {
      options.onError?.(error, req);
      if (!res.headersSent && !res.writableEnded) sendError(res, error, header(req, 'accept'));
    };
    try {
      const session = attach(manager, req, res, clientIp(req, trustProxy), options.concurrency);
      Promise.resolve(handler(req, res, session)).catch(fail);
    } catch (error) {
      fail(error);
    }
  };
}

/**
 * The session of a request handled by {@link sessionMiddleware} or {@link withSession}. Throws
 * `ERR_SESSION_STATE` when the request did not go through one.
 */
export function getSession<D extends object = DefaultData, F extends object = DefaultFlash>(
  req: IncomingMessage,
): Session<D, F> {
  const session = SESSIONS.get(req);
  if (session === undefined) {
    throw new StateError('No session on this request: install the sessionkit middleware first.');
  }
  return session as Session<D, F>;
}

/** Start a session for a node request and hold its response until commit. @internal */
export function attach<D extends object, F extends object>(
  manager: SessionManager<D, F>,
  req: IncomingMessage,
  res: ServerResponse,
  ip: string | undefined,
  concurrency: ConcurrencyMode | undefined,
): Session<D, F> {
  const scope = manager.begin({
    cookie: req.headers.cookie,
    ip,
    userAgent: header(req, 'user-agent'),
    concurrency,
  });
  holdResponse(req, res, scope);
  SESSIONS.set(req, scope.session);
  return scope.session;
}
