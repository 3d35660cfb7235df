/**
 * The one adapter registry: for every adapter (and the framework versions and styles the contract
 * suite covers), how to serve the suites' neutral route table over real HTTP on 127.0.0.1:0.
 * The adapter contract suite (`test/adapters/*.test.ts`) and the attack suite
 * (`test/security/targets.ts`) both serve through these; a new adapter is one entry here.
 *
 * Every target parses bodies by content type (JSON, urlencoded with repeated fields as arrays,
 * text/plain as a string; anything else is left unparsed), answers a body that does not parse
 * with 400 and an unknown route with 404, and ends an error a route throws through the adapter's
 * own error path — then the framework's default error handling, or with `appErrorPage` the
 * app's own generic page (what a careful app installs; the attack suite does).
 */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { type Context, Hono } from 'hono';
import Koa from 'koa';
import {
  csrfMiddleware as expressCsrf,
  sessionMiddleware as expressSession,
  sessionErrorHandler,
} from '../../src/adapters/express.js';
import {
  csrfMiddleware as fastifyCsrf,
  getSession,
  sessionPlugin,
} from '../../src/adapters/fastify.js';
import {
  type FetchSessionHandler,
  csrfMiddleware as fetchCsrf,
  withSession as fetchSession,
} from '../../src/adapters/fetch.js';
import {
  csrfMiddleware as honoCsrf,
  sessionMiddleware as honoSession,
  type SessionEnv,
} from '../../src/adapters/hono.js';
import {
  getSession as getKoaSession,
  csrfMiddleware as koaCsrf,
  sessionMiddleware as koaSession,
} from '../../src/adapters/koa.js';
import {
  getSession as getNodeSession,
  csrfMiddleware as nodeCsrf,
  sessionMiddleware as nodeMiddleware,
  withSession as nodeSession,
} from '../../src/adapters/node.js';
import { isSessionError } from '../../src/core/errors.js';
import type { ConcurrencyMode, SessionManager } from '../../src/core/manager.js';
import type { Session } from '../../src/core/session.js';
import type { DefaultData, DefaultFlash } from '../../src/core/types.js';
import type { CsrfOptions } from '../../src/csrf/index.js';
import {
  type AdapterServer,
  listen,
  type Route,
  type RouteResult,
  type Routes,
} from '../adapters/contract.js';
import { remoteAddress, serveFetch } from './serve-fetch.js';

/** Per-server options of an adapter target. */
export interface ServeOptions {
  /** The middleware's own concurrency mode (the adapter option). */
  concurrency?: ConcurrencyMode | undefined;
  /** Install the adapter's CSRF middleware (before every route) with these options. */
  csrf?: CsrfOptions | undefined;
  /**
   * End errors in the app's own generic error page instead of the framework's default handling.
   * @default false
   */
  appErrorPage?: boolean | undefined;
}

/** One adapter, served over real HTTP. */
export interface AdapterTarget {
  name: string;
  /** `true` when the adapter has a `csrfMiddleware` {@link ServeOptions.csrf} can install. */
  csrf: boolean;
  /** Serve `routes` on 127.0.0.1:0 with the adapter installed for `manager`. */
  serve(manager: SessionManager, routes: Routes, options?: ServeOptions): Promise<AdapterServer>;
}

/** Parse a request body the way common body parsers do. Throws `SyntaxError` for bad JSON. */
export function parseBody(contentType: string | undefined | null, raw: string): unknown {
  if (raw === '') return undefined;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return JSON.parse(raw);
  if (type === 'application/x-www-form-urlencoded') {
    const out = Object.create(null) as Record<string, string | string[]>;
    for (const [key, value] of new URLSearchParams(raw)) {
      const previous = out[key];
      out[key] =
        previous === undefined
          ? value
          : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
    return out;
  }
  if (type === 'text/plain') return raw;
  return undefined;
}

const BAD_REQUEST: RouteResult = { status: 400, text: 'Bad Request' };
const NOT_FOUND: RouteResult = { status: 404, text: 'Not Found' };
const GENERIC_500 = 'Internal Server Error';

/** `{ concurrency }` when one is given (the adapters' options take no `undefined`). */
function modeOf(options: ServeOptions): { concurrency?: ConcurrencyMode } {
  return options.concurrency === undefined ? {} : { concurrency: options.concurrency };
}

/** The route's result as a fetch `Response` (headers appended, JSON, redirects). */
function toResponse(result: RouteResult): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers ?? {})) headers.append(name, value);
  if (result.redirect !== undefined) {
    headers.set('location', result.redirect);
    return new Response(null, { status: result.status ?? 302, headers });
  }
  if (result.json !== undefined) {
    return Response.json(result.json, { status: result.status ?? 200, headers });
  }
  return new Response(result.text ?? '', { status: result.status ?? 200, headers });
}

