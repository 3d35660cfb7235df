/**
 * Targets of the attack suite: every adapter × every store, each reachable over real HTTP on
 * 127.0.0.1:0. A new adapter is one entry in {@link ADAPTERS} (map the neutral route table onto
 * the framework, and its `csrfMiddleware` when it has one); a new store is one entry in
 * {@link STORES} (a factory plus what to inspect: the SQL text it ran, the paths it touched, the
 * keys it used). The attack files only speak HTTP to a {@link Harness} and inspect the store.
 *
 * The only stand-in is the probe store (`../support/probe-store.ts`): a store wrapper that records
 * every call and injects faults (throw, hang) on demand — SECURITY.md §20 cannot be tested against a healthy backend.
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import Database from 'better-sqlite3';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import Koa from 'koa';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import {
  csrfMiddleware as expressCsrf,
  sessionMiddleware as expressSession,
  sessionErrorHandler,
} from '../../src/adapters/express.js';
import {
  csrfMiddleware as fastifyCsrf,
  getSession as getFastifySession,
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
  csrfMiddleware as koaCsrf,
  sessionMiddleware as koaSession,
} from '../../src/adapters/koa.js';
import { csrfMiddleware as nodeCsrf, withSession as nodeSession } from '../../src/adapters/node.js';
import { isSessionError } from '../../src/core/errors.js';
import { createKeyRing, generateSecret, hashSessionId } from '../../src/core/keys.js';
import type {
  SessionEvent,
  SessionManager,
  SessionManagerOptions,
} from '../../src/core/manager.js';
import type { Session } from '../../src/core/session.js';
import type { SessionStore } from '../../src/core/store.js';
import type { DefaultData, DefaultFlash } from '../../src/core/types.js';
import type { CsrfOptions } from '../../src/csrf/index.js';
import type { SqlParam } from '../../src/stores/_sql.js';
import { fileStore } from '../../src/stores/file.js';
import { memoryStore } from '../../src/stores/memory.js';
import { type MysqlParam, mysqlStore } from '../../src/stores/mysql.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { redisStore } from '../../src/stores/redis.js';
import { type SqliteClientLike, sqliteStore } from '../../src/stores/sqlite.js';
import {
  type AdapterServer,
  cookiesNamed,
  listen,
  type ParsedCookie,
  type Reply,
  type RouteInput,
  type RouteResult,
  type Routes,
} from '../adapters/contract.js';
import { MYSQL_URL, POSTGRES_URL, REDIS_URL } from '../support/backends.js';
import { testManager } from '../support/manager.js';
import { type ProbeStore, probeStore } from '../support/probe-store.js';
import { remoteAddress, serveFetch } from '../support/serve-fetch.js';

export type { ParsedCookie, Reply };

// ---------------------------------------------------------------------------------------------
// Adapters

/** Per-server options of an adapter target. */
export interface ServeOptions {
  /** Install the adapter's CSRF middleware (before every route) with these options. */
  csrf?: CsrfOptions | undefined;
}

/** One adapter under attack. */
export interface AdapterTarget {
  name: string;
  /** `true` when the adapter has a `csrfMiddleware` the suite can install. */
  csrf: boolean;
  /**
   * Serve `routes` on 127.0.0.1:0 with the adapter installed for `manager`. Bodies are parsed by
   * content type (JSON, urlencoded with repeated fields as arrays, text/plain as a string;
   * multipart is left unparsed); a body that does not parse is a 400; an unknown route a 404;
   * an error a route throws ends through the adapter's own error path.
   */
  serve(manager: SessionManager, routes: Routes, options?: ServeOptions): Promise<AdapterServer>;
}

/** Parse a request body the way common body parsers do. Throws `SyntaxError` for bad JSON. */
function parseBody(contentType: string | undefined | null, raw: string): unknown {
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

function writeNode(res: ServerResponse, result: RouteResult): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  res.statusCode = result.status ?? 200;
  if (result.json !== undefined) {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(result.json));
  } else res.end(result.text ?? '');
}

