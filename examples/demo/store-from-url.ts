/**
 * The demo's `SESSION_STORE` parsing: a store URL → a store spec → an open store.
 *
 * Supported: `sqlite:<path>` (default `sqlite:./data/sessions.db`), `file:<dir>`, `memory:`,
 * `redis://…` (`rediss://`, `valkey://`), `postgres://…` (`postgresql://`), `mysql://…`
 * (`mariadb://`) and `tiered:<cache-url>+<persistent-url>` (e.g.
 * `tiered:redis://127.0.0.1:6379+postgres://postgres@127.0.0.1/test`). Server URLs may end in
 * `?prefix=<redis key prefix>` / `?table=<SQL table>`; those are the store's, not the driver's.
 */

import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { SessionStore } from '../../src/core/store.js';
import { fileStore } from '../../src/stores/file.js';
import { memoryStore } from '../../src/stores/memory.js';
import { mysqlStore } from '../../src/stores/mysql.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { redisStore } from '../../src/stores/redis.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { tieredStore } from '../../src/stores/tiered.js';

/** The store URL used when `SESSION_STORE` is unset or empty. */
export const DEFAULT_STORE_URL = 'sqlite:./data/sessions.db';

/** A parsed store URL. Paths are absolute (resolved against the given working directory). */
export type StoreSpec = LocalStoreSpec | ServerStoreSpec | TieredStoreSpec;

/** A store in this process or on this machine's disk. */
export type LocalStoreSpec =
  | { kind: 'memory' }
  | { kind: 'file'; dir: string }
  | { kind: 'sqlite'; path: string };

/** A store on a server; `url` is the driver's (without the store's `prefix`/`table` parameter). */
export type ServerStoreSpec =
  | { kind: 'redis'; url: string; prefix?: string }
  | { kind: 'postgres' | 'mysql'; url: string; table?: string };

/** A cache store over a persistent store. */
export interface TieredStoreSpec {
  kind: 'tiered';
  cache: LocalStoreSpec | ServerStoreSpec;
  persistent: LocalStoreSpec | ServerStoreSpec;
}

/** Thrown for a store URL the demo cannot use; `message` is meant for the console. */
export class StoreUrlError extends Error {
  override readonly name = 'StoreUrlError';
}

const SERVER = new Map<string, ServerStoreSpec['kind']>([
  ['redis', 'redis'],
  ['rediss', 'redis'],
  ['valkey', 'redis'],
  ['postgres', 'postgres'],
  ['postgresql', 'postgres'],
  ['mysql', 'mysql'],
  ['mariadb', 'mysql'],
]);

/** The syntax, for messages (README and the demo's startup message say the same). */
export const SUPPORTED: string =
  'sqlite:<path>, file:<dir>, memory:, redis://host:port, postgres://user@host/db, mysql://user@host/db or tiered:<cache-url>+<persistent-url>';

/**
 * Parse a `SESSION_STORE` value. `undefined` or blank means {@link DEFAULT_STORE_URL}. Relative
 * paths resolve against `cwd`. Throws {@link StoreUrlError} for a scheme the demo does not
 * support (naming the supported ones) or a missing path; never touches the filesystem.
 */
