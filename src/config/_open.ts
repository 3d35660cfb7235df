/**
 * Private module (never in the exports map): a parsed store URL → an open store over clients
 * this module created (and closes). Server clients are checked with one round trip before the
 * store is handed out, so a wrong host or password fails at start with one safe line.
 */

import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, StoreError } from '../core/errors.js';
import type { SessionStore } from '../core/store.js';
import { cookieStore } from '../stores/cookie.js';
import { fileStore } from '../stores/file.js';
import { hybridStore } from '../stores/hybrid.js';
import { memoryStore } from '../stores/memory.js';
import { mysqlStore } from '../stores/mysql.js';
import { postgresStore } from '../stores/postgres.js';
import { redisStore } from '../stores/redis.js';
import { sqliteStore } from '../stores/sqlite.js';
import { tieredStore } from '../stores/tiered.js';
import { connectError, loadPackage, withDeadline } from './_load.js';
import { openRedis } from './_redis.js';
import type { SingleSpec, SqliteSpec, SqlServerSpec, StoreSpec } from './_url.js';

/** How to open: see `StoreFromUrlOptions` in `index.ts`. */
export interface OpenOptions {
  create: boolean;
  migrate: boolean | undefined;
}

/** An open store, what it is, and how to release what was opened for it. */
export interface Opened {
  spec: StoreSpec;
  store: SessionStore;
  /** Close the store, then the clients opened for it. */
  close(): Promise<void>;
  /** The two tiers of a tiered store. */
  tiers?: { cache: Opened; persistent: Opened } | undefined;
}

/** Open the store `spec` names. Rejects with `ConfigError` or `StoreError` (see `storeFromUrl`). */
export async function openSpec(spec: StoreSpec, options: OpenOptions): Promise<Opened> {
  if (spec.kind === 'cookie') {
    const revocation = spec.revocation && (await openSingle(spec.revocation, options));
    const store = cookieStore(revocation === undefined ? {} : { revocation: revocation.store });
    return { spec, store, close: async () => revocation?.close() };
  }
  if (spec.kind === 'hybrid') {
    // The server-side store is opened (and closed) as its own URL would be.
    const inner = await openSpec(spec.store, options);
    const store = hybridStore({ store: inner.store });
    // `sessionkit migrate` reaches a SQL store's schema through the hybrid.
    const { migrate } = inner.store as { migrate?: unknown };
    if (typeof migrate === 'function') Object.assign(store, { migrate });
    return { spec, store, tiers: inner.tiers, close: inner.close };
  }
  if (spec.kind !== 'tiered') return openSingle(spec, options);
  const cache = await openSingle(spec.cache, options);
  let persistent: Opened;
  try {
    persistent = await openSingle(spec.persistent, options);
  } catch (error) {
    await cache.close();
    throw error;
  }
  return {
    spec,
    store: tieredStore({ cache: cache.store, persistent: persistent.store }),
    tiers: { cache, persistent },
    async close() {
      await cache.close();
      await persistent.close();
    },
  };
}

async function openSingle(spec: SingleSpec, options: OpenOptions): Promise<Opened> {
  switch (spec.kind) {
    case 'memory': {
      const store = memoryStore(
        spec.maxEntries === undefined ? {} : { maxEntries: spec.maxEntries },
      );
      return { spec, store, close: async () => store.close?.() };
    }
    case 'file': {
      if (!options.create && !isDirectory(spec.dir)) {
        throw new ConfigError(`The file store directory ${spec.dir} does not exist.`);
      }
      const store = fileStore({
        dir: spec.dir,
        ...(spec.fsync === undefined ? {} : { fsync: spec.fsync }),
      });
      return { spec, store, close: async () => store.close?.() };
    }
    case 'sqlite':
      return openSqlite(spec, options);
    case 'redis': {
      const redis = await openRedis(spec);
      const store = redisStore({
        client: redis.client,
        ...(spec.prefix === undefined ? {} : { prefix: spec.prefix }),
      });
      return { spec, store, close: redis.close };
    }
    case 'postgres':
    case 'mysql':
      return openSqlServer(spec, options);
  }
}