function toResponse(result: RouteResult): Response {
  const headers = new Headers(result.headers);
  if (result.json !== undefined) {
    headers.set('content-type', 'application/json; charset=utf-8');
    return new Response(JSON.stringify(result.json), { status: result.status ?? 200, headers });
  }
  return new Response(result.text ?? '', { status: result.status ?? 200, headers });
}

const BAD_REQUEST: RouteResult = { status: 400, text: 'Bad Request' };

/** node:http `withSession`, the body parsed into `req.body`, then the node `csrfMiddleware`. */
const nodeTarget: AdapterTarget = {
  name: 'node',
  csrf: true,
  serve(manager, routes, options = {}) {
    const csrf = options.csrf === undefined ? undefined : nodeCsrf(manager, options.csrf);
    const handler = nodeSession(manager, async (req, res, session) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = routes[`${req.method} ${url.pathname}`];
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (route === undefined) return writeNode(res, { status: 404, text: 'Not Found' });
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
    });
    return listen(http.createServer(handler));
  },
};

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

/** Express 5 with its json/urlencoded/text parsers, the session middleware and error handler. */
const expressTarget: AdapterTarget = {
  name: 'express',
  csrf: true,
  serve(manager, routes, options = {}) {
    const app = express();
    app.use(express.json(), express.urlencoded({ extended: false }), express.text());
    const sessions = expressSession(manager);
    app.use(sessions);
    if (options.csrf !== undefined) app.use(expressCsrf(manager, options.csrf));
    for (const [key, route] of Object.entries(routes)) {
      const [method = '', path = ''] = key.split(' ');
      app[method.toLowerCase() as 'get' | 'post'](path, (req, res, next) => {
        const query = req.query as Record<string, string>;
        route(sessions.get(req), { query, body: req.body, headers: req.headers })
          .then((result) => {
            for (const [n, v] of Object.entries(result.headers ?? {})) res.append(n, v);
            if (result.json !== undefined) res.status(result.status ?? 200).json(result.json);
            else res.status(result.status ?? 200).send(result.text ?? '');
          })
          .catch(next);
      });
    }
    app.use(sessionErrorHandler());
    // The app's own last error handler (Express's default one prints stacks outside production).
    app.use(
      (error: { status?: unknown }, _req: unknown, res: ServerResponse, _next: unknown): void => {
        const status = typeof error.status === 'number' && error.status < 500 ? error.status : 500;
        res.statusCode = status;
        res.end(status === 500 ? 'Internal Server Error' : 'Bad Request');
      },
    );
    return listen(http.createServer(app));
  },
};

/** Hono through @hono/node-server. */
const honoTarget: AdapterTarget = {
  name: 'hono',
  csrf: true,
  serve(manager, routes, options = {}) {
    const app = new Hono<SessionEnv>();
    // The socket address, as the other adapters see it (Hono leaves it to the runtime).
    app.use(honoSession(manager, { getClientIp: (c) => getConnInfo(c).remote.address }));
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
    app.onError(() => toResponse({ status: 500, text: 'Internal Server Error' }));
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
};

/** The fetch adapter behind a minimal node:http ↔ fetch bridge (as Bun.serve / Deno.serve). */
const fetchTarget: AdapterTarget = {
  name: 'fetch',
  csrf: true,
  serve(manager, routes, options = {}) {
    const inner: FetchSessionHandler<DefaultData, DefaultFlash> = async (request, session) => {
      const url = new URL(request.url);
      const route = routes[`${request.method} ${url.pathname}`];
      if (route === undefined) return toResponse({ status: 404, text: 'Not Found' });
      let body: unknown;
      try {
        body = parseBody(request.headers.get('content-type'), await request.text());
      } catch {
        return toResponse(BAD_REQUEST);
      }
      const input: RouteInput = {
        query: Object.fromEntries(url.searchParams),
        body,
        headers: Object.fromEntries(request.headers),
      };
      return toResponse(await route(session, input));
    };
    const csrf = options.csrf === undefined ? undefined : fetchCsrf(manager, options.csrf);
    const handler = fetchSession(manager, csrf === undefined ? inner : csrf(inner), {
      getClientIp: remoteAddress,
    });
    return serveFetch(handler);
  },
};

/** Fastify 5 with the session plugin; urlencoded and text bodies parsed like the others. */
const fastifyTarget: AdapterTarget = {
  name: 'fastify',
  csrf: true,
  async serve(manager, routes, options = {}) {
    const app = Fastify();
    await app.register(sessionPlugin, { manager });
    if (options.csrf !== undefined) app.addHook('preHandler', fastifyCsrf(manager, options.csrf));
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
        done(null, parseBody(type, String(body)));
      });
    }
    for (const [key, route] of Object.entries(routes)) {
      const [method = '', path = ''] = key.split(' ');
      app.route({
        method: method as 'GET',
        url: path,
        handler: async (request, reply) => {
          const query = request.query as Record<string, string>;
          const result = await route(getFastifySession(request), {
            query,
            body: request.body,
            headers: request.headers,
          });
          for (const [n, v] of Object.entries(result.headers ?? {})) reply.header(n, v);
          reply.status(result.status ?? 200);
          return result.json !== undefined ? result.json : (result.text ?? '');
        },
      });
    }
    // The app's own error handler: generic bodies (Fastify's default one echoes messages).
    app.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
      const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
      reply.status(status).send(status >= 500 ? 'Internal Server Error' : 'Bad Request');
    });
    await app.ready();
    return listen(app.server);
  },
};

