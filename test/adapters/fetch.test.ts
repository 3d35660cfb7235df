import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSessionScope,
  type FetchSessionOptions,
  getSession,
  withSession,
} from '../../src/adapters/fetch.js';
import type { SessionManager } from '../../src/core/manager.js';
import { memoryStore } from '../../src/stores/memory.js';
import { FETCH } from '../support/adapters.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';
import { serveFetch } from '../support/serve-fetch.js';
import { type AdapterServer, cookiesNamed, describeAdapter, listen, send } from './contract.js';

describeAdapter({ name: 'fetch withSession', createServer: FETCH.serve });

const BASE = 'http://app.test';

/** Create a session holding `values`; returns its `Cookie` header. */
async function seed(m: SessionManager, values: Record<string, unknown>): Promise<string> {
  const handler = withSession(m, async (_request, session) => {
    for (const [key, value] of Object.entries(values)) session.set(key, value);
    return new Response('seeded');
  });
  const response = await handler(new Request(`${BASE}/seed`, { method: 'POST' }));
  const [line] = response.headers.getSetCookie();
  expect(line).toBeDefined();
  return line!.split(';')[0]!;
}

describe('fetch adapter specifics', () => {
  const servers: AdapterServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('a cookie-carrying request that never touches the session makes 0 store calls', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager({ store: probe });
    const cookie = await seed(m, { a: 1 });
    probe.calls.clear();
    const handler = withSession(m, async () => new Response('ok'));
    const response = await handler(new Request(`${BASE}/`, { headers: { cookie } }));
    expect(await response.text()).toBe('ok');
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get('vary')).toBeNull();
    expect([...probe.calls.values()].reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('Response.redirect() (immutable headers) still gets the session cookie', async () => {
    const m = testManager();
    const handler = withSession(m, async (_request, session) => {
      session.login('alice');
      return Response.redirect(`${BASE}/welcome`, 303);
    });
    const response = await handler(new Request(`${BASE}/login`, { method: 'POST' }));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${BASE}/welcome`);
    const [line] = response.headers.getSetCookie();
    expect(line?.startsWith(`${m.cookieName}=`)).toBe(true);
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    // Over real HTTP as well.
    const server = await serveFetch(handler);
    servers.push(server);
    const reply = await send(server.url, 'POST', '/login');
    expect(reply.status).toBe(303);
    expect(cookiesNamed(reply, m.cookieName)).toHaveLength(1);
  });

  it('a proxied fetch() result keeps the upstream Set-Cookie lines next to the session’s', async () => {
    const upstream = await listen(
      http.createServer((_req, res) => {
        res.setHeader('set-cookie', ['up1=a; Path=/', 'up2=b; Path=/']);
        res.setHeader('vary', 'Accept-Encoding');
        res.end('from upstream');
      }),
    );
    servers.push(upstream);
    const m = testManager();
    const handler = withSession(m, async (_request, session) => {
      session.set('proxied', true);
      return fetch(upstream.url);
    });
    const server = await serveFetch(handler);
    servers.push(server);
    const reply = await send(server.url, 'GET', '/');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('from upstream');
    expect(reply.setCookies.slice(0, 2)).toEqual(['up1=a; Path=/', 'up2=b; Path=/']);
    expect(cookiesNamed(reply, m.cookieName)).toHaveLength(1);
    expect(reply.headers.get('vary')).toBe('Accept-Encoding, Cookie');
  });

  it('streaming: commit inside the handler, then stream; the cookie and every chunk arrive', async () => {
    const m = testManager();
    const order: string[] = [];
    const handler = withSession(m, async (_request, session) => {
      await session.update('visits', (n) => ((n as number | undefined) ?? 0) + 1);
      await session.commit();
      order.push('committed');
      const visits = await session.get('visits');
      const chunks = ['visit ', String(visits), ' streamed'];
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk === undefined) controller.close();
          else {
            order.push('chunk');
            controller.enqueue(encoder.encode(chunk));
          }
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/plain' } });
    });
    const server = await serveFetch(handler);
    servers.push(server);
    const first = await send(server.url, 'GET', '/');
    expect(first.status).toBe(200);
    expect(first.text).toBe('visit 1 streamed');
    const [cookie] = cookiesNamed(first, m.cookieName);
    expect(cookie).toBeDefined();
    expect(order[0]).toBe('committed');
    const second = await send(server.url, 'GET', '/', { cookie: cookie?.pair });
    expect(second.text).toBe('visit 2 streamed');
    // The explicit commit already saved: the adapter only added headers, no second cookie.
    expect(second.setCookies).toEqual([]);
    expect(second.headers.get('cache-control')).toBe('private, no-store');
  });

  it('streaming: an explicit commit that fails surfaces in the handler as a generic 503', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager({ store: probe });
    let streamed = false;
    const handler = withSession(m, async (_request, session) => {
      session.set('a', 1);
      await session.commit();
      streamed = true;
      return new Response(new ReadableStream({ start: (c) => c.close() }));
    });
    probe.failing.add('set');
    const response = await handler(new Request(`${BASE}/`, { headers: { accept: 'text/html' } }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await response.text()).toBe('Service Unavailable');
    expect(streamed).toBe(false);
  });

  it('a failing commit discards the handler’s response (body cancelled) for a generic 503', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager({ store: probe });
    let cancelled = false;
    const handler = withSession(m, async (_request, session) => {
      session.set('a', 1);
      const body = new ReadableStream({
        pull: (c) => c.enqueue(new TextEncoder().encode('never sent')),
        cancel: () => {
          cancelled = true;
        },
      });
      return new Response(body, { headers: { 'set-cookie': 'theme=dark', 'x-app': '1' } });
    });
    probe.failing.add('set');
    const response = await handler(new Request(`${BASE}/`, { headers: { accept: 'json' } }));
    expect(response.status).toBe(503);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-app')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await response.json()).toEqual({ error: 'Service Unavailable' });
    expect(cancelled).toBe(true);
  });

  it('a handler that throws: nothing is committed, the lock is released, the error is rethrown', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager({ store: probe, concurrency: 'lock', lock: { wait: 200 } });
    const cookie = await seed(m, { a: 1 });
    const boom = new Error('handler bug');
    const failing = withSession(m, async (_request, session) => {
      await session.get('a'); // takes the lock
      session.set('a', 2);
      throw boom;
    });
    probe.calls.clear();
    await expect(failing(new Request(`${BASE}/`, { headers: { cookie } }))).rejects.toBe(boom);
    expect(probe.calls.get('set') ?? 0).toBe(0);
    expect(probe.calls.get('unlock')).toBe(1);
    // Not blocked by a leaked lock (that would be a 503 after lock.wait).
    const read = withSession(m, async (_request, session) => Response.json(await session.all()));
    const response = await read(new Request(`${BASE}/`, { headers: { cookie } }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ a: 1 });
  });

  it('createSessionScope: getSession(request) is the same session; apply adds the headers', async () => {
    const m = testManager();
    const request = new Request(`${BASE}/`, { method: 'POST' });
    const scope = createSessionScope(m, request);
    expect(getSession(request)).toBe(scope.session);
    expect(() => getSession(new Request(`${BASE}/`))).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_STATE' }),
    );
    getSession(request).set('n', 1);
    const response = await scope.apply(new Response('ok'));
    const [line] = response.headers.getSetCookie();
    const cookie = line!.split(';')[0]!;
    const check = withSession(m, async (_request, session) => Response.json(await session.all()));
    const read = await check(new Request(`${BASE}/`, { headers: { cookie } }));
    expect(await read.json()).toEqual({ n: 1 });
  });

  it('getClientIp and the User-Agent header are recorded at login', async () => {
    const m = testManager();
    const options: FetchSessionOptions = { getClientIp: () => '203.0.113.5' };
    const handler = withSession(
      m,
      async (_request, session) => {
        session.login('alice');
        return Response.json(await session.meta());
      },
      options,
    );
    const response = await handler(
      new Request(`${BASE}/`, { method: 'POST', headers: { 'user-agent': 'TestAgent/1.0' } }),
    );
    expect(await response.json()).toMatchObject({
      userId: 'alice',
      ip: '203.0.113.5',
      userAgent: 'TestAgent/1.0',
    });
  });
});
