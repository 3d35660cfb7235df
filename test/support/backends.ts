/**
 * Real stores for the torture, outage and lock-mode tests: every store on its real backend
 * (temp dirs, random Redis prefixes, per-run SQL tables), each with its cleanup. Server URLs come
 * from `TEST_REDIS_URL`, `TEST_POSTGRES_URL`, `TEST_MYSQL_URL` (127.0.0.1 defaults), read here
 * and nowhere else in test/ and examples/: import {@link REDIS_URL} and its siblings. Opening a
 * server store rejects quickly when its server is unreachable; {@link serverGate} turns that into
 * a visible skip, or a failure under `CI=true`.
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import mysql, { type Pool as MysqlPool } from 'mysql2/promise';
import pg from 'pg';
import type { SessionStore } from '../../src/core/store.js';
import { fileStore } from '../../src/stores/file.js';
import { memoryStore } from '../../src/stores/memory.js';
import { mysqlStore } from '../../src/stores/mysql.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { redisStore } from '../../src/stores/redis.js';
import { sqliteStore } from '../../src/stores/sqlite.js';
import { tieredStore } from '../../src/stores/tiered.js';
import {
  dumpFiles,
  dumpRedis,
  dumpRows,
  dumpSqlite,
  dumpThrough,
  recordingMysql,
  recordingPg,
  recordingRedis,
  recordingSqlite,
  redisKeys,
  walk,
} from './backend-views.js';

export const REDIS_URL: string = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL: string =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL: string = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** Every store kind the end-to-end tests run on. */
export type BackendKind = 'memory' | 'file' | 'sqlite' | 'redis' | 'postgres' | 'mysql' | 'tiered';

export const ALL_KINDS: readonly BackendKind[] = [
  'memory',
  'file',
  'sqlite',
  'redis',
  'postgres',
  'mysql',
  'tiered',
];

/** Kinds whose calls answer without I/O waits (probe them with `jitter`, see `probe-store.ts`). */
export const SYNCHRONOUS: ReadonlySet<BackendKind> = new Set(['memory', 'sqlite']);

/** An open store, what a test can inspect of its backend, and how to remove all it created. */
export interface Backend {
  kind: BackendKind;
  store: SessionStore;
  /** Raw access for assertions (Redis client / pg pool), when the kind has one. */
  redis?: Redis;
  pg?: pg.Pool;
  /**
   * Every text the backend was addressed with as code or an address: SQL statement texts and
   * Redis keys (recorded only when opened with `record`), paths under the file store's directory.
   */
  addresses(): Promise<string[]>;
  /** Paths created outside the store's own directory (file store), else `[]`. */
  escaped(): Promise<string[]>;
  /** Everything the backend holds, as text (rows, files, values): what a dump would leak. */
  dump(): Promise<string>;
  /** Strings that must never reach a client: the server's URL, the store's directory. */
  secrets: string[];
  cleanup(): Promise<void>;
}

/** Overrides for where a server store connects (e.g. through a test TCP proxy), and how. */
export interface BackendOptions {
  redisUrl?: string;
  postgresUrl?: string;
  /** Redis prefix / SQL table to reuse (cross-process tests share one). */
  name?: string;
  /** The store's clock in ms (memory, file, SQLite, PostgreSQL, MySQL). */
  now?: () => number;
  /**
   * Hand the store a client that records every SQL text or Redis key it sends, for
   * {@link Backend.addresses} (the attack suite). Off: the store gets the real client.
   * @default false
   */
  record?: boolean;
}

/** An ioredis client with the fail-fast settings `docs/stores/redis.md` recommends. */
export async function connectRedis(url: string = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 50, 500),
  });
  client.on('error', () => {}); // reported per command instead
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return client;
}

/** A pg pool with fail-fast settings and an idle-error handler (a dropped idle client must not crash). */
export function postgresPool(url: string = POSTGRES_URL, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    // pg-pool applies this to a connection attempt AND to the wait for a free client when all
    // `max` are busy: at 1 s, a 200-request burst on a loaded machine got "timeout exceeded
    // when trying to connect" (503s). An unreachable server still fails at once (refused).
    connectionTimeoutMillis: 10_000,
    max,
    query_timeout: 3000,
  });
  pool.on('error', () => {});
  return pool;
}

/** A name safe as a Redis prefix part and SQL table name. */
export function uniqueName(): string {
  return `sk_${randomBytes(6).toString('hex')}`;
}

/** A mysql2 pool with fail-fast connects. */
export function mysqlPool(url: string = MYSQL_URL, max = 10): MysqlPool {
  return mysql.createPool({ uri: url, connectTimeout: 1000, connectionLimit: max });
}

/** What every kind without a server view answers. */
const NOTHING_TO_INSPECT = {
  addresses: async (): Promise<string[]> => [],
  escaped: async (): Promise<string[]> => [],
  secrets: [] as string[],
};

