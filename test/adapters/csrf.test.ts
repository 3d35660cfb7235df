/**
 * CSRF over real HTTP: `csrfMiddleware` of the node adapter (connect-style chain) and of the
 * Express adapter (Express 5 and 4), with real body parsers (express.json / urlencoded / text)
 * and a multipart parser built on undici's `FormData` decoding (shaped like multer's `req.body`).
 *
 * Every refused request must answer 403 with a generic body and `Cache-Control: no-store`, run no
 * handler, set no cookie and leave the stored session untouched (same version, same data).
 */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  csrfMiddleware as expressCsrf,
  sessionMiddleware as expressSessions,
  sessionErrorHandler,
} from '../../src/adapters/express.js';
import {
  csrfMiddleware as fastifyCsrf,
  getSession as fastifyGetSession,
  sessionPlugin as fastifySessionPlugin,
} from '../../src/adapters/fastify.js';
import {
  csrfMiddleware as fetchCsrf,
  withSession as fetchWithSession,
} from '../../src/adapters/fetch.js';
import {
  csrfMiddleware as honoCsrf,
  getSession as honoGetSession,
  sessionMiddleware as honoSessions,
  type SessionEnv,
} from '../../src/adapters/hono.js';
import {
  csrfMiddleware as koaCsrf,
  getSession as koaGetSession,
  sessionMiddleware as koaSessions,
} from '../../src/adapters/koa.js';
import {
  getSession,
  type NodeMiddleware,
  csrfMiddleware as nodeCsrf,
  sessionMiddleware as nodeSessions,
} from '../../src/adapters/node.js';
import { hashSessionId } from '../../src/core/keys.js';
import type { SessionEvent } from '../../src/core/manager.js';
import type { Session } from '../../src/core/session.js';
import type { CsrfOptions } from '../../src/csrf/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { type TestManager, testManager } from '../support/manager.js';
import { serveFetch } from '../support/serve-fetch.js';
import { type AdapterServer, listen } from './contract.js';

const CSRF_OPTIONS: CsrfOptions = { except: ['/webhooks/hook', /^\/public\/[a-z]+$/] };

interface Harness extends AdapterServer {
  manager: TestManager;
  /** Unsafe handler runs, by path. */
  runs: string[];
}

type Start = (manager: TestManager, runs: string[]) => Promise<AdapterServer>;

/** The app behind every flavour: a few routes over the session, counting unsafe handler runs. */
async function handle(req: IncomingMessage, res: ServerResponse, runs: string[]): Promise<void> {
  const body = await logic(getSession(req), req.method ?? '', req.url ?? '/', runs);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function logic(session: Session, method: string, url: string, runs: string[]) {
  const path = url.split('?')[0] ?? '/';
  let body: unknown;
  if (method === 'GET' && path === '/token') body = { token: await session.csrfToken() };
  else if (method === 'GET' && path === '/state') body = { data: await session.all() };
  else if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') body = { ok: method };
  else {
    runs.push(path);
    if (path === '/login') session.login('alice');
    else await session.update('changes', (n) => (typeof n === 'number' ? n + 1 : 1));
    body = { ok: true };
  }
  return body;
}

/** What the `method-override` package does: rewrite `req.method`, keep `originalMethod`. */
const methodOverride: NodeMiddleware = (req, _res, next) => {
  const override = req.headers['x-http-method-override'];
  if (req.method === 'POST' && typeof override === 'string') {
    const r = req as IncomingMessage & { originalMethod?: string };
    r.originalMethod = r.originalMethod ?? req.method;
    req.method = override.toUpperCase();
  }
  next();
};

/** A multipart parser for fields (multer's shape: a null-prototype `req.body`). */
const multipart: NodeMiddleware = (req, _res, next) => {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    next();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    new Response(Buffer.concat(chunks), { headers: { 'content-type': type } })
      .formData()
      .then((form) => {
        const body = Object.create(null) as Record<string, unknown>;
        for (const [key, value] of form) {
          if (typeof value !== 'string') continue;
          const previous = body[key];
          body[key] = previous === undefined ? value : [previous, value].flat();
        }
        (req as IncomingMessage & { body?: unknown }).body = body;
        next();
      }, next);
  });
};

function parsers(factory: typeof express): NodeMiddleware[] {
  return [
    factory.urlencoded({ extended: false }),
    factory.json(),
    factory.text(),
    multipart,
  ] as unknown as NodeMiddleware[];
}