async function openSqlite(spec: SqliteSpec, options: OpenOptions): Promise<Opened> {
  const { default: Database } = await loadPackage(
    'sqlite',
    'better-sqlite3',
    () => import('better-sqlite3'),
  );
  const memory = spec.path === ':memory:';
  if (!memory && options.create) {
    mkdirSync(dirname(spec.path), { recursive: true, mode: 0o700 });
    // Create the file 0600 first: SQLite gives its -wal/-shm files the same mode.
    closeSync(openSync(spec.path, 'a', 0o600));
  } else if (!memory && !existsSync(spec.path)) {
    throw new ConfigError(`The SQLite database ${spec.path} does not exist.`);
  }
  let db: InstanceType<typeof Database>;
  try {
    db = new Database(spec.path, { fileMustExist: !memory });
    // WAL: readers never block the writer, and a crash cannot corrupt the database.
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${spec.busyTimeout}`);
  } catch (error) {
    throw new StoreError(`Cannot open the ${spec.where} session store.`, { cause: error });
  }
  try {
    const store = sqliteStore({
      client: db,
      createTable: options.migrate ?? true,
      ...(spec.table === undefined ? {} : { table: spec.table }),
    });
    return { spec, store, close: async () => void db.close() };
  } catch (error) {
    db.close();
    throw noTable(spec.where, error);
  }
}

async function openSqlServer(spec: SqlServerSpec, options: OpenOptions): Promise<Opened> {
  const secrets = [spec.password ?? ''];
  const auth = {
    host: spec.host,
    port: spec.port,
    ...(spec.user === undefined ? {} : { user: spec.user }),
    ...(spec.password === undefined ? {} : { password: spec.password }),
    ...(spec.database === undefined ? {} : { database: spec.database }),
  };
  const table = spec.table === undefined ? {} : { table: spec.table };
  let store: SessionStore & { migrate(): Promise<unknown> };
  let end: () => Promise<void>;
  if (spec.kind === 'postgres') {
    const { default: pg } = await loadPackage('postgres', 'pg', () => import('pg'));
    const pool = new pg.Pool({
      ...auth,
      max: spec.poolSize,
      connectionTimeoutMillis: spec.connectTimeout,
      ...(spec.ssl ? { ssl: true } : {}),
    });
    pool.on('error', () => {}); // an idle client dropped by the server; the next query reports it
    store = postgresStore({ pool, prepare: spec.prepare ?? true, ...table });
    end = () => pool.end();
  } else {
    const { default: mysql } = await loadPackage('mysql', 'mysql2', () => import('mysql2/promise'));
    const pool = mysql.createPool({
      ...auth,
      connectionLimit: spec.poolSize,
      connectTimeout: spec.connectTimeout,
      charset: 'utf8mb4',
      ...(spec.ssl ? { ssl: {} } : {}),
    });
    store = mysqlStore({ pool, ...table });
    end = () => pool.end();
  }
  const close = () => end().catch(() => {});
  try {
    await withDeadline(probe(store), spec.connectTimeout * 2);
  } catch (error) {
    await close();
    throw connectError(spec.where, error, secrets);
  }
  if (options.migrate === true) {
    try {
      await store.migrate();
    } catch (error) {
      await close();
      throw error;
    }
  }
  return { spec, store, close };
}

/** One round trip: a read of a key that cannot exist. Rejects with the driver's error. */
async function probe(store: SessionStore): Promise<void> {
  try {
    await store.get('sessionkit-connection-probe');
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    // A missing table answers too: the server is there (`migrate` will say what is missing).
    if (isNoTable(cause)) return;
    throw cause ?? error;
  }
}

/** A `StoreError` saying the tables are missing, when that is why `error` happened. */
function noTable(where: string, error: unknown): unknown {
  if (!isNoTable((error as { cause?: unknown }).cause)) return error;
  return new StoreError(
    `The ${where} session store has no session table; run "sessionkit migrate" first.`,
    { cause: error },
  );
}

/** `true` for "table does not exist" from PostgreSQL, MySQL or SQLite. */
export function isNoTable(error: unknown): boolean {
  const { code, errno, message } = (error ?? {}) as {
    code?: unknown;
    errno?: unknown;
    message?: unknown;
  };
  return (
    code === '42P01' ||
    errno === 1146 ||
    (typeof message === 'string' && message.startsWith('no such table'))
  );
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
