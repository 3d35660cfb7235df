/**
 * THE adapter contract suite. Every adapter's test file calls {@link describeAdapter} with a
 * `createServer` that starts a real HTTP server on 127.0.0.1 with the adapter under test and maps
 * the suite's neutral route table onto its framework; the suite owns the routes and every
 * assertion, so all adapters run the same cases unchanged.
 *
 * ```ts
 * describeAdapter({
 *   name: 'node withSession',
 *   createServer: (manager, routes, options) =>
 *     listen(http.createServer(withSession(manager, dispatcher(routes), options))),
 * });
 * ```
 *
 * Everything is observed over HTTP with `fetch` (`redirect: 'manual'`): status, `Set-Cookie`,
 * `Vary`, `Cache-Control`, bodies. The only stand-in is the probe store (`../support/probe-store.ts`),
 * which counts calls and injects backend faults (SECURITY.md §20).
 */

import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import type {
  ConcurrencyMode,
  SessionManager,
  SessionManagerOptions,
} from '../../src/core/manager.js';
import type { DestroyOptions, Session } from '../../src/core/session.js';
import { memoryStore } from '../../src/stores/memory.js';
import { testManager } from '../support/manager.js';
import { type ProbeStore, probeStore } from '../support/probe-store.js';
import {
  type Ability,
  CONFIGURATIONS,
  type Configuration,
  type Credential,
  cookieCredentials,
} from './configurations.js';

/** What a route sees of the request, whatever the framework. */
export interface RouteInput {
  /** Query parameters (single values). */
  query: Record<string, string>;
  /** The parsed JSON body, or `undefined`/`{}` when there was none. */
  body: unknown;
  headers: IncomingHttpHeaders;
}

/** What a route asks the adapter's test mapping to send. */
export interface RouteResult {
  /** @default 200, or 302 with `redirect` */
  status?: number;
  json?: unknown;
  text?: string;
  /** Send a redirect to this location. */
  redirect?: string;
  /** Extra response headers, set by the handler before the body. */
  headers?: Record<string, string>;
}

/** One route of the neutral table. */
export type Route = (session: Session, input: RouteInput) => Promise<RouteResult>;

/** The neutral route table, keyed by `'METHOD /path'` (e.g. `'POST /set'`). */
export type Routes = Record<string, Route>;

/** Adapter options every adapter supports. */
export interface AdapterServerOptions {
  /** Per-middleware concurrency override. */
  concurrency?: ConcurrencyMode;
}

/** A running server. */
export interface AdapterServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}

/** What an adapter's test file hands to {@link describeAdapter}. */
export interface DescribeAdapterOptions {
  /** Shown in test titles. */
  name: string;
  /**
   * Start a server on 127.0.0.1, port 0, where every route of `routes` is reachable at its
   * method and path, with the adapter under test installed for `manager`. A request matching no
   * route gets a 404 without touching the session. A route that rejects must end the request
   * through the adapter's error path (the adapter's error handler where it has one).
   */
  createServer: (
    manager: SessionManager,
    routes: Routes,
    options?: AdapterServerOptions,
  ) => Promise<AdapterServer>;
}

/** Listen on 127.0.0.1:0 and return the URL plus a `close()` that also drops idle keep-alives. */
export async function listen(server: Server): Promise<AdapterServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}

/** A response as the suite sees it. */
export interface Reply {
  status: number;
  headers: Headers;
  /** Every `Set-Cookie` line. */
  setCookies: string[];
  text: string;
  /** The parsed body when it was JSON, else `undefined`. */
  json: unknown;
}