/** node:http with a minimal connect-style chain. */
function nodeServer(withParsers: boolean): Start {
  return (manager, runs) => {
    const chain: NodeMiddleware[] = [
      nodeSessions(manager) as NodeMiddleware,
      methodOverride,
      ...(withParsers ? parsers(express) : []),
      nodeCsrf(manager, CSRF_OPTIONS),
    ];
    const server = http.createServer((req, res) => {
      let index = 0;
      const next = (error?: unknown): void => {
        if (error !== undefined) {
          const status = (error as { status?: unknown }).status;
          res.statusCode = typeof status === 'number' ? status : 500;
          res.end('error');
          return;
        }
        const middleware = chain[index++];
        if (middleware !== undefined) middleware(req, res, next);
        else handle(req, res, runs).catch(next);
      };
      next();
    });
    return listen(server);
  };
}

function expressServer(factory: typeof express): Start {
  return (manager, runs) => {
    const app = factory();
    app.use(expressSessions(manager));
    app.use(methodOverride);
    for (const parser of parsers(factory)) app.use(parser);
    app.use(expressCsrf(manager, CSRF_OPTIONS));
    app.use((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
      handle(req, res, runs).catch(next);
    });
    app.use(sessionErrorHandler());
    return listen(http.createServer(app));
  };
}

interface Send {
  cookie?: string | undefined;
  headers?: Record<string, string>;
  json?: unknown;
  form?: string;
  text?: string;
  multipart?: [string, string][];
  /** More cookies after the session cookie. */
  extraCookie?: string;
  /** Headers appended (so repeated names are sent twice). */
  append?: [string, string][];
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  setCookies: string[];
}

async function send(base: string, method: string, path: string, o: Send = {}): Promise<Reply> {
  const headers = new Headers(o.headers);
  for (const [name, value] of o.append ?? []) headers.append(name, value);
  if (o.cookie !== undefined) {
    headers.set('cookie', o.extraCookie === undefined ? o.cookie : `${o.cookie}; ${o.extraCookie}`);
  }
  let body: RequestInit['body'];
  if (o.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(o.json);
  } else if (o.form !== undefined) {
    headers.set('content-type', 'application/x-www-form-urlencoded');
    body = o.form;
  } else if (o.text !== undefined) {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain');
    body = o.text;
  } else if (o.multipart !== undefined) {
    const form = new FormData();
    for (const [name, value] of o.multipart) form.append(name, value);
    body = form; // fetch sets the multipart boundary
  }
  const res = await fetch(base + path, {
    method,
    headers,
    redirect: 'manual',
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: res.status,
    headers: res.headers,
    text: await res.text(),
    setCookies: res.headers.getSetCookie(),
  };
}

/** Hono over @hono/node-server; bodies are parsed by the middleware itself (Hono caches them). */
const honoServer: Start = (manager, runs) => {
  const app = new Hono<SessionEnv>();
  app.use(honoSessions(manager));
  app.use(honoCsrf(manager, CSRF_OPTIONS));
  app.all('*', async (c) => {
    const url = new URL(c.req.url);
    const body = await logic(honoGetSession(c), c.req.method, url.pathname + url.search, runs);
    return c.json(body as object);
  });
  return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
};

/** Koa with the real express body parsers and the multipart parser bridged in. */
const koaServer: Start = (manager, runs) => {
  const app = new Koa();
  const bridge = (middleware: NodeMiddleware) => (ctx: Koa.Context, next: () => Promise<unknown>) =>
    new Promise<void>((resolve, reject) => {
      middleware(ctx.req, ctx.res, (error) => (error === undefined ? resolve() : reject(error)));
    }).then(() => {
      const body = (ctx.req as IncomingMessage & { body?: unknown }).body;
      if (body !== undefined) (ctx.request as { body?: unknown }).body = body;
      return next();
    });
  app.use(koaSessions(manager));
  for (const parser of parsers(express)) app.use(bridge(parser));
  app.use(async (ctx, next) => {
    // What koa-methodoverride-style middleware does: rewrite the method, keep the original.
    const override = ctx.get('x-http-method-override');
    if (ctx.method === 'POST' && override !== '') {
      (ctx.request as { originalMethod?: string }).originalMethod = 'POST';
      ctx.method = override.toUpperCase();
    }
    await next();
  });
  app.use(koaCsrf(manager, CSRF_OPTIONS));
  app.use(async (ctx) => {
    ctx.body = await logic(koaGetSession(ctx), ctx.method, ctx.url, runs);
  });
  return listen(http.createServer(app.callback()));
};

/** Fields of a urlencoded or multipart body, repeated names as arrays (null prototype). */
async function formFields(type: string, body: Buffer): Promise<Record<string, unknown>> {
  const form = await new Response(body, { headers: { 'content-type': type } }).formData();
  const fields = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of form) {
    if (typeof value !== 'string') continue;
    const previous = fields[key];
    fields[key] = previous === undefined ? value : [previous, value].flat();
  }
  return fields;
}