/** Koa 3 with the session middleware and its CSRF middleware; bodies parsed by hand. */
const koaTarget: AdapterTarget = {
  name: 'koa',
  csrf: true,
  serve(manager, routes, options = {}) {
    const app = new Koa();
    app.silent = true;
    const sessions = koaSession(manager);
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        // The app's own error page; session errors keep their status and headers.
        const status = (error as { status?: unknown }).status;
        ctx.status = typeof status === 'number' ? status : 500;
        ctx.body = ctx.status >= 500 ? 'Internal Server Error' : 'Bad Request';
        if (isSessionError(error)) ctx.set('cache-control', 'no-store');
      }
    });
    app.use(sessions);
    app.use(async (ctx, next) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      try {
        (ctx.request as { body?: unknown }).body = parseBody(
          ctx.get('content-type'),
          Buffer.concat(chunks).toString('utf8'),
        );
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
      if (route === undefined) return;
      const query = Object.fromEntries(
        Object.entries(ctx.query).map(([k, v]) => [k, Array.isArray(v) ? (v[0] ?? '') : (v ?? '')]),
      );
      const body = (ctx.request as { body?: unknown }).body;
      const result = await route(sessions.get(ctx), { query, body, headers: ctx.headers });
      for (const [n, v] of Object.entries(result.headers ?? {})) ctx.append(n, v);
      ctx.status = result.status ?? 200;
      ctx.body = result.json !== undefined ? result.json : (result.text ?? '');
    });
    return listen(http.createServer(app.callback()));
  },
};

/** Every adapter the suite attacks. Add later adapters here. */
export const ADAPTERS: readonly AdapterTarget[] = [
  nodeTarget,
  expressTarget,
  honoTarget,
  fetchTarget,
  fastifyTarget,
  koaTarget,
];

/** The adapters that have a CSRF middleware. */
export const CSRF_ADAPTERS: readonly AdapterTarget[] = ADAPTERS.filter((a) => a.csrf);

// ---------------------------------------------------------------------------------------------
// Stores

/** A store under attack plus what can be inspected of its backend. */
export interface StoreHandle {
  store: SessionStore;
  /**
   * Every piece of text the backend received as *code or address*: SQL statement texts, file
   * paths relative to the store directory, backend keys. Hostile input must never appear here.
   */
  addresses(): Promise<string[]>;
  /** Paths created outside the store's own directory (file store), else `[]`. */
  escaped(): Promise<string[]>;
  /** Everything the backend holds, as text (rows, files, values): what a dump would leak. */
  dump(): Promise<string>;
  /** Strings that must never reach a client (connection strings, directories). */
  secrets: string[];
  close(): Promise<void>;
}