export function parseStoreUrl(url: string | undefined, cwd: string = process.cwd()): StoreSpec {
  const text = url === undefined || url.trim() === '' ? DEFAULT_STORE_URL : url.trim();
  const colon = text.indexOf(':');
  const scheme = colon > 0 ? text.slice(0, colon).toLowerCase() : '';
  // `sqlite:./x.db`, `sqlite://./x.db` and `sqlite:///abs/x.db` all name a path.
  const rest = text.slice(colon + 1).replace(/^\/\/(?=[./~]|$)/, '');
  const server = SERVER.get(scheme);
  if (server !== undefined) return serverSpec(server, scheme, text);
  switch (scheme) {
    case 'tiered': {
      // The `+` that starts the second URL is the one followed by a scheme (passwords may hold `+`).
      const split = /\+(?=[A-Za-z][A-Za-z0-9]*:)/.exec(rest);
      if (split === null) {
        throw new StoreUrlError(
          'SESSION_STORE: write a tiered store as "tiered:<cache-url>+<persistent-url>".',
        );
      }
      const cache = parseStoreUrl(rest.slice(0, split.index), cwd);
      const persistent = parseStoreUrl(rest.slice(split.index + 1), cwd);
      if (cache.kind === 'tiered' || persistent.kind === 'tiered') {
        throw new StoreUrlError('SESSION_STORE: a tiered store cannot contain another one.');
      }
      return { kind: 'tiered', cache, persistent };
    }
    case 'memory':
      if (rest !== '')
        throw new StoreUrlError('SESSION_STORE: write the memory store as "memory:".');
      return { kind: 'memory' };
    case 'file':
      if (rest === '') throw new StoreUrlError('SESSION_STORE: "file:" needs a directory.');
      return { kind: 'file', dir: resolve(cwd, rest) };
    case 'sqlite':
      if (rest === '') throw new StoreUrlError('SESSION_STORE: "sqlite:" needs a database path.');
      return { kind: 'sqlite', path: rest === ':memory:' ? rest : resolve(cwd, rest) };
    default:
      throw new StoreUrlError(
        `SESSION_STORE: unknown store "${scheme === '' ? text.slice(0, 40) : scheme}". Use ${SUPPORTED}.`,
      );
  }
}

function serverSpec(kind: ServerStoreSpec['kind'], scheme: string, text: string): ServerStoreSpec {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Never echo the value: it may hold a password.
    throw new StoreUrlError(`SESSION_STORE: the ${scheme}:// URL is malformed.`);
  }
  if (url.hostname === '')
    throw new StoreUrlError(`SESSION_STORE: the ${scheme}:// URL needs a host.`);
  const param = kind === 'redis' ? 'prefix' : 'table';
  const value = url.searchParams.get(param);
  url.searchParams.delete(param);
  if (kind === 'redis') {
    if (scheme === 'valkey') url.protocol = 'redis:';
    return value === null
      ? { kind, url: url.toString() }
      : { kind, url: url.toString(), prefix: value };
  }
  if (scheme === 'mariadb') url.protocol = 'mysql:';
  if (scheme === 'postgresql') url.protocol = 'postgres:';
  return value === null
    ? { kind, url: url.toString() }
    : { kind, url: url.toString(), table: value };
}

/** `host:port/path` of a server URL, for the console: never the user name or password. */
export function describeServer(url: string): string {
  const u = new URL(url);
  return `${u.hostname}${u.port === '' ? '' : `:${u.port}`}${u.pathname === '/' ? '' : u.pathname}`;
}

/** An open store and how to release what was opened for it. */
export interface OpenedStore {
  store: SessionStore;
  /** A one-line description for the console (no credentials: the demo's URLs hold none). */
  description: string;
  /** Close the store's timers and the database connection it opened. */
  close(): Promise<void>;
}

/**
 * Open a local store (memory, file, sqlite; server stores need {@link connectStore}). Creates the SQLite database's directory (mode 0700) and switches
 * the database to WAL mode; the file store creates its own directory on first use. Throws what
 * the driver throws (e.g. an unwritable path).
 */