/** Fastify with JSON (built in), text, urlencoded and multipart parsers; CSRF as a preHandler. */
const fastifyServer: Start = async (manager, runs) => {
  const app = Fastify();
  await app.register(fastifySessionPlugin, { manager });
  // Any other (or no) content type arrives as text, so the CSRF check — not a 415 — refuses it.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'multipart/form-data'],
    { parseAs: 'buffer' },
    (req, body, done) => {
      formFields(String(req.headers['content-type']), body as Buffer).then(
        (fields) => done(null, fields),
        (error: Error) => done(error, undefined),
      );
    },
  );
  app.addHook('preHandler', fastifyCsrf(manager, CSRF_OPTIONS));
  app.all('/*', async (request) =>
    logic(fastifyGetSession(request, manager), request.method, request.url, runs),
  );
  await app.ready();
  return listen(app.server);
};

/** A fetch handler behind a tiny node:http ↔ Request/Response bridge. */
const fetchServer: Start = (manager, runs) => {
  const handler = fetchWithSession(
    manager,
    fetchCsrf(
      manager,
      CSRF_OPTIONS,
    )(async (request, session) => {
      const url = new URL(request.url);
      return Response.json(await logic(session, request.method, url.pathname + url.search, runs));
    }),
  );
  return serveFetch(handler);
};

const flavours: [string, Start][] = [
  ['node', nodeServer(true)],
  ['Express 5', expressServer(express)],
  ['Express 4', expressServer(express4)],
  ['Hono', honoServer],
  ['Koa', koaServer],
  ['Fastify', fastifyServer],
  ['fetch', fetchServer],
];