/** The route's result on a node:http response. */
function writeNode(res: ServerResponse, result: RouteResult): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  res.statusCode = result.status ?? (result.redirect === undefined ? 200 : 302);
  if (result.redirect !== undefined) {
    res.setHeader('location', result.redirect);
    res.end();
  } else if (result.json !== undefined) {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(result.json));
  } else res.end(result.text ?? '');
}

/** Run a connect-style middleware; `false` when it answered the request itself. */
function passes(
  middleware: (req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void) => void,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    res.once('finish', () => resolve(false));
    res.once('close', () => resolve(false));
    middleware(req, res, (error) => (error === undefined ? resolve(true) : reject(error)));
  });
}

/** The neutral table on one node:http handler: body into `req.body`, CSRF, the route. */
function nodeDispatcher(manager: SessionManager, routes: Routes, options: ServeOptions) {
  const csrf = options.csrf === undefined ? undefined : nodeCsrf(manager, options.csrf);
  return async (req: IncomingMessage, res: ServerResponse, session: Session): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[`${req.method} ${url.pathname}`];
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (route === undefined) return writeNode(res, NOT_FOUND);
    let body: unknown;
    try {
      body = parseBody(req.headers['content-type'], Buffer.concat(chunks).toString('utf8'));
    } catch {
      return writeNode(res, BAD_REQUEST);
    }
    (req as IncomingMessage & { body?: unknown }).body = body;
    if (csrf !== undefined && !(await passes(csrf, req, res))) return;
    const query = Object.fromEntries(url.searchParams);
    writeNode(res, await route(session, { query, body, headers: req.headers }));
  };
}

/** node:http `withSession`. */
export const NODE: AdapterTarget = {
  name: 'node',
  csrf: true,
  serve(manager, routes, options = {}) {
    const dispatch = nodeDispatcher(manager, routes, options);
    return listen(http.createServer(nodeSession(manager, dispatch, modeOf(options))));
  },
};

/** A connect-style middleware on node:http. */
export type Layer = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/** A minimal connect-style chain; an error ends in a bare 500 (the app's own error page). */
export function chain(...layers: Layer[]): http.RequestListener {
  return (req, res) => {
    let index = 0;
    const next = (error?: unknown): void => {
      const layer = layers[index++];
      if (error !== undefined || layer === undefined) {
        if (!res.headersSent) {
          res.statusCode = error === undefined ? 404 : 500;
          res.end(error === undefined ? 'Not Found' : GENERIC_500);
        }
        return;
      }
      layer(req, res, next);
    };
    next();
  };
}

/** The node adapter's `sessionMiddleware` in a minimal connect-style chain. */
export const NODE_CHAIN: AdapterTarget = {
  name: 'node sessionMiddleware',
  csrf: true,
  serve(manager, routes, options = {}) {
    const sessions = nodeMiddleware(manager, modeOf(options));
    const dispatch = nodeDispatcher(manager, routes, options);
    const handler: Layer = (req, res, next) => {
      // The typed accessor, `getSession` and `req.session` all name the same session.
      const session = sessions.get(req);
      if (getNodeSession(req) !== session || (req as { session?: unknown }).session !== session) {
        next(new Error('session accessors disagree'));
        return;
      }
      dispatch(req, res, session).catch(next);
    };
    return listen(http.createServer(chain(sessions, handler)));
  },
};

