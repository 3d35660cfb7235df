/**
 * Real express-session ("connect") stores for tests: connect-redis 9 on a node-redis client,
 * connect-pg-simple on a pg pool, and express-session's MemoryStore. Each opener makes an
 * isolated store (random Redis prefix, new SQL table) and returns its cleanup. Openers reject
 * quickly when the server is unreachable.
 */

import { createServer } from 'node:net';
import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import session from 'express-session';
import type pg from 'pg';
import { createClient } from 'redis';
import { POSTGRES_URL, postgresPool, REDIS_URL, uniqueName } from './backends.js';

/** A connect store and how to remove what it created. */
export interface OpenConnect {
  store: session.Store;
  cleanup(): Promise<void>;
}

/** connect-redis over a connected node-redis client, under a random prefix. */
export async function openConnectRedis(
  url: string = REDIS_URL,
  shared?: NodeRedisClient,
): Promise<OpenConnect> {
  const client = shared ?? (await nodeRedis(url));
  const prefix = `${uniqueName()}:`;
  const store = new RedisStore({ client: client as never, prefix });
  return {
    store,
    async cleanup() {
      // SCAN walks the whole shared keyspace: large pages, or a suite's many cleanups (one per
      // store it opened) take longer than the hook's timeout while other files fill Redis.
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) await client.del(keys);
      }
      if (shared === undefined) await client.quit();
    },
  };
}

/** A connected node-redis client. */
export type NodeRedisClient = Awaited<ReturnType<typeof nodeRedis>>;

/** Connect a node-redis client that fails fast (no reconnects) when Redis is down. */
export function nodeRedis(url: string = REDIS_URL) {
  const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  client.on('error', () => {});
  return client.connect();
}

/** connect-redis over a node-redis client that was never connected: every command fails. */
export function brokenConnectRedis(): session.Store {
  const client = createClient({ url: 'redis://127.0.0.1:1' });
  return new RedisStore({ client: client as never });
}

/** SQL of connect-pg-simple's table.sql, under `table`. */
function pgTable(table: string): string {
  return `CREATE TABLE "${table}" ("sid" varchar NOT NULL COLLATE "default" PRIMARY KEY, "sess" json NOT NULL, "expire" timestamp(6) NOT NULL)`;
}

const PgStore = connectPgSimple(session);

/** connect-pg-simple over a pg pool, in a new table (dropped by cleanup). */
export async function openConnectPg(
  url: string = POSTGRES_URL,
  pool: pg.Pool = postgresPool(url, 4),
  ownsPool = true,
): Promise<OpenConnect> {
  const table = uniqueName();
  try {
    await pool.query(pgTable(table));
  } catch (error) {
    if (ownsPool) await pool.end();
    throw error;
  }
  const store = new PgStore({ pool, tableName: table, pruneSessionInterval: false });
  return {
    store,
    async cleanup() {
      await store.close();
      await pool.query(`DROP TABLE IF EXISTS "${table}"`);
      if (ownsPool) await pool.end();
    },
  };
}

/** connect-pg-simple over a pool aimed at a closed port: every query fails. */
export async function brokenConnectPg(): Promise<OpenConnect> {
  const pool = postgresPool(`postgres://postgres@127.0.0.1:${await closedPort()}/test`, 1);
  const store = new PgStore({
    pool,
    tableName: 'never_created',
    pruneSessionInterval: false,
    errorLog: () => {},
  });
  return {
    store,
    async cleanup() {
      await store.close();
      await pool.end();
    },
  };
}

/** express-session's own MemoryStore. */
export function openConnectMemory(): OpenConnect {
  const store = new session.MemoryStore();
  return { store, cleanup: async () => {} };
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
