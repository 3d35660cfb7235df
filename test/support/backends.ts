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
import { join } from 'node:path';
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

/** An open store and how to remove everything it created. */
export interface Backend {
  kind: BackendKind;
  store: SessionStore;
  /** Raw access for assertions (Redis client / pg pool), when the kind has one. */
  redis?: Redis;
  pg?: pg.Pool;
  cleanup(): Promise<void>;
}

/** Overrides for where a server store connects (e.g. through a test TCP proxy). */
export interface BackendOptions {
  redisUrl?: string;
  postgresUrl?: string;
  /** Redis prefix / SQL table to reuse (cross-process tests share one). */
  name?: string;
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

/** Open a fresh, isolated store of `kind`. Rejects when a server is unreachable. */
export async function openBackend(kind: BackendKind, opts: BackendOptions = {}): Promise<Backend> {
  const name = opts.name ?? uniqueName();
  switch (kind) {
    case 'memory': {
      const store = memoryStore();
      return { kind, store, cleanup: async () => store.close?.() };
    }
    case 'file': {
      const dir = await mkdtemp(join(tmpdir(), 'sessionkit-e2e-'));
      const store = fileStore({ dir, fsync: false });
      return {
        kind,
        store,
        async cleanup() {
          await store.close?.();
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    case 'sqlite': {
      const dir = await mkdtemp(join(tmpdir(), 'sessionkit-e2e-'));
      const db = new Database(join(dir, 'sessions.db'));
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      const store = sqliteStore({ client: db });
      return {
        kind,
        store,
        async cleanup() {
          await store.close?.();
          db.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    case 'redis': {
      const client = await connectRedis(opts.redisUrl);
      const prefix = `sktest:${name}:`;
      const store = redisStore({ client, prefix });
      return {
        kind,
        store,
        redis: client,
        async cleanup() {
          await deletePrefix(prefix).catch(() => undefined);
          client.disconnect();
        },
      };
    }
    case 'postgres': {
      const pool = postgresPool(opts.postgresUrl);
      const store = postgresStore({ pool, table: name });
      try {
        await store.migrate();
      } catch (error) {
        await pool.end();
        throw error;
      }
      return {
        kind,
        store,
        pg: pool,
        async cleanup() {
          await dropTables(name).catch(() => undefined);
          await pool.end();
        },
      };
    }
    case 'mysql': {
      const pool = mysql.createPool({ uri: MYSQL_URL, connectTimeout: 1000, connectionLimit: 10 });
      const store = mysqlStore({ pool, table: name });
      try {
        await store.migrate();
      } catch (error) {
        await pool.end();
        throw error;
      }
      return {
        kind,
        store,
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
      return {
        kind,
        store: tieredStore({ cache: cache.store, persistent: persistent.store }),
        redis: cache.redis!,
        pg: persistent.pg!,
        async cleanup() {
          await cache.cleanup();
          await persistent.cleanup();
        },
      };
    }
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