/** Express (5, or 4 with `factory`) with its body parsers, the session middleware and error handler. */
function expressTarget(name: string, factory: typeof express): AdapterTarget {
  return {
    name,
    csrf: true,
    serve(manager, routes, options = {}) {
      const app = factory();
      app.use(factory.json(), factory.urlencoded({ extended: false }), factory.text());
      const sessions = expressSession(manager, modeOf(options));
      app.use(sessions);
      if (options.csrf !== undefined) app.use(expressCsrf(manager, options.csrf));
      for (const [key, route] of Object.entries(routes)) {
        const [method = '', path = ''] = key.split(' ');
        // Express 4 does not catch rejected handlers: forward them explicitly on both.
        app[method.toLowerCase() as 'get' | 'post'](path, (req, res, next) => {
          const query = req.query as Record<string, string>;
          route(sessions.get(req), { query, body: req.body, headers: req.headers })
            .then((result) => {
              for (const [n, v] of Object.entries(result.headers ?? {})) res.append(n, v);
              if (result.redirect !== undefined)
                res.redirect(result.status ?? 302, result.redirect);
              else if (result.json !== undefined)
                res.status(result.status ?? 200).json(result.json);
              else res.status(result.status ?? 200).send(result.text ?? '');
            })
            .catch(next);
        });
      }
      app.use(sessionErrorHandler());
      // The app's own last error handler (Express's default one prints stacks outside production).
      if (options.appErrorPage === true) {
        app.use((error: { status?: unknown }, _req: unknown, res: ServerResponse, _n: unknown) => {
          const status =
            typeof error.status === 'number' && error.status < 500 ? error.status : 500;
          res.statusCode = status;
          res.end(status === 500 ? GENERIC_500 : 'Bad Request');
        });
      }
      return listen(http.createServer(app));
    },
  };
}

/** Express 5. */
export const EXPRESS: AdapterTarget = expressTarget('express', express);
/** Express 4 (the contract suite runs it too). */
export const EXPRESS_4: AdapterTarget = expressTarget('express 4', express4 as typeof express);

/** Hono through @hono/node-server, with the socket address as the client address. */
export const HONO: AdapterTarget = {
  name: 'hono',
  csrf: true,
  serve(manager, routes, options = {}) {
    const app = new Hono<SessionEnv>();
    // The socket address, as the other adapters see it (Hono leaves it to the runtime).
    const getClientIp = (c: Context) => getConnInfo(c).remote.address;
    app.use(honoSession(manager, { ...modeOf(options), getClientIp }));
    if (options.csrf !== undefined) app.use(honoCsrf(manager, options.csrf));
    for (const [key, route] of Object.entries(routes)) {
      const [method = '', path = ''] = key.split(' ');
      app.on(method, path, async (c) => {
        let body: unknown;
        try {
          body = parseBody(c.req.header('content-type'), await c.req.text());
        } catch {
          return toResponse(BAD_REQUEST);
        }
        const headers = Object.fromEntries(c.req.raw.headers);
        return toResponse(await route(c.get('session'), { query: c.req.query(), body, headers }));
      });
    }
    // An app's own error page: session errors must still come out as the generic 409/503/500.
    app.onError(() => toResponse({ status: 500, text: GENERIC_500 }));
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
};

/** The fetch adapter behind a minimal node:http ↔ fetch bridge (as Bun.serve / Deno.serve). */
export const FETCH: AdapterTarget = {
  name: 'fetch',
  csrf: true,
  serve(manager, routes, options = {}) {
    const inner: FetchSessionHandler<DefaultData, DefaultFlash> = async (request, session) => {
      const url = new URL(request.url);
      const route: Route | undefined = routes[`${request.method} ${url.pathname}`];
      if (route === undefined) return toResponse(NOT_FOUND);
      let body: unknown;
      try {
        body = parseBody(request.headers.get('content-type'), await request.text());
      } catch {
        return toResponse(BAD_REQUEST);
      }
      const query = Object.fromEntries(url.searchParams);
      const headers = Object.fromEntries(request.headers);
      return toResponse(await route(session, { query, body, headers }));
    };
    const csrf = options.csrf === undefined ? undefined : fetchCsrf(manager, options.csrf);
    const handler = fetchSession(manager, csrf === undefined ? inner : csrf(inner), {
      ...modeOf(options),
      getClientIp: remoteAddress,
    });
    return serveFetch(handler);
  },
};

/** Fastify 5 with the session plugin; urlencoded and text bodies parsed like the others. */
export const FASTIFY: AdapterTarget = {
  name: 'fastify',
  csrf: true,
  async serve(manager, routes, options = {}) {
    const app = Fastify();
    await app.register(sessionPlugin, { manager, ...modeOf(options) });
    if (options.csrf !== undefined) app.addHook('preHandler', fastifyCsrf(manager, options.csrf));
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
        done(null, parseBody(type, String(body)));
      });
    }
    for (const [key, route] of Object.entries(routes)) {
      const [method = '', url = ''] = key.split(' ');
      app.route({
        method: method as 'GET' | 'POST',
        url,
        handler: async (request, reply) => {
          const query = request.query as Record<string, string>;
          const result = await route(getSession(request, manager), {
            query,
            body: request.body,
            headers: request.headers,
          });
          for (const [n, v] of Object.entries(result.headers ?? {})) reply.header(n, v);
          if (result.redirect !== undefined) {
            return reply.redirect(result.redirect, result.status ?? 302);
          }
          reply.code(result.status ?? 200);
          return reply.send(result.json !== undefined ? result.json : (result.text ?? ''));
        },
      });
    }
    if (options.appErrorPage === true) {
      // The app's own error handler: generic bodies (Fastify's default one echoes messages).
      app.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
        const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
        reply.status(status).send(status >= 500 ? GENERIC_500 : 'Bad Request');
      });
    }
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  },
};