/** One store kind under attack. */
export interface StoreTarget {
  name: string;
  /** A fresh, isolated store on the given clock (ms). */
  create(now: () => number): Promise<StoreHandle>;
}

/** better-sqlite3 wrapped so every SQL text it compiles or runs is recorded. */
function recordingSqlite(db: Database.Database, sql: string[]): SqliteClientLike {
  return {
    exec(text) {
      sql.push(text);
      return db.exec(text);
    },
    prepare(text) {
      sql.push(text);
      return db.prepare(text) as unknown as ReturnType<SqliteClientLike['prepare']>;
    },
  };
}

/** A dump through the store's own `ids`/`get` (for backends without another view). */
async function dumpThrough(store: SessionStore): Promise<string> {
  const parts: string[] = [];
  for await (const key of store.ids?.() ?? [])
    parts.push(key, JSON.stringify(await store.get(key)));
  return parts.join('\n');
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, entry.name);
    out.push(full);
    if (entry.isDirectory()) out.push(...(await walk(full)));
  }
  return out;
}

/** A per-test name usable as a Redis prefix part and an SQL table. */
function uniqueName(): string {
  return `sk_attack_${randomBytes(5).toString('hex')}`;
}

/** A SQL store target: a fresh table pair per test, every statement text recorded. */
function sqlTarget(
  name: string,
  url: string,
  open: (
    sql: string[],
    table: string,
    now: () => number,
  ) => Promise<{
    store: SessionStore & { migrate(): Promise<unknown> };
    rows(table: string): Promise<unknown[]>;
    drop(table: string): Promise<void>;
    end(): Promise<void>;
  }>,
): StoreTarget {
  return {
    name,
    async create(now) {
      const sql: string[] = [];
      const table = uniqueName();
      const db = await open(sql, table, now);
      try {
        await db.store.migrate();
      } catch (error) {
        await db.end();
        throw error;
      }
      return {
        store: db.store,
        addresses: async () => [...sql],
        escaped: async () => [],
        dump: async () =>
          JSON.stringify([await db.rows(table), await db.rows(`${table}_locks`)], (_k, v) =>
            typeof v === 'bigint' ? String(v) : v,
          ),
        secrets: [url],
        async close() {
          await db.drop(table);
          await db.end();
        },
      };
    },
  };
}

