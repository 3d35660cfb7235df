import http from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { afterEach, describe, expect, it } from 'vitest';
import { getSession, type SessionEnv, sessionMiddleware } from '../../src/adapters/hono.js';
import { StoreError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/stores/memory.js';
import { HONO } from '../support/adapters.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';
import { type AdapterServer, cookiesNamed, describeAdapter, listen, send } from './contract.js';

/** Serve a Hono app over real HTTP through @hono/node-server. */
function serveApp(app: Hono<SessionEnv>): Promise<AdapterServer> {
  return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
}

describeAdapter({
  name: 'hono sessionMiddleware (@hono/node-server)',
  createServer: HONO.serve,
});

function pairOf(response: Response): string {
  const [line] = response.headers.getSetCookie();
  expect(line).toBeDefined();
  return line!.split(';')[0]!;
}

describe('hono adapter specifics', () => {
  const servers: AdapterServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('app.request() works without a server: counter round trip through the cookie', async () => {
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(testManager()));
    app.post('/counter', async (c) => {
      const counter = await c.get('session').update('counter', (n) => ((n as number) ?? 0) + 1);
      return c.json({ counter });
    });
    const first = await app.request('/counter', { method: 'POST' });
    expect(await first.json()).toEqual({ counter: 1 });
    const cookie = pairOf(first);
    const second = await app.request('/counter', { method: 'POST', headers: { cookie } });
    expect(await second.json()).toEqual({ counter: 2 });
    expect(second.headers.getSetCookie()).toEqual([]);
    expect(second.headers.get('vary')).toBe('Cookie');
  });

  it('a cookie-carrying request that never touches the session makes 0 store calls', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(testManager({ store: probe })));
    app.post('/set', (c) => {
      c.get('session').set('a', 1);
      return c.text('ok');
    });
    app.get('/health', (c) => c.json({ ok: true }));
    const cookie = pairOf(await app.request('/set', { method: 'POST' }));
    probe.calls.clear();
    const reply = await app.request('/health', { headers: { cookie } });
    expect(await reply.json()).toEqual({ ok: true });
    expect(reply.headers.getSetCookie()).toEqual([]);
    expect(reply.headers.get('vary')).toBeNull();
    expect([...probe.calls.values()].reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('Response.redirect() and a proxied fetch() result (immutable headers) get the cookie', async () => {
    const upstream = await listen(
      http.createServer((_req, res) => {
        res.setHeader('set-cookie', 'up=1; Path=/');
        res.end('upstream');
      }),
    );
    servers.push(upstream);
    const m = testManager();
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(m));
    app.post('/login', (c) => {
      c.get('session').login('alice');
      return Response.redirect('http://app.test/welcome', 303);
    });
    app.get('/proxy', async (c) => {
      c.get('session').set('proxied', true);
      return fetch(upstream.url);
    });
    const server = await serveApp(app);
    servers.push(server);
    const login = await send(server.url, 'POST', '/login');
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('http://app.test/welcome');
    expect(cookiesNamed(login, m.cookieName)).toHaveLength(1);
    expect(login.headers.get('cache-control')).toBe('private, no-store');
    const proxied = await send(server.url, 'GET', '/proxy');
    expect(proxied.text).toBe('upstream');
    expect(proxied.setCookies[0]).toBe('up=1; Path=/');
    expect(cookiesNamed(proxied, m.cookieName)).toHaveLength(1);
  });

  it('streaming: commit inside the handler, then stream; the cookie and every chunk arrive', async () => {
    const m = testManager();
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(m));
    app.get('/stream', async (c) => {
      const session = c.get('session');
      const visits = await session.update('visits', (n) => ((n as number) ?? 0) + 1);
      await session.commit();
      const chunks = ['visit ', String(visits), ' streamed'];
      const encoder = new TextEncoder();
      return c.body(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            const chunk = chunks.shift();
            if (chunk === undefined) controller.close();
            else controller.enqueue(encoder.encode(chunk));
          },
        }),
      );
    });
    const server = await serveApp(app);
    servers.push(server);
    const first = await send(server.url, 'GET', '/stream');
    expect(first.text).toBe('visit 1 streamed');
    const [cookie] = cookiesNamed(first, m.cookieName);
    expect(cookie).toBeDefined();
    const second = await send(server.url, 'GET', '/stream', { cookie: cookie?.pair });
    expect(second.text).toBe('visit 2 streamed');
    expect(second.setCookies).toEqual([]);
  });

  it('a handler that throws a non-session error: onError answers, nothing committed, lock released', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager({ store: probe, concurrency: 'lock', lock: { wait: 200 } });
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(m));
    app.post('/seed', (c) => {
      c.get('session').set('a', 1);
      return c.text('ok');
    });
    app.post('/fail', async (c) => {
      const session = c.get('session');
      await session.get('a'); // takes the lock
      session.set('a', 2);
      throw new HTTPException(401, { message: 'nope' });
    });
    app.get('/all', async (c) => c.json(await c.get('session').all()));
    const cookie = pairOf(await app.request('/seed', { method: 'POST' }));
    probe.calls.clear();
    const failed = await app.request('/fail', { method: 'POST', headers: { cookie } });
    expect(failed.status).toBe(401);
    expect(failed.headers.getSetCookie()).toEqual([]);
    expect(probe.calls.get('set') ?? 0).toBe(0);
    expect(probe.calls.get('unlock')).toBe(1);
    const read = await app.request('/all', { headers: { cookie } });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ a: 1 });
  });

  it('an onError that rethrows still releases the session lock', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager({ store: probe, concurrency: 'lock', lock: { wait: 200 } });
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(m));
    app.post('/seed', (c) => {
      c.get('session').set('a', 1);
      return c.text('ok');
    });
    app.post('/fail', async (c) => {
      await c.get('session').get('a'); // takes the lock
      throw new Error('handler bug');
    });
    app.get('/all', async (c) => c.json(await c.get('session').all()));
    app.onError((error) => {
      throw error;
    });
    const cookie = pairOf(await app.request('/seed', { method: 'POST' }));
    probe.calls.clear();
    await expect(app.request('/fail', { method: 'POST', headers: { cookie } })).rejects.toThrow(
      'handler bug',
    );
    expect(probe.calls.get('unlock')).toBe(1);
    const read = await app.request('/all', { headers: { cookie } });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ a: 1 });
  });

  it('a session error thrown by a handler replaces the onError page with a generic 503', async () => {
    const seen: unknown[] = [];
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(testManager()));
    app.get('/outage', (c) => {
      c.header('set-cookie', 'theme=dark');
      throw new StoreError('The redis session store failed during get.');
    });
    app.onError((error, c) => {
      seen.push(error);
      return c.text('app error page with details', 500);
    });
    const reply = await app.request('/outage', { headers: { accept: 'text/html' } });
    expect(reply.status).toBe(503);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.headers.get('retry-after')).toBe('1');
    expect(reply.headers.getSetCookie()).toEqual([]);
    expect(await reply.text()).toBe('Service Unavailable');
    expect(seen).toHaveLength(1);
  });

  it('getClientIp with @hono/node-server’s getConnInfo records the socket address', async () => {
    const m = testManager();
    const app = new Hono<SessionEnv>();
    app.use(sessionMiddleware(m, { getClientIp: (c) => getConnInfo(c).remote.address }));
    app.post('/login', async (c) => {
      c.get('session').login('alice');
      return c.json(await c.get('session').meta());
    });
    const server = await serveApp(app);
    servers.push(server);
    const reply = await send(server.url, 'POST', '/login', {
      headers: { 'user-agent': 'TestAgent/2.0', 'x-forwarded-for': '198.51.100.1' },
    });
    expect(reply.json).toMatchObject({ userId: 'alice', userAgent: 'TestAgent/2.0' });
    expect((reply.json as { ip: string }).ip).toMatch(/127\.0\.0\.1$/);
  });

  it('getSession(c) returns the session, and throws ERR_SESSION_STATE without the middleware', async () => {
    const app = new Hono<SessionEnv>();
    app.get('/bare', (c) => {
      try {
        getSession(c);
        return c.text('unexpected');
      } catch (error) {
        return c.text((error as { code?: string }).code ?? 'none');
      }
    });
    app.use('/with/*', sessionMiddleware(testManager()));
    app.get('/with/it', (c) => c.text(String(getSession(c) === c.get('session'))));
    expect(await (await app.request('/bare')).text()).toBe('ERR_SESSION_STATE');
    expect(await (await app.request('/with/it')).text()).toBe('true');
  });
});
