import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionMiddleware, withSession } from '../../src/adapters/node.js';
import type { SessionStore } from '../../src/core/store.js';
import { memoryStore } from '../../src/stores/memory.js';
import { chain, type Layer, NODE, NODE_CHAIN } from '../support/adapters.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';
import { type AdapterServer, cookiesNamed, describeAdapter, listen, send } from './contract.js';

describeAdapter({ name: 'node withSession', createServer: NODE.serve });

describeAdapter({
  name: 'node sessionMiddleware (connect-style chain)',
  createServer: NODE_CHAIN.serve,
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

describe('node adapter: the held response acts as sent', () => {
  const servers: AdapterServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  // Without the session layer `res.end()` sends the headers at once: a header changed after it
  // throws ERR_HTTP_HEADERS_SENT. While the commit holds the response, the same must happen —
  // not a header slipped into the held response.
  it('a header set, appended or removed after res.end() throws ERR_HTTP_HEADERS_SENT while held', async () => {
    const store = probeStore(memoryStore({ sweepInterval: 0 }));
    store.delays.set('set', 50);
    const m = testManager({ store });
    const thrown: unknown[] = [];
    const server = await listen(
      http.createServer(
        withSession(m, async (_req, res, session) => {
          session.set('a', 1);
          res.end('done');
          for (const change of [
            () => res.setHeader('x-late', '1'),
            () => res.appendHeader('x-late', '2'),
            () => res.removeHeader('content-type'),
          ]) {
            try {
              change();
              thrown.push('nothing thrown');
            } catch (error) {
              thrown.push((error as { code?: unknown }).code);
            }
          }
          thrown.push(res.headersSent);
        }),
      ),
    );
    servers.push(server);
    const reply = await send(server.url, 'POST', '/');
    expect([reply.status, reply.text]).toEqual([200, 'done']);
    expect(reply.headers.get('x-late')).toBeNull();
    expect(cookiesNamed(reply, m.cookieName)).toHaveLength(1);
    expect(thrown).toEqual([...Array(3).fill('ERR_HTTP_HEADERS_SENT'), true]);
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
