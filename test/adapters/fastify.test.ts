import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { getSession, sessionPlugin } from '../../src/adapters/fastify.js';
import { memoryStore } from '../../src/stores/memory.js';
import { FASTIFY } from '../support/adapters.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';
import { type AdapterServer, cookiesNamed, describeAdapter, send } from './contract.js';

async function listen(app: FastifyInstance): Promise<AdapterServer> {
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

describeAdapter({ name: 'Fastify 5', createServer: FASTIFY.serve });

describe('Fastify specifics', () => {
  const apps: FastifyInstance[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    for (const app of apps.splice(0)) await app.close();
  });

  async function start(app: FastifyInstance): Promise<string> {
    apps.push(app);
    return (await listen(app)).url;
  }

  it('the plugin is not encapsulated: request.session and the commit reach sibling plugins', async () => {
    const m = testManager<{ n: number; seen: boolean }>();
    const app = Fastify();
    await app.register(sessionPlugin, { manager: m });
    // A sibling plugin (its own encapsulated context) uses the decorator and the hooks.
    await app.register(
      (api, _options, done) => {
        api.post('/count', async (request: FastifyRequest) => {
          const session: unknown = (request as { session?: unknown }).session;
          if (session !== getSession(request, m)) throw new Error('accessors disagree');
          return { n: await getSession(request, m).update('n', (n = 0) => n + 1) };
        });
        done();
      },
      { prefix: '/api' },
    );
    const url = await start(app);
    const first = await send(url, 'POST', '/api/count');
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ n: 1 });
    const [cookie] = cookiesNamed(first, m.cookieName);
    expect(cookie).toBeDefined();
    const second = await send(url, 'POST', '/api/count', { cookie: cookie?.pair });
    expect(second.json).toEqual({ n: 2 });
  });

  it('the plugin carries fastify-plugin’s metadata', () => {
    expect(sessionPlugin[Symbol.for('skip-override')]).toBe(true);
    expect(sessionPlugin[Symbol.for('fastify.display-name')]).toBe('sessionkit');
    expect(sessionPlugin[Symbol.for('plugin-meta')]).toEqual({
      fastify: '5.x',
      name: 'sessionkit',
    });
  });

  it('registering without a manager fails with ERR_SESSION_STATE', async () => {
    const app = Fastify();
    apps.push(app);
    // @ts-expect-error the manager is required
    void app.register(sessionPlugin, {});
    await expect(app.ready()).rejects.toMatchObject({ code: 'ERR_SESSION_STATE' });
  });

  it('fastify.inject works (light-my-request on this Node)', async () => {
    const m = testManager<{ n: number; seen: boolean }>();
    const app = Fastify();
    apps.push(app);
    await app.register(sessionPlugin, { manager: m });
    app.post('/count', async (request) => ({
      n: await getSession(request, m).update('n', (n = 0) => n + 1),
    }));
    const first = await app.inject({ method: 'POST', url: '/count' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ n: 1 });
    const cookie = first.cookies.find((c) => c.name === m.cookieName);
    expect(cookie?.httpOnly).toBe(true);
    expect(first.headers.vary).toMatch(/cookie/i);
    const second = await app.inject({
      method: 'POST',
      url: '/count',
      cookies: { [m.cookieName]: cookie?.value ?? '' },
    });
    expect(second.json()).toEqual({ n: 2 });
    expect(second.cookies).toEqual([]);
  });

  it('a cookie-carrying request that only takes request.session does no store call', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager<{ n: number; seen: boolean }>({ store: probe });
    const app = Fastify();
    await app.register(sessionPlugin, { manager: m });
    app.post('/seed', async (request) => {
      getSession(request, m).set('seen', true);
      return { ok: true };
    });
    app.get('/peek', async (request) => ({
      has: (request as { session?: unknown }).session != null,
    }));
    const url = await start(app);
    const [cookie] = cookiesNamed(await send(url, 'POST', '/seed'), m.cookieName);
    expect(cookie).toBeDefined();
    probe.reset();
    const reply = await send(url, 'GET', '/peek', { cookie: cookie?.pair });
    expect(reply.json).toEqual({ has: true });
    expect(reply.setCookies).toEqual([]);
    expect(probe.log).toEqual([]);
  });

  it("a session error runs the app's error handler; the default handler's body is generic", async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager<{ n: number; seen: boolean }>({ store: probe });
    const seen: unknown[] = [];
    const url = await start(
      await (async () => {
        const app = Fastify();
        await app.register(sessionPlugin, { manager: m });
        app.post('/seed', async (request) => {
          getSession(request, m).set('n', 1);
          return { ok: true };
        });
        app.get('/read', async (request) => ({ n: await getSession(request, m).get('n') }));
        app.post('/write', async (request) => {
          getSession(request, m).set('n', 2);
          return { ok: true };
        });
        // A child context with its own error handler: it sees the session error and answers.
        await app.register((child, _options, done) => {
          child.setErrorHandler((error, _request, reply) => {
            seen.push(error);
            return reply.code(503).send({ custom: 'try later' });
          });
          child.post('/custom', async (request) => {
            getSession(request, m).set('n', 3);
            return { ok: true };
          });
          done();
        });
        return app;
      })(),
    );
    const [cookie] = cookiesNamed(await send(url, 'POST', '/seed'), m.cookieName);
    probe.failing.add('get');
    // A failing read inside the handler: Fastify's default handler, generic body.
    const read = await send(url, 'GET', '/read', { cookie: cookie?.pair });
    expect(read.status).toBe(503);
    expect(read.headers.get('cache-control')).toBe('no-store');
    expect(read.headers.get('retry-after')).toBe('1');
    expect(read.json).toEqual({ error: 'Service Unavailable' });
    expect(read.setCookies).toEqual([]);
    // A failing commit in onSend: the same, for text clients too.
    const write = await send(url, 'POST', '/write', {
      cookie: cookie?.pair,
      headers: { accept: 'text/html' },
    });
    expect(write.status).toBe(503);
    expect(write.text).toBe('Service Unavailable');
    expect(write.headers.get('cache-control')).toBe('no-store');
    for (const leak of ['ECONNREFUSED', 'hunter2', 'store', 'ERR_SESSION']) {
      expect(read.text).not.toContain(leak);
      expect(write.text).not.toContain(leak);
    }
    // The app's own handler ran for the commit failure and chose its body; no-store is added.
    const custom = await send(url, 'POST', '/custom', { cookie: cookie?.pair });
    expect(custom.status).toBe(503);
    expect(custom.json).toEqual({ custom: 'try later' });
    expect(custom.headers.get('cache-control')).toBe('no-store');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: 'ERR_SESSION_STORE', statusCode: 503, expose: false });
    probe.failing.delete('get');
    const after = await send(url, 'GET', '/read', { cookie: cookie?.pair });
    expect(after.json).toEqual({ n: 1 });
  });

  it('a handler error discards the session writes (documented); an explicit commit keeps them', async () => {
    const m = testManager<{ n: number; seen: boolean }>();
    const app = Fastify();
    await app.register(sessionPlugin, { manager: m });
    app.post('/seed', async (request) => {
      getSession(request, m).set('n', 1);
      return { ok: true };
    });
    app.post('/fail', async (request) => {
      getSession(request, m).set('n', 100);
      throw new Error('validation failed');
    });
    app.post('/commit-then-fail', async (request) => {
      const session = getSession(request, m);
      session.set('seen', true);
      await session.commit();
      throw new Error('mailer failed');
    });
    app.get('/all', async (request) => getSession(request, m).all());
    const url = await start(app);
    const [cookie] = cookiesNamed(await send(url, 'POST', '/seed'), m.cookieName);
    const failed = await send(url, 'POST', '/fail', { cookie: cookie?.pair });
    expect(failed.status).toBe(500);
    expect(failed.setCookies).toEqual([]);
    expect((await send(url, 'GET', '/all', { cookie: cookie?.pair })).json).toEqual({ n: 1 });
    const anonymous = await send(url, 'POST', '/fail');
    expect(anonymous.setCookies).toEqual([]);
    const committed = await send(url, 'POST', '/commit-then-fail', { cookie: cookie?.pair });
    expect(committed.status).toBe(500);
    expect((await send(url, 'GET', '/all', { cookie: cookie?.pair })).json).toEqual({
      n: 1,
      seen: true,
    });
  });

  it('lock mode never leaks a lock: app errors, hijacked replies and aborted requests release it', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    // A leaked lock would make the next request wait 200 ms and fail with 503.
    const m = testManager<{ n: number; seen: boolean }>({
      store: probe,
      concurrency: 'lock',
      lock: { wait: 200, ttl: 60_000 },
    });
    // The aborted request's connection is gone; do not wait for it on close.
    const app = Fastify({ forceCloseConnections: true });
    await app.register(sessionPlugin, { manager: m });
    app.post('/seed', async (request) => {
      getSession(request, m).set('n', 0);
      return { ok: true };
    });
    app.post('/inc', async (request) => ({
      n: await getSession(request, m).update('n', (n = 0) => n + 1),
    }));
    app.get('/boom', async (request) => {
      await getSession(request, m).get('n');
      throw new Error('app failure after loading the session');
    });
    app.get('/hijack', async (request, reply) => {
      await getSession(request, m).get('n');
      reply.hijack();
      reply.raw.end('raw');
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    cleanups.push(async () => release());
    app.get('/slow', async (request) => {
      await getSession(request, m).get('n');
      await released; // holds the lock until the test lets go
      return { ok: true };
    });
    const url = await start(app);
    const [cookie] = cookiesNamed(await send(url, 'POST', '/seed'), m.cookieName);

    const boom = await send(url, 'GET', '/boom', { cookie: cookie?.pair });
    expect(boom.status).toBe(500);
    expect((await send(url, 'POST', '/inc', { cookie: cookie?.pair })).json).toEqual({ n: 1 });

    const hijacked = await send(url, 'GET', '/hijack', { cookie: cookie?.pair });
    expect(hijacked.text).toBe('raw');
    expect((await send(url, 'POST', '/inc', { cookie: cookie?.pair })).json).toEqual({ n: 2 });

    const before = probe.calls.get('get') ?? 0;
    const controller = new AbortController();
    const aborted = fetch(`${url}/slow`, {
      headers: { cookie: cookie?.pair ?? '' },
      signal: controller.signal,
    });
    // Abort once the lock is held (the store saw the lock call).
    while ((probe.calls.get('get') ?? 0) === before) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await expect(aborted).rejects.toThrow();
    const next = await send(url, 'POST', '/inc', { cookie: cookie?.pair });
    expect(next.status).toBe(200);
    expect(next.json).toEqual({ n: 3 });
  });
});
