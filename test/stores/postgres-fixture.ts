/**
 * The PostgreSQL fixture of `postgres-schema.test.ts` and `postgres-migrate.test.ts`: a pool (and
 * whether the server answered: under `CI=true` an unreachable server fails the run), fresh
 * tables, single connections, the previous release's DDL, and what the server says about a
 * table — its update counters, catalog entries and storage. Module state is per test file.
 */

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { expect } from 'vitest';
import type { SqlSessionStore } from '../../src/stores/_sql.js';
import { POSTGRES_URL } from '../support/backends.js';
import { HOUR, record, storeKey } from './conformance.js';
import { tableNames } from './sql-extras.js';

const ci = process.env.CI === 'true';
const clients: pg.Client[] = [];
const pools: pg.Pool[] = [];
export function newPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {});
  pools.push(pool);
  return pool;
}
export const pool: pg.Pool = newPool();
export const up: boolean = await pool.query('SELECT 1').then(
  () => true,
  (error: unknown) => {
    if (ci) throw error; // under CI an unreachable server fails the run
    return false;
  },
);
export const tables: ReturnType<typeof tableNames> = tableNames();

/** Drop the tables handed out, end every client and pool: call it from `afterAll`. */
export async function closeAll(): Promise<void> {
  await tables.drop((sql) => pool.query(sql));
  for (const client of clients) await client.end();
  for (const p of pools) await p.end();
}

/** A connected single client: what it prepared is visible to it in `pg_prepared_statements`. */
export async function connection(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  clients.push(client);
  return client;
}

/** The previous release's DDL (`ddl/postgres-v1.sql`) for table `name`. */
export function v1Schema(name: string): string {
  const text = readFileSync(new URL('./ddl/postgres-v1.sql', import.meta.url), 'utf8');
  return text.replaceAll('sessionkit_sessions', name);
}

/** Every per-request statement once: create, read, CAS, upsert, touch, lock, unlock, deletes. */
export async function everyRequestStatement(store: SqlSessionStore): Promise<void> {
  const key = storeKey();
  await store.set(key, record(), { ifVersion: 0 });
  await store.get(key);
  await store.set(key, record({ version: 2 }), { ifVersion: 1 });
  await store.set(key, record({ version: 3 }));
  await store.touch(key, Date.now() + 2 * HOUR);
  await store.lock(key, { owner: 'o', ttl: 10_000 });
  await store.unlock(key, { owner: 'o' });
  await store.delete(key, { ifVersion: 3 });
  await store.set(key, record());
  await store.delete(key);
}

/**
 * `writes` updates of one signed-in session — CAS writes, touches and plain upserts in turn, each
 * sliding the expiry within one hourly bucket — then the table's update counters, flushed.
 */
export async function hotUpdates(
  client: pg.Client,
  store: SqlSessionStore,
  table: string,
  writes: number,
): Promise<{ updates: number; hot: number }> {
  const base = (Math.trunc(Date.now() / HOUR) + 2) * HOUR; // a bucket two hours ahead
  const key = storeKey();
  const at = (i: number) => ({ expiresAt: base + 1000 + i * 10, userId: 'user-1' });
  await store.set(key, record({ data: 'v1', ...at(0) }), { ifVersion: 0 });
  let version = 1;
  for (let i = 1; i <= writes; i++) {
    if (i % 3 === 1) {
      const next = record({ data: `v${version + 1}`, version: version + 1, ...at(i) });
      expect(await store.set(key, next, { ifVersion: version })).toBe(true);
      version++;
    } else if (i % 3 === 2) {
      expect(await store.touch(key, at(i).expiresAt)).toBe(true);
    } else {
      await store.set(key, record({ data: `v${version + 1}`, version: version + 1, ...at(i) }));
      version++;
    }
  }
  await expect(store.get(key)).resolves.toMatchObject({ version, userId: 'user-1' });
  // The writes' counters are pending in the writing backend until it flushes them.
  await client.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await pool.query(
    'SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = $1::regclass',
    [`"${table}"`],
  );
  return { updates: Number(rows[0].n_tup_upd), hot: Number(rows[0].n_tup_hot_upd) };
}

/** Column, index and storage facts of a table, as the catalog has them. */
export async function catalog(table: string): Promise<{
  columns: string[];
  indexes: string[];
  options: string[] | null;
  file: number;
}> {
  const columns = await pool.query(
    'SELECT column_name, is_generated, generation_expression FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
    [table],
  );
  const indexes = await pool.query(
    'SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY indexname',
    [table],
  );
  const rel = await pool.query(
    'SELECT reloptions, relfilenode FROM pg_class WHERE oid = $1::regclass',
    [`"${table}"`],
  );
  return {
    columns: columns.rows.map(
      (r) =>
        `${r.column_name}${r.is_generated === 'ALWAYS' ? ` = ${r.generation_expression}` : ''}`,
    ),
    indexes: indexes.rows.map((r) => String(r.indexname).slice(table.length)),
    options: rel.rows[0].reloptions as string[] | null,
    file: Number(rel.rows[0].relfilenode),
  };
}