/** Every store the suite attacks. Add later stores here. */
export const STORES: readonly StoreTarget[] = [
  {
    name: 'memory',
    async create(now) {
      const store = memoryStore({ sweepInterval: 0, now });
      return {
        store,
        addresses: async () => [],
        escaped: async () => [],
        dump: () => dumpThrough(store),
        secrets: [],
        close: async () => store.close?.(),
      };
    },
  },
  {
    name: 'file',
    async create(now) {
      // The store lives in root/store; anything else appearing under root escaped it.
      const root = await mkdtemp(join(tmpdir(), 'sessionkit-attack-'));
      const dir = join(root, 'store');
      const store = fileStore({ dir, now, fsync: false });
      return {
        store,
        addresses: async () => (await walk(dir)).map((p) => relative(dir, p)),
        escaped: async () =>
          (await walk(root)).filter((p) => p !== dir && !p.startsWith(`${dir}/`)),
        async dump() {
          const parts: string[] = [];
          for (const p of await walk(dir)) {
            parts.push(p, await readFile(p, 'utf8').catch(() => ''));
          }
          return parts.join('\n');
        },
        secrets: [root],
        async close() {
          await store.close?.();
          await rm(root, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'sqlite',
    async create(now) {
      const db = new Database(':memory:');
      const sql: string[] = [];
      const store = sqliteStore({ client: recordingSqlite(db, sql), now });
      return {
        store,
        addresses: async () => [...sql],
        escaped: async () => [],
        dump: async () =>
          JSON.stringify(
            (
              db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
                name: string;
              }[]
            ).map(({ name }) => db.prepare(`SELECT * FROM "${name}"`).all()),
          ),
        secrets: [],
        async close() {
          await store.close?.();
          db.close();
        },
      };
    },
  },
  {
    name: 'redis',
    async create() {
      const client = new Redis(REDIS_URL, {
        lazyConnect: true,
        connectTimeout: 1000,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
      });
      client.on('error', () => {});
      try {
        await client.connect();
      } catch (error) {
        client.disconnect();
        throw error;
      }
      const prefix = `${uniqueName()}:`;
      const keys: string[] = [];
      // Record every key a command addresses: EVALSHA's KEYS, every argument of other commands.
      const recorded = {
        call(command: string, ...args: (string | number)[]) {
          if (/^eval/i.test(command)) keys.push(...args.slice(2, 2 + Number(args[1])).map(String));
          else keys.push(...args.map(String));
          return client.call(command, ...args);
        },
      };
      const store = redisStore({ client: recorded, prefix });
      const all = async (): Promise<string[]> => {
        const out: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          out.push(...batch);
        } while (cursor !== '0');
        return out;
      };
      return {
        store,
        addresses: async () => [...keys, ...(await all())],
        escaped: async () => [],
        async dump() {
          const parts: string[] = [];
          for (const key of await all()) {
            const type = await client.type(key);
            const value =
              type === 'hash'
                ? await client.hgetall(key)
                : type === 'zset'
                  ? await client.call('ZRANGE', key, '0', '-1', 'WITHSCORES')
                  : type === 'string'
                    ? await client.get(key)
                    : type;
            parts.push(key, JSON.stringify(value));
          }
          return parts.join('\n');
        },
        secrets: [REDIS_URL],
        async close() {
          const keys = await all().catch(() => []);
          if (keys.length > 0) await client.del(...keys).catch(() => undefined);
          client.disconnect();
        },
      };
    },
  },
  sqlTarget('postgres', POSTGRES_URL, async (sql, table, now) => {
    const pool = new pg.Pool({
      connectionString: POSTGRES_URL,
      connectionTimeoutMillis: 1000,
      max: 4,
    });
    pool.on('error', () => {});
    const recorded = {
      query: (text: string, values: SqlParam[]) => {
        sql.push(text);
        return pool.query(text, values) as Promise<{ rows: unknown[]; rowCount: number | null }>;
      },
    };
    return {
      store: postgresStore({ pool: recorded, table, now }),
      rows: async (t) => (await pool.query(`SELECT * FROM "${t}"`)).rows,
      drop: async (t) => void (await pool.query(`DROP TABLE IF EXISTS "${t}", "${t}_locks"`)),
      end: () => pool.end(),
    };
  }),
  sqlTarget('mysql', MYSQL_URL, async (sql, table, now) => {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectTimeout: 1000, connectionLimit: 4 });
    const recorded = {
      execute: (text: string, values: MysqlParam[]) => {
        sql.push(text);
        return pool.execute(text, values) as Promise<[unknown, unknown]>;
      },
      query: (text: string) => {
        sql.push(text);
        return pool.query(text) as Promise<[unknown, unknown]>;
      },
    };
    return {
      store: mysqlStore({ pool: recorded, table, now }),
      rows: async (t) => (await pool.query(`SELECT * FROM \`${t}\``))[0] as unknown[],
      drop: async (t) => void (await pool.query(`DROP TABLE IF EXISTS \`${t}\`, \`${t}_locks\``)),
      end: () => pool.end(),
    };
  }),
];

/**
 * Why each store cannot run here (server unreachable), checked once. Under `CI=true` nothing is
 * skipped: an unreachable server makes its tests fail.
 */
const UNAVAILABLE = new Map<string, string>();
for (const target of STORES) {
  try {
    const handle = await target.create(Date.now);
    await handle.close();
  } catch (error) {
    UNAVAILABLE.set(target.name, `${target.name} unreachable: ${(error as Error).message}`);
  }
}

/**
 * The adapter × store pairs a file attacks: every adapter on the memory store, and every other
 * store under two adapters — node, plus one more in rotation (file → Express, SQLite → Hono,
 * Redis → fetch, PostgreSQL → Fastify, MySQL → Koa) — so every adapter meets a persistent store
 * and every store meets two adapters, while the suite stays under a minute on two cores.
 */
