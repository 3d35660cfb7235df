import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { getSession, sessionMiddleware, withSession } from '../../src/adapters/node.js';
import type { Session } from '../../src/core/session.js';
import { describeAdapter, listen, type RouteResult, type Routes } from './contract.js';

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