export function openStore(spec: StoreSpec): OpenedStore {
  switch (spec.kind) {
    case 'redis':
    case 'postgres':
    case 'mysql':
    case 'tiered':
      throw new StoreUrlError(
        `SESSION_STORE: the ${spec.kind} store is opened with connectStore().`,
      );
    case 'memory': {
      const store = memoryStore();
      return { store, description: 'memory (lost on restart)', close: async () => store.close?.() };
    }
    case 'file': {
      const store = fileStore({ dir: spec.dir });
      return { store, description: `file ${spec.dir}`, close: async () => store.close?.() };
    }
    case 'sqlite': {
      if (spec.path !== ':memory:') {
        mkdirSync(dirname(spec.path), { recursive: true, mode: 0o700 });
        // Create the file 0600 first: SQLite gives its -wal/-shm files the same mode.
        closeSync(openSync(spec.path, 'a', 0o600));
      }
      const client = new Database(spec.path);
      // WAL: readers never block the writer, and a crash cannot corrupt the database.
      client.pragma('journal_mode = WAL');
      client.pragma('busy_timeout = 5000');
      const store = sqliteStore({ client });
      return {
        store,
        description: `sqlite ${spec.path}`,
        async close() {
          await store.close?.();
          client.close();
        },
      };
    }
  }
}

/** Thrown by {@link connectStore} when a server cannot be reached; `message` is one safe line. */
export class StoreConnectError extends Error {
  override readonly name = 'StoreConnectError';
}

/**
 * Open any store a spec names: local ones as {@link openStore}; for server stores, connect a
 * client with fail-fast settings (no offline queue, short connect timeouts), check it answers, and
 * run `migrate()` for SQL stores (idempotent). Rejects with {@link StoreConnectError} — a one-line
 * message with the host, never the password — when a server is unreachable or refuses us.
 */
export async function connectStore(spec: StoreSpec): Promise<OpenedStore> {
  if (spec.kind === 'tiered') {
    const cache = await connectStore(spec.cache);
    let persistent: OpenedStore;
    try {
      persistent = await connectStore(spec.persistent);
    } catch (error) {
      await cache.close();
      throw error;
    }
    return {
      store: tieredStore({ cache: cache.store, persistent: persistent.store }),
      description: `tiered: ${cache.description} over ${persistent.description}`,
      async close() {
        await cache.close();
        await persistent.close();
      },
    };
  }
  if (spec.kind === 'memory' || spec.kind === 'file' || spec.kind === 'sqlite') {
    return openStore(spec);
  }
  const where = `${spec.kind} ${describeServer(spec.url)}`;
  const failed = (error: unknown): StoreConnectError => {
    const cause = (error as { cause?: unknown })?.cause ?? error;
    const code = (cause as { code?: unknown })?.code;
    const reason = typeof code === 'string' ? code : 'no answer';
    return new StoreConnectError(`cannot use the ${where} session store (${reason}).`, {
      cause: error,
    });
  };
  switch (spec.kind) {
    case 'redis': {
      const client = new Redis(spec.url, {
        lazyConnect: true,
        connectTimeout: 5000,
        enableOfflineQueue: false, // fail fast (503) while Redis is down, instead of queueing
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(times * 100, 2000),
      });
      client.on('error', () => {}); // reported per command, as StoreErrors
      try {
        await client.connect();
        await client.ping();
      } catch (error) {
        client.disconnect();
        throw failed(error);
      }
      const store = redisStore({
        client,
        ...(spec.prefix === undefined ? {} : { prefix: spec.prefix }),
      });
      return { store, description: where, close: async () => void (await client.quit()) };
    }
    case 'postgres': {
      const pool = new pg.Pool({ connectionString: spec.url, connectionTimeoutMillis: 5000 });
      pool.on('error', () => {}); // an idle client dropped by the server; the next query reports it
      const store = postgresStore({
        pool,
        ...(spec.table === undefined ? {} : { table: spec.table }),
      });
      try {
        await store.migrate();
      } catch (error) {
        await pool.end();
        throw failed(error);
      }
      return { store, description: where, close: () => pool.end() };
    }
    case 'mysql': {
      const pool = mysql.createPool({ uri: spec.url, connectTimeout: 5000 });
      const store = mysqlStore({
        pool,
        ...(spec.table === undefined ? {} : { table: spec.table }),
      });
      try {
        await store.migrate();
      } catch (error) {
        await pool.end();
        throw failed(error);
      }
      return { store, description: where, close: () => pool.end() };
    }
  }
}