/** Koa 3 with the session middleware and its CSRF middleware; bodies parsed by hand. */
export const KOA: AdapterTarget = {
  name: 'koa',
  csrf: true,
  serve(manager, routes, options = {}) {
    const app = new Koa();
    app.silent = true; // session errors are expected here; Koa would log each one
    if (options.appErrorPage === true) {
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          // The app's own error page; session errors keep their status and headers.
          const status = (error as { status?: unknown }).status;
          ctx.status = typeof status === 'number' ? status : 500;
          ctx.body = ctx.status >= 500 ? GENERIC_500 : 'Bad Request';
          if (isSessionError(error)) ctx.set('cache-control', 'no-store');
        }
      });
    }
    const sessions = koaSession(manager, modeOf(options));
    app.use(sessions);
    app.use(async (ctx, next) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      try {
        const raw = Buffer.concat(chunks).toString('utf8');
        (ctx.request as { body?: unknown }).body = parseBody(ctx.get('content-type'), raw);
      } catch {
        ctx.status = 400;
        ctx.body = 'Bad Request';
        return;
      }
      await next();
    });
    if (options.csrf !== undefined) app.use(koaCsrf(manager, options.csrf));
    app.use(async (ctx) => {
      const route = routes[`${ctx.method} ${ctx.path}`];
      if (route === undefined) return; // Koa's 404
      const query = Object.fromEntries(
        Object.entries(ctx.query).map(([k, v]) => [k, Array.isArray(v) ? (v[0] ?? '') : (v ?? '')]),
      );
      const body = (ctx.request as { body?: unknown }).body;
      const session = sessions.get(ctx);
      const context = ctx as typeof ctx & { session?: unknown; state: { session?: unknown } };
      if (
        getKoaSession(ctx) !== session ||
        context.session !== session ||
        context.state.session !== session
      ) {
        throw new Error('session accessors disagree');
      }
      const result = await route(session, { query, body, headers: ctx.headers });
      for (const [n, v] of Object.entries(result.headers ?? {})) ctx.append(n, v);
      if (result.redirect !== undefined) {
        ctx.redirect(result.redirect);
        ctx.status = result.status ?? 302;
        return;
      }
      ctx.status = result.status ?? 200;
      ctx.body = result.json !== undefined ? result.json : (result.text ?? '');
    });
    return listen(http.createServer(app.callback()));
  },
};

/** Every adapter, once (the attack suite's list). Add later adapters here. */
export const ADAPTERS: readonly AdapterTarget[] = [NODE, EXPRESS, HONO, FETCH, FASTIFY, KOA];