/** Send one request with `fetch` (`redirect: 'manual'`). */
export async function send(
  base: string,
  method: string,
  path: string,
  options: { cookie?: string | undefined; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  const init: RequestInit = { method, headers, redirect: 'manual' };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let json: unknown;
  if (res.headers.get('content-type')?.includes('json')) json = JSON.parse(text);
  return {
    status: res.status,
    headers: res.headers,
    setCookies: res.headers.getSetCookie(),
    text,
    json,
  };
}

/** The `Set-Cookie` line for cookie `name`, split into its value and attributes. */
export type ParsedCookie = Credential;

/** Every `Set-Cookie` line of `reply` for cookie `name`. */
export function cookiesNamed(reply: Reply, name: string): ParsedCookie[] {
  return cookieCredentials(reply.setCookies, name);
}

/**
 * A one-credential jar: keeps the session credential the server last issued (a cookie, or a
 * header transport's token), forgets an expired one.
 */
export class CookieJar {
  readonly #read: (reply: Reply) => ParsedCookie[];
  #pair: string | undefined;

  constructor(read: (reply: Reply) => ParsedCookie[], pair?: string) {
    this.#read = read;
    this.#pair = pair;
  }

  /** The `Cookie` header to send, or `undefined` when the jar is empty. */
  get cookie(): string | undefined {
    return this.#pair;
  }

  /** Take the session cookie of a response into the jar. Returns the reply for chaining. */
  take(reply: Reply): Reply {
    for (const cookie of this.#read(reply)) {
      this.#pair = cookie.attribute('max-age') === '0' ? undefined : cookie.pair;
    }
    return reply;
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Test-controlled rendezvous points the routes wait on, to force interleavings. */
interface Hooks {
  /** Resolved by `POST /slow-set` once its session is loaded. */
  slowLoaded: Deferred;
  /** `POST /slow-set` writes only after this resolves. */
  slowRelease: Deferred;
  /** `POST /rmw` requests wait here until `barrierSize` of them have read. */
  barrierSize: number;
  arrived: number;
  barrier: Deferred;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Body {
  values?: Record<string, unknown>;
  keep?: boolean;
  userId?: string;
  persistent?: boolean;
  key?: string;
  value?: unknown;
  add?: boolean;
  /** Passed to `destroy()` as is (any JSON, to reach its validation). */
  clearSiteData?: boolean | string[];
}

function bodyOf(input: RouteInput): Body {
  return typeof input.body === 'object' && input.body !== null ? (input.body as Body) : {};
}

function writeValues(session: Session, input: RouteInput): void {
  for (const [key, value] of Object.entries(bodyOf(input).values ?? {})) session.set(key, value);
}

const ok: RouteResult = { json: { ok: true } };

/** The suite's routes. `hooks` are per server. */
function createRoutes(hooks: Hooks): Routes {
  return {
    'GET /untouched': async () => ok,
    'GET /get': async (session, { query }) => ({
      json: { value: (await session.get(query.key ?? '')) ?? null },
    }),
    'GET /all': async (session) => ({ json: await session.all() }),
    'GET /meta': async (session) => ({ json: await session.meta() }),
    'POST /set': async (session, input) => {
      writeValues(session, input);
      return ok;
    },
    'POST /regenerate': async (session, input) => {
      session.regenerate(bodyOf(input).keep === false ? { keep: false } : {});
      writeValues(session, input);
      return ok;
    },
    'POST /login': async (session, input) => {
      const { userId = 'alice', persistent } = bodyOf(input);
      session.login(userId, persistent === undefined ? {} : { persistent });
      writeValues(session, input);
      return ok;
    },
    'POST /login-redirect': async (session, input) => {
      session.login(bodyOf(input).userId ?? 'alice');
      return { status: 303, redirect: '/welcome' };
    },
    'POST /invalidate': async (session, input) => {
      session.invalidate();
      writeValues(session, input);
      return ok;
    },
    'POST /destroy': async (session, input) => {
      const { clearSiteData } = bodyOf(input);
      session.destroy(
        clearSiteData === undefined ? undefined : ({ clearSiteData } as DestroyOptions),
      );
      writeValues(session, input); // throws ERR_SESSION_STATE when there are values
      return ok;
    },
    'POST /persistent': async (session, input) => {
      session.setPersistent(bodyOf(input).persistent ?? true);
      return ok;
    },
    'POST /counter': async (session) => ({
      json: {
        counter: await session.update('counter', (n) => ((n as number | undefined) ?? 0) + 1),
      },
    }),
    'POST /slow-set': async (session) => {
      await session.load();
      hooks.slowLoaded.resolve();
      await hooks.slowRelease.promise;
      session.set('late', true);
      return ok;
    },
    'POST /rmw': async (session) => {
      const x = ((await session.get('x')) as number | undefined) ?? 0;
      hooks.arrived += 1;
      if (hooks.arrived >= hooks.barrierSize) hooks.barrier.resolve();
      await hooks.barrier.promise;
      session.set('x', x + 1);
      return ok;
    },
    'POST /rmw-slow': async (session) => {
      const x = ((await session.get('x')) as number | undefined) ?? 0;
      await sleep(5);
      session.set('x', x + 1);
      return ok;
    },
    'POST /flash': async (session, input) => {
      const { key = 'notice', value = null, add = false } = bodyOf(input);
      if (add) session.flash.add(key, value);
      else session.flash.set(key, value);
      return ok;
    },
    'GET /flash-get': async (session, { query }) => ({
      json: { value: (await session.flash.get(query.key ?? '')) ?? null },
    }),
    'GET /flash-now': async (session, { query }) => {
      session.flash.now(query.key ?? '', query.value ?? null);
      return { json: { value: (await session.flash.get(query.key ?? '')) ?? null } };
    },
    'GET /flash-messages': async (session, { query }) => ({
      json: { values: await session.flash.messages(query.key ?? '') },
    }),
    'GET /flash-peek': async (session, { query }) => ({
      json: { values: await session.flash.peek(query.key ?? '') },
    }),
    // Degraded mode: a route that declares the session optional answers without it on an outage.
    'GET /degraded': async (session) => {
      try {
        return { json: { value: (await session.get('a')) ?? null, degraded: session.degraded } };
      } catch (error) {
        session.degrade(error); // rethrows anything but an outage
        return { json: { value: null, degraded: session.degraded } };
      }
    },
    'POST /degraded-login': async (session, input) => {
      session.login(bodyOf(input).userId ?? 'mallory');
      try {
        await session.commit();
        return { json: { degraded: false } };
      } catch (error) {
        session.degrade(error);
      }
      // Nothing can be read or written once degraded: each refusal is the outage again.
      const refused: string[] = [];
      for (const attempt of [
        () => session.set('after', true),
        () => session.logout(),
        () => session.get('a'),
      ]) {
        try {
          await attempt();
        } catch (error) {
          refused.push(isSessionError(error) ? error.code : 'other');
        }
      }
      return { status: 202, json: { degraded: session.degraded, refused } };
    },
    'GET /degrade-healthy': async (session) => {
      await session.get('a');
      try {
        session.set('a', (() => 1) as never); // ERR_SESSION_DATA: not an outage
      } catch (error) {
        session.degrade(error); // rethrown as is: the adapter's generic 500
      }
      return ok;
    },
    'POST /with-headers': async (session) => {
      session.set('x', 1);
      return {
        json: { ok: true },
        headers: { 'set-cookie': 'theme=dark; Path=/', vary: 'Accept' },
      };
    },
    'GET /cacheable-read': async (session) => {
      const x = await session.get('x');
      return { json: { x: x ?? null }, headers: { 'cache-control': 'public, max-age=60' } };
    },
    'POST /cacheable-write': async (session) => {
      session.set('x', 1);
      return { json: { ok: true }, headers: { 'cache-control': 'public, max-age=60' } };
    },
  };
}

const MINUTE = 60_000;

/** Things a client-facing error body must never contain besides the given secrets. */
function expectGeneric(reply: Reply, secrets: readonly string[] = []): void {
  expect(reply.text.length).toBeLessThan(200);
  for (const leak of [
    ' at ',
    '.ts:',
    '.js:',
    'StoreError',
    'ConflictError',
    'StateError',
    'ECONNREFUSED',
    'hunter2',
    'destroyed',
    'session store',
    ...secrets,
  ]) {
    expect(reply.text).not.toContain(leak);
  }
}

/**
 * Define the contract suite for one adapter. Call it at the top level of the adapter's test file.
 */
export function describeAdapter(options: DescribeAdapterOptions): void {
  for (const configuration of CONFIGURATIONS) describeConfiguration(options, configuration);
}

/** The contract for one adapter in one configuration (`configurations.ts`). */
function describeConfiguration(options: DescribeAdapterOptions, config: Configuration): void {
  const has = (ability: Ability): boolean => !config.lacks.has(ability);
  /** `it`, defined only where the configuration has every ability the claim needs. */
  const test = (needs: readonly Ability[], title: string, fn: () => Promise<void>): void => {
    if (needs.every(has)) it(title, fn);
  };
  /** `describe`, defined only where the configuration has every ability its tests need. */
  const section = (needs: readonly Ability[], title: string, fn: () => void): void => {
    if (needs.every(has)) describe(title, fn);
  };
  describe(`adapter contract: ${options.name} (${config.name})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    interface Harness {
      url: string;
      manager: SessionManager;
      probe: ProbeStore;
      hooks: Hooks;
      /** Move the manager's clock forward by `ms`. */
      advance(ms: number): void;
      req(
        method: string,
        path: string,
        opts?: { cookie?: string | undefined; body?: unknown; headers?: Record<string, string> },
      ): Promise<Reply>;
      /** The session cookie(s) a reply sets. */
      cookies(reply: Reply): ParsedCookie[];
      /** A new session holding `values`; returns its `Cookie` header. */
      newSession(values?: Record<string, unknown>): Promise<string>;
      /** A cookie jar for the session cookie, optionally holding `pair` already. */
      jar(pair?: string): CookieJar;
    }

    async function start(
      setup: {
        manager?: Partial<SessionManagerOptions>;
        server?: AdapterServerOptions;
        secure?: boolean;
      } = {},
    ): Promise<Harness> {
      const inner = memoryStore({ sweepInterval: 0 });
      const probed = probeStore(inner);
      let offset = 0;
      const manager = testManager({
        ...config.manager(probed),
        secrets: randomBytes(32).toString('base64url'),
        ...(setup.secure === true ? { cookie: {} } : {}),
        now: () => Date.now() + offset,
        ...setup.manager,
      });
      const hooks: Hooks = {
        slowLoaded: deferred(),
        slowRelease: deferred(),
        barrierSize: 2,
        arrived: 0,
        barrier: deferred(),
      };
      const server = await options.createServer(manager, createRoutes(hooks), setup.server);
      cleanups.push(async () => {
        hooks.slowRelease.resolve();
        hooks.barrier.resolve();
        await server.close();
        await inner.close?.();
      });
      const h: Harness = {
        url: server.url,
        manager,
        probe: probed,
        hooks,
        advance(ms) {
          offset += ms;
        },
        req: (method, path, opts = {}) => {
          const { cookie, ...rest } = opts;
          const presented = cookie === undefined ? {} : config.present(cookie);
          return send(server.url, method, path, {
            ...rest,
            headers: { ...presented, ...rest.headers },
          });
        },
        cookies: (reply) => config.issued(reply, manager.cookieName),
        async newSession(values = { seeded: true }) {
          const reply = await h.req('POST', '/set', { body: { values } });
          expect(reply.status).toBe(200);
          const [cookie] = h.cookies(reply);
          expect(cookie).toBeDefined();
          return cookie!.pair;
        },
        jar: (pair) => new CookieJar((reply) => h.cookies(reply), pair),
      };
      return h;
    }

    /** Check that `reply` issues no credential: no `Set-Cookie` and no token header. */
    function expectNone(h: Harness, reply: Reply, label?: string): void {
      expect(reply.setCookies, label).toEqual([]);
      expect(h.cookies(reply), label).toEqual([]);
    }

    /** Read all data with `cookie` and check it is an anonymous session that got no cookie. */
    async function expectAnonymous(h: Harness, cookie: string | undefined): Promise<void> {
      const reply = await h.req('GET', '/all', { cookie });
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({});
      expectNone(h, reply);
    }

    /**
     * The old credential of an ended or rotated session is dead — where sessions have a record.
     * A sealed anonymous session has none to end: a copy stays readable (see the lack below).
     */
    async function expectDead(h: Harness, cookie: string): Promise<void> {
      if (has('record')) await expectAnonymous(h, cookie);
    }

    /** The response varies on the configuration's credential header. */
    function expectVary(reply: Reply): void {
      const vary = (reply.headers.get('vary') ?? '').toLowerCase().split(/\s*,\s*/);
      expect(vary).toContain(config.varyOn);
    }

    describe(`configuration: ${config.name}`, () => {
      if (!has('cookie')) {
        it('declares it lacks cookie: a write sets no cookie, and the token as a cookie is ignored', async () => {
          const h = await start();
          const reply = await h.req('POST', '/set', { body: { values: { a: 1 } } });
          expect(reply.status).toBe(200);
          expect(reply.setCookies).toEqual([]);
          const [token] = h.cookies(reply);
          expect(token?.value).toMatch(config.token);
          const cookie = `${h.manager.cookieName}=${token!.value}`;
          expect((await send(h.url, 'GET', '/all', { cookie })).json).toEqual({});
        });
      }
      if (!has('record')) {
        it('declares it lacks record: a copy of a rotated anonymous credential still reads its data', async () => {
          const h = await start();
          const old = await h.newSession({ a: 1 });
          const [fresh] = h.cookies(await h.req('POST', '/regenerate', { cookie: old }));
          expect(fresh?.pair).toBeDefined();
          expect(fresh?.pair).not.toBe(old);
          // Stateless: nothing on the server knew the old one (docs/stateless.md, "Revocation").
          expect((await h.req('GET', '/all', { cookie: old })).json).toEqual({ a: 1 });
        });
      }
      if (!has('lock')) {
        it('declares it lacks lock: lock mode is refused', async () => {
          const h = await start();
          expect(() => h.manager.begin({ concurrency: 'lock' })).toThrowError(
            expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
          );
        });
      }
      if (!has('merge')) {
        it('declares it lacks merge: parallel writers each get their own credential', async () => {
          const h = await start();
          const cookie = await h.newSession({ n: 0 });
          const [a, b] = await Promise.all([
            h.req('POST', '/set', { cookie, body: { values: { x: 1 } } }),
            h.req('POST', '/set', { cookie, body: { values: { y: 2 } } }),
          ]);
          const [ca] = h.cookies(a);
          const [cb] = h.cookies(b);
          expect(ca?.pair).not.toBe(cb?.pair);
          // The browser keeps whichever arrives last: neither carries the other's write.
          expect((await h.req('GET', '/all', { cookie: ca?.pair })).json).toEqual({ n: 0, x: 1 });
          expect((await h.req('GET', '/all', { cookie: cb?.pair })).json).toEqual({ n: 0, y: 2 });
        });
      }
      if (!has('header')) {
        it('declares it lacks header: a valid token in Authorization or a token header is ignored', async () => {
          const h = await start();
          const cookie = await h.newSession({ a: 1 });
          const token = cookie.slice(cookie.indexOf('=') + 1);
          const reply = await send(h.url, 'GET', '/all', {
            headers: { authorization: `Bearer ${token}`, 'session-token': token },
          });
          expect(reply.json).toEqual({});
          expect((await h.req('GET', '/all', { cookie })).json).toEqual({ a: 1 });
        });
      }
      test(
        ['header'],
        'the token travels in Authorization and comes back in the Session-Token header; malformed Authorization is anonymous',
        async () => {
          const h = await start();
          const created = await h.req('POST', '/set', { body: { values: { a: 1 } } });
          expect(created.status).toBe(200);
          expect(created.setCookies).toEqual([]);
          const token = created.headers.get('session-token');
          expect(token).toMatch(config.token);
          expectVary(created);
          expect(created.headers.get('cache-control')).toBe('private, no-store');
          const read = await h.req('GET', '/all', { cookie: token! });
          expect(read.json).toEqual({ a: 1 });
          expect(read.headers.get('session-token')).toBeNull();
          for (const [label, authorization] of [
            ['lower-case scheme', `bearer ${token}`],
            ['extra space', `Bearer  ${token}`],
            ['two tokens', `Bearer ${token} ${token}`],
            ['two credentials', `Bearer ${token}, Bearer ${token}`],
            ['another scheme', `Basic ${token}`],
          ] as const) {
            const reply = await send(h.url, 'GET', '/all', { headers: { authorization } });
            expect(reply.status, label).toBe(200);
            expect(reply.json, label).toEqual({});
            expectNone(h, reply, label);
          }
          const ended = await h.req('POST', '/destroy', { cookie: token! });
          expect(ended.headers.get('session-token')).toBe('');
          await expectAnonymous(h, token!);
        },
      );
    });

    describe('new sessions and cookie attributes', () => {
      test(
        ['cookie'],
        'a writing route answers 2xx with exactly one session Set-Cookie, safe attributes',
        async () => {
          const h = await start();
          const reply = await h.req('POST', '/set', { body: { values: { a: 1 } } });
          expect(reply.status).toBe(200);
          expect(reply.setCookies).toHaveLength(1);
          const [cookie] = h.cookies(reply);
          expect(cookie?.pair.startsWith('sid=')).toBe(true);
          expect(cookie?.value).toMatch(config.token);
          expect(cookie?.attribute('httponly')).toBe('');
          expect(cookie?.attribute('samesite')).toBe('Lax');
          expect(cookie?.attribute('path')).toBe('/');
          expect(cookie?.attribute('domain')).toBeUndefined();
          // Plain-http dev mode was chosen explicitly: no Secure.
          expect(cookie?.attribute('secure')).toBeUndefined();
          const read = await h.req('GET', '/all', { cookie: cookie?.pair });
          expect(read.json).toEqual({ a: 1 });
        },
      );

      test(['cookie'], 'the default manager issues a __Host- cookie with Secure', async () => {
        const h = await start({ secure: true });
        expect(h.manager.cookieName).toBe('__Host-sid');
        const reply = await h.req('POST', '/set', { body: { values: { a: 1 } } });
        expect(reply.status).toBe(200);
        expect(reply.setCookies).toHaveLength(1);
        const [cookie] = h.cookies(reply);
        expect(reply.setCookies[0]).toMatch(/^__Host-sid=[^;]+; /);
        expect(cookie?.attribute('secure')).toBe('');
        expect(cookie?.attribute('httponly')).toBe('');
        expect(cookie?.attribute('samesite')).toBe('Lax');
        expect(cookie?.attribute('path')).toBe('/');
        expect(cookie?.attribute('domain')).toBeUndefined();
      });

      it('a read without a cookie creates nothing: no Set-Cookie, no store write', async () => {
        const h = await start();
        const reply = await h.req('GET', '/get?key=a');
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ value: null });
        expectNone(h, reply);
        expect(h.probe.calls.get('set') ?? 0).toBe(0);
      });
    });

    describe('untouched and read-only requests', () => {
      it('an untouched route costs nothing: no Set-Cookie, no Vary, zero store calls', async () => {
        const h = await start();
        const cookie = await h.newSession();
        h.probe.reset();
        const reply = await h.req('GET', '/untouched', { cookie });
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ ok: true });
        expectNone(h, reply);
        expect((reply.headers.get('vary') ?? '').toLowerCase()).not.toContain(config.varyOn);
        expect(h.probe.total()).toBe(0);
      });

      it('a read round-trips data without rewriting the cookie, and is private and varies on Cookie', async () => {
        const h = await start();
        const cookie = await h.newSession({ user: { name: 'Zoë', tags: ['a', 'b'] }, n: null });
        const reply = await h.req('GET', '/get?key=user.name', { cookie });
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ value: 'Zoë' });
        expectNone(h, reply);
        expectVary(reply);
        expect(reply.headers.get('cache-control')).toBe('private, no-store');
        const all = await h.req('GET', '/all', { cookie });
        expect(all.json).toEqual({ user: { name: 'Zoë', tags: ['a', 'b'] }, n: null });
        expectNone(h, all);
      });

      it('a request matching no route leaves the session alone', async () => {
        const h = await start();
        const cookie = await h.newSession();
        h.probe.reset();
        const reply = await h.req('GET', '/nowhere', { cookie });
        expect(reply.status).toBe(404);
        expectNone(h, reply);
        expect(h.probe.total()).toBe(0);
      });
    });

    describe('regenerate, login, invalidate, destroy', () => {
      it('regenerate issues a new cookie, keeps the data, and kills the old cookie', async () => {
        const h = await start();
        const old = await h.newSession({ a: 1 });
        const reply = await h.req('POST', '/regenerate', { cookie: old });
        expect(reply.status).toBe(200);
        const [fresh] = h.cookies(reply);
        expect(fresh).toBeDefined();
        expect(fresh?.pair).not.toBe(old);
        expect(fresh?.attribute('max-age')).toBeUndefined();
        expect((await h.req('GET', '/all', { cookie: fresh?.pair })).json).toEqual({ a: 1 });
        await expectDead(h, old);
      });

      it('regenerate({ keep: false }) drops the data and kills the old cookie', async () => {
        const h = await start();
        const old = await h.newSession({ a: 1 });
        const jar = h.jar();
        const reply = jar.take(
          await h.req('POST', '/regenerate', {
            cookie: old,
            body: { keep: false, values: { b: 2 } },
          }),
        );
        expect(reply.status).toBe(200);
        expect(jar.cookie).toBeDefined();
        expect(jar.cookie).not.toBe(old);
        expect((await h.req('GET', '/all', { cookie: jar.cookie })).json).toEqual({ b: 2 });
        await expectDead(h, old);

        // Alone, it leaves nothing behind to read with any cookie the client holds.
        const other = await h.newSession({ c: 3 });
        const jar2 = h.jar(other);
        const dropped = jar2.take(
          await h.req('POST', '/regenerate', { cookie: other, body: { keep: false } }),
        );
        expect(dropped.status).toBe(200);
        expect(h.cookies(dropped)).toHaveLength(1);
        expect(jar2.cookie).not.toBe(other);
        expect((await h.req('GET', '/all', { cookie: jar2.cookie })).json).toEqual({});
        await expectDead(h, other);
      });

      it('login(userId) changes the id, records the user, keeps the data', async () => {
        const h = await start();
        const old = await h.newSession({ cart: [1, 2] });
        const reply = await h.req('POST', '/login', { cookie: old, body: { userId: 'alice' } });
        expect(reply.status).toBe(200);
        const [fresh] = h.cookies(reply);
        expect(fresh?.pair).toBeDefined();
        expect(fresh?.pair).not.toBe(old);
        const meta = (await h.req('GET', '/meta', { cookie: fresh?.pair })).json as {
          userId: string | null;
        };
        expect(meta.userId).toBe('alice');
        expect((await h.req('GET', '/all', { cookie: fresh?.pair })).json).toEqual({
          cart: [1, 2],
        });
        await expectDead(h, old);
      });

      it('a redirect after login carries the new Set-Cookie', async () => {
        const h = await start();
        const old = await h.newSession();
        const reply = await h.req('POST', '/login-redirect', {
          cookie: old,
          body: { userId: 'bob' },
        });
        expect(reply.status).toBe(303);
        expect(reply.headers.get('location')).toBe('/welcome');
        const [fresh] = h.cookies(reply);
        expect(fresh).toBeDefined();
        expect(fresh?.pair).not.toBe(old);
        const meta = (await h.req('GET', '/meta', { cookie: fresh?.pair })).json as {
          userId: string | null;
        };
        expect(meta.userId).toBe('bob');
        await expectDead(h, old);
      });

      it('invalidate drops the data and expires the cookie when nothing is written after it', async () => {
        const h = await start();
        const old = await h.newSession({ a: 1 });
        const reply = await h.req('POST', '/invalidate', { cookie: old });
        expect(reply.status).toBe(200);
        const cookies = h.cookies(reply);
        expect(cookies).toHaveLength(1);
        expect(cookies[0]?.attribute('max-age')).toBe('0');
        expect(cookies[0]?.value).toBe('');
        await expectDead(h, old);
      });

      it('invalidate then set issues a new cookie holding only the new data; the old one is dead', async () => {
        const h = await start();
        const old = await h.newSession({ a: 1 });
        const reply = await h.req('POST', '/invalidate', {
          cookie: old,
          body: { values: { after: true } },
        });
        expect(reply.status).toBe(200);
        const cookies = h.cookies(reply);
        expect(cookies).toHaveLength(1);
        expect(cookies[0]?.attribute('max-age')).toBeUndefined();
        expect(cookies[0]?.pair).not.toBe(old);
        expect((await h.req('GET', '/all', { cookie: cookies[0]?.pair })).json).toEqual({
          after: true,
        });
        await expectDead(h, old);
      });

      it('destroy expires the cookie and the old cookie is dead afterwards', async () => {
        const h = await start();
        const old = await h.newSession({ a: 1 });
        const reply = await h.req('POST', '/destroy', { cookie: old });
        expect(reply.status).toBe(200);
        const cookies = h.cookies(reply);
        expect(cookies).toHaveLength(1);
        expect(cookies[0]?.attribute('max-age')).toBe('0');
        await expectDead(h, old);
      });

      it('destroy({ clearSiteData: true }) sends Clear-Site-Data (cookies, storage) with the expired cookie; a plain destroy sends none', async () => {
        const h = await start();
        const old = await h.newSession({ a: 1 });
        const reply = await h.req('POST', '/destroy', {
          cookie: old,
          body: { clearSiteData: true },
        });
        expect(reply.status).toBe(200);
        expect(reply.headers.get('clear-site-data')).toBe('"cookies", "storage"');
        expect(h.cookies(reply)[0]?.attribute('max-age')).toBe('0');
        await expectDead(h, old);
        const other = await h.newSession({ b: 1 });
        for (const body of [undefined, { clearSiteData: false }]) {
          const plain = await h.req('POST', '/destroy', { cookie: other, body });
          expect(plain.status).toBe(200);
          expect(plain.headers.get('clear-site-data')).toBeNull();
        }
        // Without a session to destroy the browser is still told to clear (logout everywhere).
        const anonymous = await h.req('POST', '/destroy', { body: { clearSiteData: ['cache'] } });
        expect(anonymous.headers.get('clear-site-data')).toBe('"cache"');
        // Only destroy sends it: other routes never do.
        const cookie = await h.newSession({ c: 1 });
        expect((await h.req('GET', '/all', { cookie })).headers.get('clear-site-data')).toBeNull();
      });

      it('clearSiteData: the manager option and a per-call list choose the directives; an invalid list is a generic 500 and destroys nothing', async () => {
        const h = await start({ manager: { clearSiteData: ['cookies'] } });
        const first = await h.newSession({ a: 1 });
        const configured = await h.req('POST', '/destroy', {
          cookie: first,
          body: { clearSiteData: true },
        });
        expect(configured.headers.get('clear-site-data')).toBe('"cookies"');
        const second = await h.newSession({ a: 2 });
        const chosen = await h.req('POST', '/destroy', {
          cookie: second,
          body: { clearSiteData: ['storage', 'executionContexts'] },
        });
        expect(chosen.headers.get('clear-site-data')).toBe('"storage", "executionContexts"');
        const third = await h.newSession({ a: 3 });
        for (const clearSiteData of [
          ['everything'],
          [],
          ['cookies', 'cookies'],
          ['*', 'cache'],
          ['cookies"\r\nX-Evil: 1'],
        ]) {
          const refused = await h.req('POST', '/destroy', {
            cookie: third,
            body: { clearSiteData },
          });
          expect(refused.status, JSON.stringify(clearSiteData)).toBe(500);
          expect(refused.headers.get('clear-site-data')).toBeNull();
          expectNone(h, refused);
          expectGeneric(refused, [third.slice(4)]);
        }
        expect((await h.req('GET', '/all', { cookie: third })).json).toEqual({ a: 3 });
      });

      test(
        ['record'],
        'a destroy that fails in the store sends no Clear-Site-Data (503) and the session survives',
        async () => {
          const h = await start();
          const cookie = await h.newSession({ a: 1 });
          h.probe.failing.add('delete');
          const reply = await h.req('POST', '/destroy', { cookie, body: { clearSiteData: true } });
          expect(reply.status).toBe(503);
          expect(reply.headers.get('clear-site-data')).toBeNull();
          expectNone(h, reply);
          h.probe.failing.delete('delete');
          expect((await h.req('GET', '/all', { cookie })).json).toEqual({ a: 1 });
        },
      );

      it('a write after destroy in the same request is a generic 500', async () => {
        const h = await start();
        const old = await h.newSession({ a: 1 });
        const reply = await h.req('POST', '/destroy', { cookie: old, body: { values: { b: 2 } } });
        expect(reply.status).toBe(500);
        expectGeneric(reply, [old.slice(4)]);
        // The server keeps serving.
        expect((await h.req('GET', '/untouched')).status).toBe(200);
      });
    });

    describe('flash', () => {
      it('a flash set on request 1 is seen exactly once, on request 2', async () => {
        const h = await start();
        const jar = h.jar();
        jar.take(await h.req('POST', '/flash', { body: { key: 'notice', value: 'Saved' } }));
        expect(jar.cookie).toBeDefined();
        const second = jar.take(
          await h.req('GET', '/flash-get?key=notice', { cookie: jar.cookie }),
        );
        expect(second.status).toBe(200);
        expect(second.json).toEqual({ value: 'Saved' });
        const third = await h.req('GET', '/flash-get?key=notice', { cookie: jar.cookie });
        expect(third.json).toEqual({ value: null });
      });

      it('flash.now is visible in the same request only and is never stored', async () => {
        const h = await start();
        const cookie = await h.newSession();
        const now = await h.req('GET', '/flash-now?key=hint&value=here', { cookie });
        expect(now.status).toBe(200);
        expect(now.json).toEqual({ value: 'here' });
        expectNone(h, now);
        const next = await h.req('GET', '/flash-get?key=hint', { cookie });
        expect(next.json).toEqual({ value: null });
        // Anonymous too: no session is created for it.
        const anonymous = await h.req('GET', '/flash-now?key=hint&value=x');
        expect(anonymous.json).toEqual({ value: 'x' });
        expectNone(h, anonymous);
      });

      it('messages are read-and-clear; peek does not consume', async () => {
        const h = await start();
        // The jar follows a credential that changes on write (sealed cookies).
        const jar = h.jar(await h.newSession());
        for (const value of ['one', 'two']) {
          const added = jar.take(
            await h.req('POST', '/flash', {
              cookie: jar.cookie,
              body: { key: 'success', value, add: true },
            }),
          );
          expect(added.status).toBe(200);
        }
        for (let i = 0; i < 2; i++) {
          const peek = await h.req('GET', '/flash-peek?key=success', { cookie: jar.cookie });
          expect(peek.json).toEqual({ values: ['one', 'two'] });
        }
        const read = jar.take(
          await h.req('GET', '/flash-messages?key=success', { cookie: jar.cookie }),
        );
        expect(read.json).toEqual({ values: ['one', 'two'] });
        const again = await h.req('GET', '/flash-messages?key=success', { cookie: jar.cookie });
        expect(again.json).toEqual({ values: [] });
      });

      test(
        ['merge'],
        '10 parallel reads of one flash deliver it exactly once in total',
        async () => {
          const h = await start();
          const cookie = await h.newSession();
          await h.req('POST', '/flash', { cookie, body: { key: 'notice', value: 'once' } });
          const replies = await Promise.all(
            Array.from({ length: 10 }, () => h.req('GET', '/flash-get?key=notice', { cookie })),
          );
          expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
          const delivered = replies.filter((r) => (r.json as { value: unknown }).value === 'once');
          expect(delivered).toHaveLength(1);
          const after = await h.req('GET', '/flash-get?key=notice', { cookie });
          expect(after.json).toEqual({ value: null });
        },
      );
    });

    describe('hostile cookies are anonymous', () => {
      test(
        ['cookie'],
        'garbage, empty, truncated, oversized, non-ASCII, duplicated and __proto__ cookies',
        async () => {
          const h = await start();
          const valid = await h.newSession({ secret: 'mine' });
          const value = valid.slice('sid='.length);
          const hostile: Record<string, string> = {
            garbage: 'sid=garbage',
            empty: 'sid=',
            'bare name': 'sid',
            truncated: valid.slice(0, -7),
            'id only': `sid=${value.slice(0, 43)}`,
            'id and dot': `sid=${value.slice(0, 44)}`,
            'quoted garbage': 'sid="garbage"',
            'huge 8 KB value': `sid=${'A'.repeat(8192)}`,
            'huge with valid prefix': `${valid}${'A'.repeat(8192)}`,
            'non-ASCII bytes': 'sid=\u00e9\u00ff\u00c3\u00a9; \u00e9=\u00e9',
            'duplicated names': 'sid=junk1; sid=junk2; sid=',
            '__proto__ name': '__proto__=polluted; constructor=x; prototype=y',
            '__proto__ value': 'sid=__proto__',
            'dots and separators': `sid=${value.replace('.', '..')}`,
          };
          for (const [label, cookie] of Object.entries(hostile)) {
            const reply = await h.req('GET', '/all', { cookie });
            expect(reply.status, label).toBe(200);
            expect(reply.json, label).toEqual({});
            expectNone(h, reply, label);
          }
          // Nothing above disturbed the real session.
          expect((await h.req('GET', '/all', { cookie: valid })).json).toEqual({ secret: 'mine' });
        },
      );

      it('a flipped character in the signature is rejected (first, middle and last)', async () => {
        const h = await start();
        const valid = await h.newSession({ secret: 'mine' });
        const dot = valid.indexOf('.');
        for (const index of [dot + 1, dot + 20, valid.length - 1]) {
          const c = valid[index]!;
          const flipped = `${valid.slice(0, index)}${c === 'A' ? 'B' : 'A'}${valid.slice(index + 1)}`;
          const reply = await h.req('GET', '/all', { cookie: flipped });
          expect(reply.status).toBe(200);
          expect(reply.json).toEqual({});
          expectNone(h, reply);
        }
        // A flipped id with the original signature does not pass either.
        const c = valid[10]!;
        const flippedId = `${valid.slice(0, 10)}${c === 'A' ? 'B' : 'A'}${valid.slice(11)}`;
        await expectAnonymous(h, flippedId);
      });

      it('an id signed with another secret is rejected even though its record exists', async () => {
        const h = await start();
        const foreign = testManager({
          ...config.manager(h.probe),
          secrets: randomBytes(32).toString('base64url'),
        });
        const scope = foreign.begin({});
        scope.session.set('owner', 'attacker');
        const out = await scope.end();
        const pair = config.fromResponse(out, foreign.cookieName);
        expect(pair).toBeDefined();
        await expectAnonymous(h, pair!);
        // Writing with it never adopts the presented id (strict mode).
        const write = await h.req('POST', '/set', { cookie: pair, body: { values: { a: 1 } } });
        expect(write.status).toBe(200);
        const [issued] = h.cookies(write);
        expect(issued?.pair).toBeDefined();
        expect(issued?.pair).not.toBe(pair);
        expect((await h.req('GET', '/all', { cookie: issued?.pair })).json).toEqual({ a: 1 });
      });

      test(
        ['cookie'],
        'duplicated names with one valid value never fail and never re-issue the cookie',
        async () => {
          const h = await start();
          const valid = await h.newSession({ secret: 'mine' });
          for (const cookie of [`sid=junk; ${valid}`, `${valid}; sid=junk`, `${valid}; ${valid}`]) {
            const reply = await h.req('GET', '/all', { cookie });
            expect(reply.status, cookie).toBe(200);
            expectNone(h, reply, cookie);
          }
        },
      );

      it('a session past its idle timeout is anonymous', async () => {
        const h = await start();
        const cookie = await h.newSession({ a: 1 });
        h.advance(29 * MINUTE);
        expect((await h.req('GET', '/all', { cookie })).json).toEqual({ a: 1 });
        h.advance(30 * MINUTE + 1000);
        await expectAnonymous(h, cookie);
        const reply = await h.req('GET', '/get?key=a', { cookie });
        expect(reply.json).toEqual({ value: null });
      });

      it('a session past its absolute timeout is anonymous although it was used recently', async () => {
        const h = await start({
          manager: { idleTimeout: 10 * MINUTE, absoluteTimeout: 30 * MINUTE },
        });
        const jar = h.jar(await h.newSession({ a: 0 }));
        for (let step = 1; step <= 3; step++) {
          h.advance(9 * MINUTE); // within the idle timeout each time
          const write = jar.take(
            await h.req('POST', '/set', { cookie: jar.cookie, body: { values: { a: step } } }),
          );
          expect(write.status).toBe(200);
          // A server-side session keeps its credential; a sealed one gets a new cookie.
          if (has('record')) expectNone(h, write);
        }
        h.advance(2 * MINUTE); // t = 29 min
        expect((await h.req('GET', '/all', { cookie: jar.cookie })).json).toEqual({ a: 3 });
        h.advance(2 * MINUTE); // t = 31 min: used 2 minutes ago, but past the absolute deadline
        await expectAnonymous(h, jar.cookie);
      });
    });

    section(['cookie'], 'persistent cookies', () => {
      test(
        ['cookie'],
        'by default the cookie is a browser-session cookie: no Max-Age, no Expires',
        async () => {
          const h = await start();
          const reply = await h.req('POST', '/set', { body: { values: { a: 1 } } });
          const [cookie] = h.cookies(reply);
          expect(cookie).toBeDefined();
          expect(cookie?.attribute('max-age')).toBeUndefined();
          expect(cookie?.attribute('expires')).toBeUndefined();
        },
      );

      test(
        ['cookie'],
        'setPersistent(true) issues Max-Age; setPersistent(false) takes it back',
        async () => {
          const h = await start();
          const created = await h.req('POST', '/persistent', { body: { persistent: true } });
          const [fresh] = h.cookies(created);
          expect(Number(fresh?.attribute('max-age'))).toBeGreaterThan(0);
          expect(Number(fresh?.attribute('max-age'))).toBeLessThanOrEqual(12 * 60 * 60);
          expect(fresh?.attribute('expires')).toBeDefined();

          const cookie = await h.newSession();
          const on = await h.req('POST', '/persistent', { cookie, body: { persistent: true } });
          const [persistent] = h.cookies(on);
          // The same session: a server-side one keeps its id, a sealed one is re-sealed.
          if (has('record')) expect(persistent?.pair).toBe(cookie);
          expect(Number(persistent?.attribute('max-age'))).toBeGreaterThan(0);
          const off = await h.req('POST', '/persistent', { cookie, body: { persistent: false } });
          const [session] = h.cookies(off);
          if (has('record')) expect(session?.pair).toBe(cookie);
          expect(session?.attribute('max-age')).toBeUndefined();
          expect(session?.attribute('expires')).toBeUndefined();
        },
      );

      test(['cookie'], 'login(id, { persistent: true }) issues Max-Age', async () => {
        const h = await start();
        const cookie = await h.newSession();
        const reply = await h.req('POST', '/login', {
          cookie,
          body: { userId: 'alice', persistent: true },
        });
        const [fresh] = h.cookies(reply);
        expect(fresh?.pair).not.toBe(cookie);
        expect(Number(fresh?.attribute('max-age'))).toBeGreaterThan(0);
        const plain = await h.req('POST', '/login', { cookie: fresh?.pair, body: { userId: 'a' } });
        const [again] = h.cookies(plain);
        // Re-login without the option keeps the session's persistence.
        expect(Number(again?.attribute('max-age'))).toBeGreaterThan(0);
      });
    });

    section(['merge'], 'concurrency through HTTP', () => {
      test(['merge'], '200 concurrent update() increments are all kept', async () => {
        const h = await start();
        const cookie = await h.newSession();
        const replies = await Promise.all(
          Array.from({ length: 200 }, () => h.req('POST', '/counter', { cookie })),
        );
        expect(replies.filter((r) => r.status !== 200).map((r) => r.status)).toEqual([]);
        expect(replies.flatMap((r) => r.setCookies)).toEqual([]);
        expect((await h.req('GET', '/get?key=counter', { cookie })).json).toEqual({ value: 200 });
      });

      test(['merge'], '200 concurrent writes of different keys are all kept', async () => {
        const h = await start();
        const cookie = await h.newSession();
        const replies = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            h.req('POST', '/set', { cookie, body: { values: { [`keys.k${i}`]: i } } }),
          ),
        );
        expect(replies.filter((r) => r.status !== 200).map((r) => r.status)).toEqual([]);
        const keys = (await h.req('GET', '/get?key=keys', { cookie })).json as {
          value: Record<string, number>;
        };
        expect(Object.keys(keys.value)).toHaveLength(200);
        for (let i = 0; i < 200; i++) expect(keys.value[`k${i}`]).toBe(i);
      });

      test(
        ['merge'],
        'a slow writer racing a destroy gets 409 and does not resurrect the session',
        async () => {
          const h = await start();
          const cookie = await h.newSession({ a: 1 });
          const slow = h.req('POST', '/slow-set', { cookie });
          await h.hooks.slowLoaded.promise;
          const destroyed = await h.req('POST', '/destroy', { cookie });
          expect(destroyed.status).toBe(200);
          h.hooks.slowRelease.resolve();
          const late = await slow;
          expect(late.status).toBe(409);
          expectNone(h, late);
          expectGeneric(late, [cookie.slice(4)]);
          await expectAnonymous(h, cookie);
        },
      );

      test(
        ['merge'],
        'a read-modify-write race: one request wins, the other gets a generic 409',
        async () => {
          const h = await start();
          const cookie = await h.newSession({ x: 1 });
          const replies = await Promise.all([
            h.req('POST', '/rmw', { cookie }),
            h.req('POST', '/rmw', { cookie }),
          ]);
          expect(replies.map((r) => r.status).sort()).toEqual([200, 409]);
          const conflict = replies.find((r) => r.status === 409)!;
          expectNone(h, conflict);
          expect(conflict.headers.get('cache-control')).toBe('no-store');
          expectGeneric(conflict, [cookie.slice(4), cookie.slice(4, 47)]);
          expect((await h.req('GET', '/get?key=x', { cookie })).json).toEqual({ value: 2 });
        },
      );

      test(
        ['merge', 'lock'],
        'in lock mode (adapter option) read-modify-write requests serialize: none is lost',
        async () => {
          const h = await start({ server: { concurrency: 'lock' } });
          const cookie = await h.newSession({ x: 0 });
          const replies = await Promise.all(
            Array.from({ length: 20 }, () => h.req('POST', '/rmw-slow', { cookie })),
          );
          expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
          expect((await h.req('GET', '/get?key=x', { cookie })).json).toEqual({ value: 20 });
        },
      );
    });

    section(['record'], 'store outages fail closed', () => {
      test(
        ['record'],
        'a failing read answers 503, no-store, generic, no Set-Cookie; the cookie stays valid',
        async () => {
          const h = await start();
          const cookie = await h.newSession({ a: 1 });
          h.probe.failing.add('get');
          const reply = await h.req('GET', '/get?key=a', { cookie });
          expect(reply.status).toBe(503);
          expect(reply.headers.get('cache-control')).toBe('no-store');
          expectNone(h, reply);
          expectGeneric(reply, [cookie.slice(4)]);
          // A write route on a failing read is refused the same way and writes nothing.
          const write = await h.req('POST', '/counter', { cookie });
          expect(write.status).toBe(503);
          expectNone(h, write);
          h.probe.failing.delete('get');
          expect((await h.req('GET', '/all', { cookie })).json).toEqual({ a: 1 });
        },
      );

      test(
        ['record'],
        'a failing write answers 503 before any header, not 200; the server keeps serving',
        async () => {
          const h = await start();
          h.probe.failing.add('set');
          const created = await h.req('POST', '/set', { body: { values: { a: 1 } } });
          expect(created.status).toBe(503);
          expectNone(h, created);
          expect(created.headers.get('cache-control')).toBe('no-store');
          expectGeneric(created);
          h.probe.failing.delete('set');
          const cookie = await h.newSession({ a: 1 });
          h.probe.failing.add('set');
          const update = await h.req('POST', '/set', { cookie, body: { values: { a: 2 } } });
          expect(update.status).toBe(503);
          expectNone(h, update);
          expectGeneric(update, [cookie.slice(4)]);
          h.probe.failing.delete('set');
          expect((await h.req('GET', '/all', { cookie })).json).toEqual({ a: 1 });
          expect((await h.req('POST', '/set', { cookie, body: { values: { a: 3 } } })).status).toBe(
            200,
          );
          expect((await h.req('GET', '/all', { cookie })).json).toEqual({ a: 3 });
        },
      );
    });

    section(['record'], 'degraded mode (opt-in per route)', () => {
      test(
        ['record'],
        'a route that catches a failing read and calls degrade() serves its page: no Set-Cookie, no write, the cookie stays valid',
        async () => {
          const h = await start();
          const cookie = await h.newSession({ a: 1 });
          h.probe.failing.add('get');
          h.probe.reset();
          const reply = await h.req('GET', '/degraded', { cookie });
          expect(reply.status).toBe(200);
          expect(reply.json).toEqual({ value: null, degraded: true });
          expectNone(h, reply);
          // The page depended on the (missing) session: still private, never shared.
          expect(reply.headers.get('cache-control')).toBe('private, no-store');
          expectVary(reply);
          expect([...h.probe.calls.keys()].filter((m) => m !== 'get')).toEqual([]);
          // A route that does not degrade still fails closed during the same outage.
          expect((await h.req('GET', '/all', { cookie })).status).toBe(503);
          h.probe.failing.delete('get');
          const healthy = await h.req('GET', '/degraded', { cookie });
          expect(healthy.json).toEqual({ value: 1, degraded: false });
          expectNone(h, healthy);
        },
      );

      test(
        ['record'],
        'a failing commit can be degraded: nothing written, no new cookie, no logout, later use refused',
        async () => {
          const h = await start();
          const cookie = await h.newSession({ a: 1 });
          h.probe.failing.add('set');
          const reply = await h.req('POST', '/degraded-login', {
            cookie,
            body: { userId: 'mallory' },
          });
          expect(reply.status).toBe(202);
          expect(reply.json).toEqual({
            degraded: true,
            refused: ['ERR_SESSION_STORE', 'ERR_SESSION_STORE', 'ERR_SESSION_STORE'],
          });
          expectNone(h, reply);
          h.probe.failing.delete('set');
          // The client's session is untouched: same data, not signed in, cookie still valid.
          const meta = await h.req('GET', '/meta', { cookie });
          expect((meta.json as { userId: unknown }).userId).toBeNull();
          expect((await h.req('GET', '/all', { cookie })).json).toEqual({ a: 1 });
          // Without a cookie, the degraded login created nothing either.
          h.probe.failing.add('set');
          const fresh = await h.req('POST', '/degraded-login', { body: {} });
          expect(fresh.status).toBe(202);
          expectNone(h, fresh);
        },
      );

      test(
        ['record'],
        'degrade() with anything but an outage rethrows it: a generic 500, the session unharmed',
        async () => {
          const h = await start();
          const cookie = await h.newSession({ a: 1 });
          const reply = await h.req('GET', '/degrade-healthy', { cookie });
          expect(reply.status).toBe(500);
          expectNone(h, reply);
          expectGeneric(reply, [cookie.slice(4), 'DataError', 'JSON']);
          expect((await h.req('GET', '/all', { cookie })).json).toEqual({ a: 1 });
        },
      );
    });

    describe('headers', () => {
      it("the handler's own Set-Cookie and Vary survive next to the session's", async () => {
        const h = await start();
        const reply = await h.req('POST', '/with-headers');
        expect(reply.status).toBe(200);
        expect(reply.setCookies).toHaveLength(has('cookie') ? 2 : 1);
        expect(reply.setCookies).toContain('theme=dark; Path=/');
        expect(h.cookies(reply)).toHaveLength(1);
        const vary = (reply.headers.get('vary') ?? '').toLowerCase().split(/\s*,\s*/);
        expect(vary).toContain('accept');
        expectVary(reply);
      });

      it('a response that sets the session cookie is never cacheable', async () => {
        const h = await start();
        const reply = await h.req('POST', '/cacheable-write');
        expect(reply.status).toBe(200);
        expect(h.cookies(reply)).toHaveLength(1);
        expect(reply.headers.get('cache-control')).toBe('private, no-store');
      });

      it('a response that depends on the session is never publicly cacheable', async () => {
        const h = await start();
        const cookie = await h.newSession({ x: 1 });
        const reply = await h.req('GET', '/cacheable-read', { cookie });
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ x: 1 });
        expect(h.cookies(reply)).toHaveLength(0);
        expect(reply.headers.get('cache-control')).toBe('private, no-store');
      });
    });
  });
}