for (const [name, start] of flavours) {
  describe(`CSRF over HTTP: ${name}`, () => {
    let h: Harness;
    const events: SessionEvent[] = [];

    beforeAll(async () => {
      const manager = testManager({ store: memoryStore(), onEvent: (e) => events.push(e) });
      const runs: string[] = [];
      h = { ...(await start(manager, runs)), manager, runs };
    });
    afterAll(async () => {
      await h?.close();
    });

    /** A fresh session with one change made, its cookie, and a token for it. */
    async function session(): Promise<{ cookie: string; token: string }> {
      const res = await send(h.url, 'GET', '/token');
      const cookie = res.setCookies[0]?.split(';')[0];
      expect(cookie).toMatch(/^sid=/);
      const { token } = JSON.parse(res.text) as { token: string };
      const ok = await send(h.url, 'POST', '/change', {
        cookie,
        headers: { 'x-csrf-token': token },
      });
      expect(ok.status).toBe(200);
      return { cookie: cookie!, token };
    }

    async function record(cookie: string) {
      const id = cookie.slice('sid='.length, cookie.indexOf('.'));
      return h.manager.store.get(hashSessionId(id));
    }

    /** Send, and assert the full refusal: 403, generic body, no-store, no handler, no change. */
    async function expectRefused(
      cookie: string | undefined,
      method: string,
      path: string,
      o: Send = {},
    ): Promise<void> {
      const before = cookie === undefined ? undefined : await record(cookie);
      const runs = h.runs.length;
      const res = await send(h.url, method, path, { ...o, cookie });
      // Fastify refuses a body with an empty Content-Type itself (415) before any hook runs: still
      // a refusal with the handler not run and nothing changed, which the checks below verify.
      if (name === 'Fastify' && res.status === 415 && o.headers?.['content-type'] === '') {
        expect(h.runs.length).toBe(runs);
        return;
      }
      expect(res.status).toBe(403);
      expect(['Forbidden', '{"error":"Forbidden"}']).toContain(res.text);
      expect(res.headers.get('cache-control')).toMatch(/no-store/);
      expect(res.setCookies).toEqual([]);
      expect(h.runs.length).toBe(runs);
      if (cookie !== undefined) {
        const after = await record(cookie);
        expect(after?.version).toBe(before?.version);
        expect(after?.data).toBe(before?.data);
      }
    }

    async function expectAccepted(cookie: string, method: string, path: string, o: Send = {}) {
      const runs = h.runs.length;
      const res = await send(h.url, method, path, { ...o, cookie });
      expect(res.status, res.text).toBe(200);
      expect(h.runs.length).toBe(runs + 1);
    }

    // ---- accepted -------------------------------------------------------------------------

    it('accepts the token in x-csrf-token and the change is stored', async () => {
      const { cookie, token } = await session();
      await expectAccepted(cookie, 'POST', '/change', { headers: { 'x-csrf-token': token } });
      const state = await send(h.url, 'GET', '/state', { cookie });
      expect(JSON.parse(state.text)).toEqual({ data: { changes: 2 } });
    });

    it.each<[string, (token: string) => Send]>([
      ['urlencoded', (t) => ({ form: `name=x&_csrf=${encodeURIComponent(t)}` })],
      ['JSON', (t) => ({ json: { name: 'x', _csrf: t } })],
      [
        'multipart',
        (t) => ({
          multipart: [
            ['name', 'x'],
            ['_csrf', t],
          ],
        }),
      ],
    ])('accepts the _csrf field of a %s body', async (_kind, body) => {
      const { cookie, token } = await session();
      await expectAccepted(cookie, 'POST', '/change', body(token));
    });

    it.each(['PUT', 'PATCH', 'DELETE'])('accepts %s with the token', async (method) => {
      const { cookie, token } = await session();
      await expectAccepted(cookie, method, '/change', { headers: { 'x-csrf-token': token } });
    });

    it.each<[string, Record<string, string>]>([
      ['Sec-Fetch-Site: same-origin', { 'sec-fetch-site': 'same-origin' }],
      ['the own Origin', { origin: 'HOST' }],
      ['a same-origin Referer', { referer: 'HOST/page' }],
    ])('accepts %s with the token', async (_name, headers) => {
      const { cookie, token } = await session();
      const withHost = Object.fromEntries(
        Object.entries(headers).map(([k, v]) => [k, v.replace('HOST', h.url)]),
      );
      await expectAccepted(cookie, 'POST', '/change', {
        headers: { ...withHost, 'x-csrf-token': token },
      });
    });

    it.each(['HEAD', 'OPTIONS', 'GET'])(
      '%s passes without a token, even cross-site',
      async (method) => {
        const { cookie } = await session();
        const res = await send(h.url, method, '/change', {
          cookie,
          headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        });
        expect(res.status).toBe(200);
      },
    );

    it('except paths skip the check (exact string and RegExp)', async () => {
      const { cookie } = await session();
      const hostile = { 'sec-fetch-site': 'cross-site', origin: 'null' };
      await expectAccepted(cookie, 'POST', '/webhooks/hook', { headers: hostile });
      await expectAccepted(cookie, 'POST', '/webhooks/hook?x=1', { headers: hostile });
      await expectAccepted(cookie, 'POST', '/public/ping', { json: {} });
    });

    it('login rotates the token: the pre-login token is refused, the new one works', async () => {
      const { cookie, token } = await session();
      const login = await send(h.url, 'POST', '/login', {
        cookie,
        headers: { 'x-csrf-token': token },
      });
      expect(login.status).toBe(200);
      const next = login.setCookies[0]?.split(';')[0];
      expect(next).toMatch(/^sid=/);
      expect(next).not.toBe(cookie);
      await expectRefused(next, 'POST', '/change', { headers: { 'x-csrf-token': token } });
      const fresh = await send(h.url, 'GET', '/token', { cookie: next });
      const { token: rotated } = JSON.parse(fresh.text) as { token: string };
      await expectAccepted(next!, 'POST', '/change', { headers: { 'x-csrf-token': rotated } });
    });

    it('reports failures as csrf-failure events with a reason and no token', async () => {
      const { cookie, token } = await session();
      events.length = 0;
      await expectRefused(cookie, 'POST', '/change', {
        headers: { 'x-csrf-token': `${token.slice(0, -3)}AAA` },
      });
      await expectRefused(cookie, 'DELETE', '/change', {
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expect(events.filter((e) => e.type === 'csrf-failure')).toEqual([
        { type: 'csrf-failure', reason: 'invalid-token', method: 'POST' },
        { type: 'csrf-failure', reason: 'cross-site', method: 'DELETE' },
      ]);
      expect(JSON.stringify(events)).not.toContain(token.slice(0, 20));
    });

    // ---- refused --------------------------------------------------------------------------

    it.each<[string, string, string, (token: string, other: string) => Send]>([
      ['no token, JSON body', 'POST', '/change', () => ({ json: { name: 'x' } })],
      ['no token, urlencoded body', 'POST', '/change', () => ({ form: 'name=x' })],
      ['no token, no body', 'POST', '/change', () => ({})],
      ['PUT without a token', 'PUT', '/change', () => ({ json: {} })],
      ['PATCH without a token', 'PATCH', '/change', () => ({ json: {} })],
      ['DELETE without a token', 'DELETE', '/change', () => ({})],
      ['an empty header', 'POST', '/change', () => ({ headers: { 'x-csrf-token': '' } })],
      ['an empty field', 'POST', '/change', () => ({ form: '_csrf=' })],
      [
        'a truncated token (header)',
        'POST',
        '/change',
        (t) => ({ headers: { 'x-csrf-token': t.slice(0, -1) } }),
      ],
      [
        'a truncated token (field)',
        'POST',
        '/change',
        (t) => ({ json: { _csrf: t.slice(0, 40) } }),
      ],
      [
        'an extended token',
        'POST',
        '/change',
        (t) => ({ headers: { 'x-csrf-token': `${t}AAAA` } }),
      ],
      [
        'another session’s token',
        'POST',
        '/change',
        (_t, o) => ({ headers: { 'x-csrf-token': o } }),
      ],
      ['the token in the query string', 'POST', '/change?_csrf=TOKEN', () => ({ form: 'name=x' })],
      [
        'the header name in the query string',
        'POST',
        '/change?x-csrf-token=TOKEN',
        () => ({ json: {} }),
      ],
      [
        'header and body disagreeing',
        'POST',
        '/change',
        (t, o) => ({ headers: { 'x-csrf-token': t }, json: { _csrf: o } }),
      ],
      [
        'a valid header with a forged field',
        'POST',
        '/change',
        (t) => ({ headers: { 'x-csrf-token': t }, form: '_csrf=forged' }),
      ],
      [
        'a repeated field, last one forged',
        'POST',
        '/change',
        (t) => ({ form: `_csrf=${t}&_csrf=forged` }),
      ],
      [
        'a repeated header',
        'POST',
        '/change',
        (t) => ({
          append: [
            ['x-csrf-token', t],
            ['x-csrf-token', t],
          ],
        }),
      ],
      ['the token nested in JSON', 'POST', '/change', (t) => ({ json: { data: { _csrf: t } } })],
      ['the token as a JSON array', 'POST', '/change', (t) => ({ json: { _csrf: [t] } })],
      [
        'the token in a cookie (double-submit confusion)',
        'POST',
        '/change',
        (t) => ({ extraCookie: `_csrf=${t}; x-csrf-token=${t}` }),
      ],
      [
        'Sec-Fetch-Site: cross-site with a valid token',
        'POST',
        '/change',
        (t) => ({ headers: { 'sec-fetch-site': 'cross-site', 'x-csrf-token': t } }),
      ],
      [
        'a foreign Origin with a valid token',
        'POST',
        '/change',
        (t) => ({ headers: { origin: 'https://evil.example', 'x-csrf-token': t } }),
      ],
      [
        'Origin: null with a valid token',
        'POST',
        '/change',
        (t) => ({ headers: { origin: 'null', 'x-csrf-token': t } }),
      ],
      [
        'a foreign Referer with a valid token',
        'POST',
        '/change',
        (t) => ({ headers: { referer: 'https://evil.example/x', 'x-csrf-token': t } }),
      ],
      [
        'a text/plain form (enctype) carrying the field',
        'POST',
        '/change',
        (t) => ({ text: `_csrf=${t}` }),
      ],
      [
        'JSON sent as text/plain',
        'POST',
        '/change',
        (t) => ({ text: JSON.stringify({ _csrf: t }) }),
      ],
      [
        'a field without a content type',
        'POST',
        '/change',
        (t) => ({ text: `_csrf=${t}`, headers: { 'content-type': '' } }),
      ],
      [
        'charset games on text/plain',
        'POST',
        '/change',
        (t) => ({ text: `_csrf=${t}`, headers: { 'content-type': 'text/plain; charset=utf-7' } }),
      ],
      [
        'a form type hidden in a parameter',
        'POST',
        '/change',
        (t) => ({
          text: `_csrf=${t}`,
          headers: { 'content-type': 'text/plain; x=application/x-www-form-urlencoded' },
        }),
      ],
      ['multipart without a token', 'POST', '/change', () => ({ multipart: [['name', 'x']] })],
      [
        'multipart with a forged token',
        'POST',
        '/change',
        () => ({ multipart: [['_csrf', 'forged']] }),
      ],
      [
        'multipart with another session’s token',
        'POST',
        '/change',
        (_t, o) => ({ multipart: [['_csrf', o]] }),
      ],
      [
        'X-HTTP-Method-Override: GET',
        'POST',
        '/change',
        () => ({ headers: { 'x-http-method-override': 'GET' } }),
      ],
      [
        'X-HTTP-Method / X-Method-Override: GET',
        'POST',
        '/change',
        () => ({ headers: { 'x-http-method': 'GET', 'x-method-override': 'HEAD' } }),
      ],
      [
        '_method=GET in the query and the body',
        'POST',
        '/change?_method=GET',
        () => ({ form: '_method=GET' }),
      ],
      ['an except path with a trailing slash', 'POST', '/webhooks/hook/', () => ({})],
      ['an except path in other case', 'POST', '/WEBHOOKS/hook', () => ({})],
      ['an except path, percent-encoded', 'POST', '/webhooks/%68ook', () => ({})],
      ['beyond a RegExp except', 'POST', '/public/ping/more', () => ({})],
    ])('refuses %s', async (_name, method, path, build) => {
      const { cookie, token } = await session();
      const other = await session();
      await expectRefused(
        cookie,
        method,
        path.replace('TOKEN', encodeURIComponent(token)),
        build(token, other.token),
      );
    });

    it('refuses a valid token sent without the session cookie, or with a forged one', async () => {
      const { token } = await session();
      await expectRefused(undefined, 'POST', '/change', { headers: { 'x-csrf-token': token } });
      await expectRefused(undefined, 'POST', '/change', {
        headers: { 'x-csrf-token': token, cookie: 'sid=forged.value' },
      });
    });
  });
}

describe('CSRF over HTTP: node without a body parser', () => {
  let server: AdapterServer;
  const runs: string[] = [];
  beforeAll(async () => {
    server = await nodeServer(false)(testManager(), runs);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('reads only the header: a _csrf field in an unparsed body does not count', async () => {
    const first = await send(server.url, 'GET', '/token');
    const cookie = first.setCookies[0]?.split(';')[0];
    const { token } = JSON.parse(first.text) as { token: string };
    const field = await send(server.url, 'POST', '/change', {
      cookie,
      form: `_csrf=${encodeURIComponent(token)}`,
    });
    expect(field.status).toBe(403);
    expect(runs).toEqual([]);
    const header = await send(server.url, 'POST', '/change', {
      cookie,
      headers: { 'x-csrf-token': token },
    });
    expect(header.status).toBe(200);
    expect(runs).toEqual(['/change']);
  });
});

describe('csrfMiddleware options', () => {
  it('invalid options throw ERR_SESSION_CONFIG at construction, in both adapters', () => {
    const m = testManager();
    for (const factory of [nodeCsrf, expressCsrf]) {
      expect(() => factory(m, { origins: ['https://*.example.com'] })).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
      );
      expect(() => factory(m, { except: [/x/g] })).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
      );
    }
  });

  it('configured origins are honoured over HTTP', async () => {
    const m = testManager();
    const app = express();
    app.use(expressSessions(m));
    app.use(expressCsrf(m, { origins: ['https://shop.example.com'] }));
    const runs: string[] = [];
    app.use((req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void) => {
      handle(req, res, runs).catch(next);
    });
    const server = await listen(http.createServer(app));
    try {
      const first = await send(server.url, 'GET', '/token');
      const cookie = first.setCookies[0]?.split(';')[0];
      const { token } = JSON.parse(first.text) as { token: string };
      const post = (origin: string) =>
        send(server.url, 'POST', '/change', {
          cookie,
          headers: { origin, 'x-csrf-token': token },
        });
      expect((await post(server.url)).status).toBe(403); // the own origin is no longer implied
      expect((await post('https://shop.example.com')).status).toBe(200);
      expect(runs).toEqual(['/change']);
    } finally {
      await server.close();
    }
  });
});