export function matrix(file: string): [AdapterTarget, StoreTarget][] {
  const out: [AdapterTarget, StoreTarget][] = [];
  for (const store of storesToRun(file)) {
    const index = STORES.indexOf(store);
    const rotated = ADAPTERS[1 + ((index - 1 + ADAPTERS.length - 1) % (ADAPTERS.length - 1))];
    for (const adapter of ADAPTERS) {
      if (index === 0 || adapter === ADAPTERS[0] || adapter === rotated) out.push([adapter, store]);
    }
  }
  return out;
}

/**
 * The stores to run: all of them under `CI=true`; otherwise the reachable ones, with a visible
 * warning naming each skipped store and why.
 */
export function storesToRun(file: string): StoreTarget[] {
  if (process.env.CI === 'true') return [...STORES];
  for (const [name, reason] of UNAVAILABLE) {
    console.warn(`[${file}] skipping the ${name} store — ${reason}`);
  }
  return STORES.filter((t) => !UNAVAILABLE.has(t.name));
}

// ---------------------------------------------------------------------------------------------
// The application under attack

/** Rendezvous points for forcing interleavings (in-flight writes against logout). */
export interface Gates {
  /** Resolved by `POST /slow-set` once it has loaded its session. */
  loaded: Promise<void>;
  /** Let `POST /slow-set` write. */
  release(): void;
}

/** How many times the CSRF-protected handler ran. */
export interface Counters {
  actions: number;
}

function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function bodyOf(input: RouteInput): Record<string, unknown> {
  return typeof input.body === 'object' && input.body !== null
    ? (input.body as Record<string, unknown>)
    : {};
}

/** A route that reports a refused write as 400 with the error code (the app's choice). */
async function refusing(fn: () => void | Promise<void>): Promise<RouteResult> {
  try {
    await fn();
    return { json: { ok: true } };
  } catch (error) {
    if (isSessionError(error, 'ERR_SESSION_DATA'))
      return { status: 400, json: { error: error.code } };
    throw error;
  }
}

