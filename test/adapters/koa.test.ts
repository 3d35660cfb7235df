import http from 'node:http';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { type KoaSessionContext, sessionMiddleware } from '../../src/adapters/koa.js';
import type { SessionManager } from '../../src/core/manager.js';
import { memoryStore } from '../../src/stores/memory.js';
import { KOA } from '../support/adapters.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';
import { type AdapterServer, cookiesNamed, describeAdapter, listen, send } from './contract.js';

describeAdapter({ name: 'Koa 3', createServer: KOA.serve });

interface Data {
  n: number;
  note: string;
}

describe('Koa specifics', () => {
  const servers: AdapterServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  async function start(m: SessionManager<Data>): Promise<string> {
    const app = new Koa<Koa.DefaultState, KoaSessionContext<Data>>();
    app.silent = true;
    app.use(sessionMiddleware(m));
    app.use(async (ctx) => {
      switch (`${ctx.method} ${ctx.path}`) {
        case 'POST /seed':
          ctx.session.set('n', 1);
          ctx.body = { ok: true };
          return;
        case 'GET /n':
          ctx.body = { n: (await ctx.session.get('n')) ?? null };
          return;
        case 'POST /inc':
          ctx.body = { n: await ctx.session.update('n', (n = 0) => n + 1) };
          return;
        case 'POST /throw':
          // A write, then ctx.throw: documented to discard the write.
          ctx.session.set('n', 100);
          ctx.throw(400, 'bad input');
          return;
        case 'POST /throw-after-load':
          await ctx.session.get('n');
          ctx.throw(422, 'unprocessable');
          return;
        case 'POST /commit-then-throw':
          ctx.session.set('note', 'kept');
          await ctx.session.commit();
          ctx.throw(400, 'bad input');
          return;
        case 'GET /peek':
          // Takes the session object but never uses it.
          ctx.body = { has: ctx.session !== undefined };
          return;
      }
    });
    const server = await listen(http.createServer(app.callback()));
    servers.push(server);
    return server.url;
  }

  it('ctx.throw inside a handler discards the session writes; Koa answers the error', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager<Data>({ store: probe });
    const url = await start(m);
    const [cookie] = cookiesNamed(await send(url, 'POST', '/seed'), m.cookieName);
    expect(cookie).toBeDefined();
    const thrown = await send(url, 'POST', '/throw', { cookie: cookie?.pair });
    expect(thrown.status).toBe(400);
    expect(thrown.text).toBe('bad input');
    expect(thrown.setCookies).toEqual([]);
    expect((await send(url, 'GET', '/n', { cookie: cookie?.pair })).json).toEqual({ n: 1 });
    // Without a cookie nothing is created either.
    probe.reset();
    const anonymous = await send(url, 'POST', '/throw');
    expect(anonymous.status).toBe(400);
    expect(anonymous.setCookies).toEqual([]);
    expect(probe.log).toEqual([]);
  });

  it('an explicit commit before ctx.throw keeps the writes', async () => {
    const m = testManager<Data>();
    const url = await start(m);
    const [cookie] = cookiesNamed(await send(url, 'POST', '/seed'), m.cookieName);
    const thrown = await send(url, 'POST', '/commit-then-throw', { cookie: cookie?.pair });
    expect(thrown.status).toBe(400);
    const read = await send(url, 'GET', '/n', { cookie: cookie?.pair });
    expect(read.json).toEqual({ n: 1 });
    const note = await m.begin({ cookie: cookie?.pair }).session.get('note');
    expect(note).toBe('kept');
  });

  it('in lock mode ctx.throw releases the lock', async () => {
    // A leaked lock would make the next request wait 200 ms and fail with 503.
    const m = testManager<Data>({
      concurrency: 'lock',
      lock: { wait: 200, ttl: 60_000 },
    });
    const url = await start(m);
    const [cookie] = cookiesNamed(await send(url, 'POST', '/seed'), m.cookieName);
    const thrown = await send(url, 'POST', '/throw-after-load', { cookie: cookie?.pair });
    expect(thrown.status).toBe(422);
    const inc = await send(url, 'POST', '/inc', { cookie: cookie?.pair });
    expect(inc.status).toBe(200);
    expect(inc.json).toEqual({ n: 2 });
  });

  it('a cookie-carrying request that only takes ctx.session does no store call', async () => {
    const probe = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager<Data>({ store: probe });
    const url = await start(m);
    const [cookie] = cookiesNamed(await send(url, 'POST', '/seed'), m.cookieName);
    probe.reset();
    const reply = await send(url, 'GET', '/peek', { cookie: cookie?.pair });
    expect(reply.json).toEqual({ has: true });
    expect(reply.setCookies).toEqual([]);
    expect(reply.headers.get('vary') ?? '').not.toMatch(/cookie/i);
    expect(probe.log).toEqual([]);
  });

  it('a session error reaches an upstream error middleware with status, expose and headers', async () => {
    const store = probeStore(memoryStore({ sweepInterval: 0 }));
    const m = testManager<Data>({ store });
    const seen: unknown[] = [];
    const app = new Koa<Koa.DefaultState, KoaSessionContext<Data>>();
    app.silent = true;
    app.use(async (_ctx, next) => {
      try {
        await next();
      } catch (error) {
        seen.push(error);
        throw error;
      }
    });
    app.use(sessionMiddleware(m));
    app.use(async (ctx) => {
      if (ctx.method === 'POST') ctx.session.set('n', 1);
      else ctx.body = { n: await ctx.session.get('n') };
      ctx.body ??= { ok: true };
    });
    const server = await listen(http.createServer(app.callback()));
    servers.push(server);
    const [cookie] = cookiesNamed(await send(server.url, 'POST', '/'), m.cookieName);
    store.failing.add('get');
    const reply = await send(server.url, 'GET', '/', { cookie: cookie?.pair });
    expect(reply.status).toBe(503);
    expect(reply.text).toBe('Service Unavailable');
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.headers.get('retry-after')).toBe('1');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: 'ERR_SESSION_STORE', status: 503, expose: false });
  });
});