/** Open a fresh, isolated store of `kind`. Rejects when a server is unreachable. */
export async function openBackend(kind: BackendKind, opts: BackendOptions = {}): Promise<Backend> {
  const name = opts.name ?? uniqueName();
  const clock = opts.now === undefined ? {} : { now: opts.now };
  const sql: string[] = [];
  switch (kind) {
    case 'memory': {
      const store = memoryStore({ sweepInterval: 0, ...clock });
      return {
        kind,
        store,
        ...NOTHING_TO_INSPECT,
        dump: () => dumpThrough(store),
        cleanup: async () => store.close?.(),
      };
    }
    case 'file': {
      // The store lives in root/store; anything else appearing under root escaped it.
      const root = await mkdtemp(join(tmpdir(), 'sessionkit-e2e-'));
      const dir = join(root, 'store');
      const store = fileStore({ dir, fsync: false, ...clock });
      return {
        kind,
        store,
        addresses: async () => (await walk(dir)).map((path) => relative(dir, path)),
        escaped: async () =>
          (await walk(root)).filter((path) => path !== dir && !path.startsWith(`${dir}/`)),
        dump: () => dumpFiles(dir),
        secrets: [root],
        async cleanup() {
          await store.close?.();
          await rm(root, { recursive: true, force: true });
        },
      };
    }
    case 'sqlite': {
      const dir = await mkdtemp(join(tmpdir(), 'sessionkit-e2e-'));
      const db = new Database(join(dir, 'sessions.db'));
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      const client = opts.record === true ? recordingSqlite(db, sql) : db;
      const store = sqliteStore({ client, ...clock });
      return {
        kind,
        store,
        ...NOTHING_TO_INSPECT,
        addresses: async () => [...sql],
        dump: async () => dumpSqlite(db),
        async cleanup() {
          await store.close?.();
          db.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    case 'redis': {
      const url = opts.redisUrl ?? REDIS_URL;
      const client = await connectRedis(url);
      const prefix = `sktest:${name}:`;
      const keys: string[] = [];
      const store = redisStore({
        client: opts.record === true ? recordingRedis(client, keys) : client,
        prefix,
      });
      return {
        kind,
        store,
        redis: client,
        addresses: async () => [...keys, ...(await redisKeys(client, prefix))],
        escaped: async () => [],
        dump: () => dumpRedis(client, prefix),
        secrets: [url],
        async cleanup() {
          await deletePrefix(prefix).catch(() => undefined);
          client.disconnect();
        },
      };
    }
    case 'postgres': {
      const url = opts.postgresUrl ?? POSTGRES_URL;
      const pool = postgresPool(url);
      const client = opts.record === true ? recordingPg(pool, sql) : pool;
      const store = postgresStore({ pool: client, table: name, ...clock });
      await migrateOr(store, () => pool.end());
      const rows = async (table: string) => (await pool.query(`SELECT * FROM "${table}"`)).rows;
      return {
        kind,
        store,
        pg: pool,
        ...NOTHING_TO_INSPECT,
        addresses: async () => [...sql],
        dump: async () => dumpRows([await rows(name), await rows(`${name}_locks`)]),
        secrets: [url],
        async cleanup() {
          await dropTables(name).catch(() => undefined);
          await pool.end();
        },
      };
    }
    case 'mysql': {
      const pool = mysqlPool();
      const client = opts.record === true ? recordingMysql(pool, sql) : pool;
      const store = mysqlStore({ pool: client, table: name, ...clock });
      await migrateOr(store, () => pool.end());
      const rows = async (table: string) =>
        (await pool.query(`SELECT * FROM \`${table}\``))[0] as unknown[];
      return {
        kind,
        store,
        ...NOTHING_TO_INSPECT,
        addresses: async () => [...sql],
        dump: async () => dumpRows([await rows(name), await rows(`${name}_locks`)]),
        secrets: [MYSQL_URL],
        async cleanup() {
          await pool.query(`DROP TABLE IF EXISTS ${name}, ${name}_locks`).catch(() => undefined);
          await pool.end();
        },
      };
    }
    case 'tiered': {
      const cache = await openBackend('redis', { ...opts, name });
      let persistent: Backend;
      try {
        persistent = await openBackend('postgres', { ...opts, name });
      } catch (error) {
        await cache.cleanup();
        throw error;
      }
      const both = [cache, persistent];
      return {
        kind,
        store: tieredStore({ cache: cache.store, persistent: persistent.store }),
        redis: cache.redis!,
        pg: persistent.pg!,
        addresses: async () => (await Promise.all(both.map((b) => b.addresses()))).flat(),
        escaped: async () => [],
        dump: async () => (await Promise.all(both.map((b) => b.dump()))).join('\n'),
        secrets: both.flatMap((b) => b.secrets),
        async cleanup() {
          await cache.cleanup();
          await persistent.cleanup();
        },
      };
    }
  }
}

/** Create a SQL store's tables, or end its pool and rethrow (an unreachable server). */
async function migrateOr(store: { migrate(): Promise<unknown> }, end: () => Promise<void>) {
  try {
    await store.migrate();
  } catch (error) {
    await end();
    throw error;
  }
}

/** Delete every Redis key under `prefix` (on a direct connection, not through a proxy). */
export async function deletePrefix(prefix: string): Promise<void> {
  const client = await connectRedis();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Drop a store's SQL tables (on a direct connection). */
export async function dropTables(name: string): Promise<void> {
  const pool = postgresPool(POSTGRES_URL, 1);
  try {
    await pool.query(`DROP TABLE IF EXISTS ${name}, ${name}_locks`);
  } finally {
    await pool.end();
  }
}

/** Drop a MySQL/MariaDB store's tables (on a direct connection). */
export async function dropMysqlTables(name: string): Promise<void> {
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1 });
  try {
    await pool.query(`DROP TABLE IF EXISTS ${name}, ${name}_locks`);
  } finally {
    await pool.end();
  }
}

/**
 * Open a backend, or explain why not: resolves `{ backend }` or `{ reason }`. Under `CI=true` an
 * unreachable server rejects instead (a failure, never a silent pass).
 */
export async function tryBackend(
  kind: BackendKind,
  opts: BackendOptions = {},
): Promise<{ backend: Backend; reason?: undefined } | { backend?: undefined; reason: string }> {
  try {
    return { backend: await openBackend(kind, opts) };
  } catch (error) {
    const reason = `${kind} unreachable (${(error as Error).message.slice(0, 80)})`;
    if (process.env.CI === 'true') throw new Error(`${reason}; under CI=true this fails the run.`);
    return { reason };
  }
}
