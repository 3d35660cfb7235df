import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { getSession, sessionMiddleware, withSession } from '../../src/adapters/node.js';
import type { Session } from '../../src/core/session.js';
import type { SessionStore } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';
import {
  type AdapterServer,
  cookiesNamed,
  describeAdapter,
  listen,
  type RouteResult,
  type Routes,
  send,
} from './contract.js';

/** Map the neutral table onto one node handler: find the route, parse JSON, write the result. */
async function dispatch(
  routes: Routes,
  req: IncomingMessage,
  res: ServerResponse,
  session: Session,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = routes[`${req.method} ${url.pathname}`];
  if (route === undefined) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const body: unknown = raw === '' ? undefined : JSON.parse(raw);
  const query = Object.fromEntries(url.searchParams);
  write(res, await route(session, { query, body, headers: req.headers }));
}

function write(res: ServerResponse, result: RouteResult): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  if (result.redirect !== undefined) {
    res.statusCode = result.status ?? 302;
    res.setHeader('location', result.redirect);
    res.end();
    return;
  }
  res.statusCode = result.status ?? 200;
  if (result.json !== undefined) {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(result.json));
  } else {
    res.end(result.text ?? '');
  }
}

describeAdapter({
  name: 'node withSession',
  createServer: (manager, routes, options) =>
    listen(
      http.createServer(
        withSession(manager, (req, res, session) => dispatch(routes, req, res, session), options),
      ),
    ),
});

type Layer = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** A minimal connect-style chain; an error ends in a bare 500 (the app's own error page). */
function chain(...layers: Layer[]): http.RequestListener {
  return (req, res) => {
    let index = 0;
    const next = (error?: unknown): void => {
      const layer = layers[index++];
      if (error !== undefined || layer === undefined) {
        if (!res.headersSent) {
          res.statusCode = error === undefined ? 404 : 500;
          res.end(error === undefined ? 'Not Found' : 'Internal Server Error');
        }
        return;
      }
      layer(req, res, next);
    };
    next();
  };
}

describeAdapter({
  name: 'node sessionMiddleware (connect-style chain)',
  createServer: (manager, routes, options) => {
    const sessions = sessionMiddleware(manager, options);
    const handler: Layer = (req, res, next) => {
      // The typed accessor, `getSession` and `req.session` all name the same session.
      const session = sessions.get(req);
      if (getSession(req) !== session || (req as { session?: unknown }).session !== session) {
        next(new Error('session accessors disagree'));
        return;
      }
      dispatch(routes, req, res, session).catch(next);
    };
    return listen(http.createServer(chain(sessions, handler)));
  },
});

describe('node adapter specifics', () => {
  const servers: AdapterServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  /** A memory store whose writes take 50 ms: the commit is still running when the handler fails. */
  function slowStore(): SessionStore {
    const store = probeStore(memoryStore({ sweepInterval: 0 }));
    store.delays.set('set', 50);
    return store;
  }

  // Without the session layer, `res.end()` sends the headers at once, so an error afterwards
  // cannot replace the response. The held response must look the same to error handlers.
  it('withSession: a handler that fails after responding keeps its response', async () => {
    const m = testManager({ store: slowStore() });
    const errors: unknown[] = [];
    const server = await listen(
      http.createServer(
        withSession(
          m,
          async (_req, res, session) => {
            session.set('a', 1);
            res.setHeader('content-type', 'text/plain');
            res.end('done');
            throw new Error('audit log failed after the response');
          },
          { onError: (error) => errors.push(error) },
        ),
      ),
    );
    servers.push(server);
    const reply = await send(server.url, 'POST', '/');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('done');
    expect(reply.headers.get('content-type')).toBe('text/plain');
    expect(cookiesNamed(reply, m.cookieName)).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect((await send(server.url, 'POST', '/')).status).toBe(200);
  });

  it('sessionMiddleware: an error passed on after responding does not replace the response', async () => {
    const m = testManager({ store: slowStore() });
    const sessions = sessionMiddleware(m);
    const handler: Layer = (req, res, next) => {
      sessions.get(req).set('a', 1);
      res.end('done');
      next(new Error('failed after the response'));
    };
    const server = await listen(http.createServer(chain(sessions, handler)));
    servers.push(server);
    const reply = await send(server.url, 'POST', '/');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('done');
    expect(cookiesNamed(reply, m.cookieName)).toHaveLength(1);
    expect((await send(server.url, 'POST', '/')).status).toBe(200);
  });
});

describe('node adapter: writeHead forms', () => {
  const servers: AdapterServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('writeHead with a flat [name, value, …] list keeps repeated headers next to the session’s', async () => {
    const m = testManager();
    const server = await listen(
      http.createServer(
        withSession(m, async (req, res, session) => {
          if (req.url === '/write') session.set('a', 1);
          res.writeHead(200, ['Set-Cookie', 'a=1; Path=/', 'Set-Cookie', 'b=2; Path=/']);
          res.end('ok');
        }),
      ),
    );
    servers.push(server);
    const untouched = await send(server.url, 'GET', '/');
    expect(untouched.setCookies).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    const written = await send(server.url, 'GET', '/write');
    expect(written.setCookies.slice(0, 2)).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(cookiesNamed(written, m.cookieName)).toHaveLength(1);
  });
});