/** The routes every target serves. */
export function securityRoutes(
  manager: SessionManager,
  counters: Counters,
  slow: { loaded: () => void; released: Promise<void> },
): Routes {
  const userOf = async (session: Session): Promise<string | null> => (await session.meta()).userId;
  return {
    'GET /untouched': async () => ({ json: { ok: true } }),
    'GET /whoami': async (session) => ({
      json: { data: await session.all(), userId: await userOf(session), flagged: session.flagged },
    }),
    'POST /set': async (session, input) =>
      refusing(() => {
        const values = bodyOf(input).values;
        for (const [k, v] of Object.entries((values ?? {}) as object)) session.set(k, v);
      }),
    'POST /set-path': async (session, input) =>
      refusing(() => {
        const { path, value } = bodyOf(input);
        session.set(String(path), value);
      }),
    'POST /merge': async (session, input) =>
      refusing(() => session.merge(bodyOf(input).patch as Record<string, unknown>)),
    'POST /big': async (session, input) => {
      session.set('blob', 'x'.repeat(Number(bodyOf(input).bytes)));
      return { json: { ok: true } };
    },
    'POST /login': async (session, input) => {
      const { userId = 'alice', persistent } = bodyOf(input);
      session.login(String(userId), persistent === undefined ? {} : { persistent: !!persistent });
      return { json: { ok: true } };
    },
    'POST /logout': async (session) => {
      session.logout();
      return { json: { ok: true } };
    },
    'POST /logout-everywhere': async (session) => {
      const userId = await userOf(session);
      if (userId === null) return { status: 401, json: { error: 'anonymous' } };
      const count = await manager.revokeAll(userId);
      return { json: { count } };
    },
    'POST /revoke': async (session, input) => {
      const userId = await userOf(session);
      if (userId === null) return { status: 401, json: { error: 'anonymous' } };
      return {
        json: { revoked: await manager.revokeSession(userId, String(bodyOf(input).handle)) },
      };
    },
    'POST /slow-set': async (session) => {
      await session.load();
      slow.loaded();
      await slow.released;
      session.set('late', true);
      return { json: { ok: true } };
    },
    'POST /slow-increment': async (session) => {
      const n = ((await session.get('n')) as number | undefined) ?? 0;
      slow.loaded();
      await slow.released;
      session.set('n', n + 1);
      return { json: { n: n + 1 } };
    },
    'POST /increment': async (session) => ({
      json: { n: await session.update('n', (n) => ((n as number | undefined) ?? 0) + 1) },
    }),
    'GET /csrf-token': async (session) => ({ json: { token: await session.csrfToken() } }),
    'POST /action': async (session) => {
      counters.actions += 1;
      session.set('acted', counters.actions);
      return { json: { ok: true } };
    },
    'PUT /action': async () => {
      counters.actions += 1;
      return { json: { ok: true } };
    },
    'DELETE /action': async () => {
      counters.actions += 1;
      return { json: { ok: true } };
    },
    'PATCH /action': async () => {
      counters.actions += 1;
      return { json: { ok: true } };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Harness

/** A controllable clock shared by the manager and the store. */
export interface Clock {
  now(): number;
  advance(ms: number): void;
}

/** Options of {@link start}. */
export interface StartOptions {
  /** Extra manager options (default: secure cookie defaults, one fresh secret). */
  manager?: Partial<SessionManagerOptions>;
  /** Install the adapter's CSRF middleware. */
  csrf?: CsrfOptions;
  /** Reuse the backend of an earlier harness (another app, or the same app after a restart). */
  backend?: StoreHandle;
  /** Shared clock (with `backend`). */
  clock?: Clock;
}

/** Request options of {@link Harness.req}. */
export interface RequestOptions {
  cookie?: string | undefined;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is, with `contentType`. */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A running target: one adapter, one store, one manager, observed from outside. */
export interface Harness {
  url: string;
  manager: SessionManager;
  /** The wrapped store the manager uses (record calls, inject faults). */
  probe: ProbeStore;
  /** The unwrapped store, for planting and reading records directly. */
  raw: SessionStore;
  backend: StoreHandle;
  clock: Clock;
  secrets: string[];
  /** Every event the manager emitted. */
  events: SessionEvent[];
  /** Every response body seen, for leak scans. */
  bodies: string[];
  /** Every raw session id issued to the client (from Set-Cookie). */
  ids: Set<string>;
  counters: Counters;
  gates: Gates;
  req(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** The session cookie lines of a reply. */
  cookies(reply: Reply): ParsedCookie[];
  /** A new session holding `values`; resolves its `Cookie` pair. */
  newSession(values?: Record<string, unknown>): Promise<string>;
  /** A signed-in session of `userId`; resolves its `Cookie` pair. */
  login(userId?: string, cookie?: string): Promise<string>;
  /** Raw id of a `name=id.sig` pair. */
  idOf(pair: string): string;
  /** Store key of a `name=id.sig` pair. */
  keyOf(pair: string): string;
  /** Strings that must never reach a client: secrets, derived keys, raw ids, full store keys. */
  forbidden(): string[];
}

/** Start `adapter` over a fresh `storeTarget` store. Closed automatically when the test ends. */
export async function start(
  adapter: AdapterTarget,
  storeTarget: StoreTarget,
  options: StartOptions = {},
): Promise<Harness> {
  let t = Date.now();
  const clock: Clock = options.clock ?? {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
  const owned = options.backend === undefined;
  const backend = options.backend ?? (await storeTarget.create(clock.now));
  const probe = probeStore(backend.store);
  const secret = generateSecret();
  const manager = testManager({
    store: probe,
    secrets: [secret],
    cookie: {}, // the library's defaults: Secure, __Host- prefix
    now: clock.now,
    ...options.manager,
  });
  const { events } = manager;
  const secrets = [secret, ...backend.secrets];
  const configured = options.manager?.secrets;
  if (configured !== undefined) {
    const list = Array.isArray(configured) ? configured : [configured];
    for (const entry of list as unknown[]) {
      const s =
        typeof entry === 'object' && entry !== null && 'secret' in entry ? entry.secret : entry;
      if (typeof s === 'string') secrets.push(s);
    }
  }
  const counters: Counters = { actions: 0 };
  const loaded = gate();
  const released = gate();
  const routes = securityRoutes(manager, counters, {
    loaded: loaded.resolve,
    released: released.promise,
  });
  const server = await adapter.serve(manager, routes, { csrf: options.csrf });
  onTestFinished(async () => {
    released.resolve();
    await server.close();
    if (owned) await backend.close();
  });
  const bodies: string[] = [];
  const ids = new Set<string>();
  const name = manager.cookieName;
  const h: Harness = {
    url: server.url,
    manager,
    probe,
    raw: backend.store,
    backend,
    clock,
    secrets,
    events,
    bodies,
    ids,
    counters,
    gates: { loaded: loaded.promise, release: released.resolve },
    async req(method, path, opts = {}) {
      const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
      if (opts.cookie !== undefined) headers.cookie = opts.cookie;
      let body: string | undefined;
      if (opts.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.json);
      } else if (opts.raw !== undefined) {
        if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
        body = opts.raw;
      }
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers,
        body: body ?? null,
        redirect: 'manual',
      });
      const text = await res.text();
      bodies.push(text);
      let json: unknown;
      if (res.headers.get('content-type')?.includes('json')) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      const reply: Reply = {
        status: res.status,
        headers: res.headers,
        setCookies: res.headers.getSetCookie(),
        text,
        json,
      };
      for (const c of cookiesNamed(reply, name)) if (c.value !== '') ids.add(c.value.slice(0, 43));
      return reply;
    },
    cookies: (reply) => cookiesNamed(reply, name),
    async newSession(values = { seeded: true }) {
      const reply = await h.req('POST', '/set', { json: { values } });
      const [cookie] = h.cookies(reply);
      if (reply.status !== 200 || cookie === undefined) {
        throw new Error(`could not create a session: ${reply.status}`);
      }
      return cookie.pair;
    },
    async login(userId = 'alice', cookie) {
      const reply = await h.req('POST', '/login', { cookie, json: { userId } });
      const [set] = h.cookies(reply);
      if (reply.status !== 200 || set === undefined)
        throw new Error(`login failed: ${reply.status}`);
      return set.pair;
    },
    idOf: (pair) => pair.slice(pair.indexOf('=') + 1, pair.indexOf('=') + 44),
    keyOf: (pair) => hashSessionId(h.idOf(pair)),
    forbidden() {
      const out = [...secrets];
      for (const s of secrets) {
        try {
          const ring = createKeyRing(s);
          for (const purpose of [
            'cookie-sign',
            'payload-encrypt',
            'csrf',
            'fingerprint',
          ] as const) {
            const key = Buffer.from(ring.primary(purpose));
            out.push(key.toString('base64url'), key.toString('hex'), key.toString('base64'));
          }
        } catch {
          // a store secret such as a directory is not a key
        }
      }
      for (const id of ids) out.push(id, hashSessionId(id));
      return out;
    },
  };
  return h;
}

/** Signs of a stack trace or an internal error class in client-facing text. */
export const STACK_MARKERS: readonly string[] = [
  '\n    at ',
  '.ts:',
  '.js:',
  'node_modules',
  'StoreError',
  'ConflictError',
  'ECONNREFUSED',
  'hunter2',
];

/**
 * Send a raw HTTP/1.1 request over a socket (for bytes `fetch` refuses to send: CR, LF, NUL,
 * oversized headers). Resolves the status code (0 when the server closed without answering)
 * and the whole response text.
 */
export function rawRequest(
  url: string,
  head: Buffer | string,
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish();
      else reject(error);
    });
    socket.on('end', finish);
    socket.on('close', finish);
    let done = false;
    function finish(): void {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match === null ? 0 : Number(match[1]), text });
    }
    socket.end(head);
  });
}
