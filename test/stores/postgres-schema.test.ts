/**
 * PostgreSQL specifics of the hot path, measured by the server itself: the per-request
 * statements are named prepared statements (`pg_prepared_statements`) unless `prepare: false`;
 * writes to a session are HOT updates (`pg_stat_user_tables`), because the schema indexes an
 * hourly expiry bucket instead of `expires_at`; and `migrate()` upgrades a table of the previous
 * schema (`ddl/postgres-v1.sql`) in place — sessions kept, idempotent, two migrations at once.
 */

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import type { SqlSessionStore } from '../../src/stores/_sql.js';
import { type PgPoolLike, postgresStore } from '../../src/stores/postgres.js';
import { POSTGRES_URL } from '../support/backends.js';
import { HOUR, record, storeKey } from './conformance.js';
import { tableNames, thrown } from './sql-extras.js';

const ci = process.env.CI === 'true';
const clients: pg.Client[] = [];
const pools: pg.Pool[] = [];
function newPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {});
  pools.push(pool);
  return pool;
}
const pool = newPool();
const up = await pool.query('SELECT 1').then(
  () => true,
  (error: unknown) => {
    if (ci) throw error; // under CI an unreachable server fails the run
    return false;
  },
);
const tables = tableNames();

afterAll(async () => {
  await tables.drop((sql) => pool.query(sql));
  for (const client of clients) await client.end();
  for (const p of pools) await p.end();
});

/** A connected single client: what it prepared is visible to it in `pg_prepared_statements`. */
async function connection(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  clients.push(client);
  return client;
}

/** The previous release's DDL (`ddl/postgres-v1.sql`) for table `name`. */
function v1Schema(name: string): string {
  const text = readFileSync(new URL('./ddl/postgres-v1.sql', import.meta.url), 'utf8');
  return text.replaceAll('sessionkit_sessions', name);
}

/** Every per-request statement once: create, read, CAS, upsert, touch, lock, unlock, deletes. */
async function everyRequestStatement(store: SqlSessionStore): Promise<void> {
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
async function hotUpdates(
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
async function catalog(table: string) {
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

describe.skipIf(!up)('postgres: prepared statements, HOT updates, migration', () => {
  it('sends every per-request statement named, prepared once per connection and reused', async () => {
    const client = await connection();
    const table = tables.name();
    const store = postgresStore({ pool: client, table });
    await store.migrate();
    await everyRequestStatement(store);
    const prepared = async () =>
      (await client.query('SELECT name, statement FROM pg_prepared_statements ORDER BY name'))
        .rows as { name: string; statement: string }[];
    const first = await prepared();
    expect(first.map((r) => r.name.replace(/_[0-9a-f]{16}$/, '')).sort()).toEqual(
      ['create', 'delete', 'deleteif', 'get', 'lock', 'replace', 'touch', 'unlock', 'upsert']
        .map((s) => `sk_${s}`)
        .sort(),
    );
    for (const { statement } of first) expect(statement).toContain(`"${table}`);
    // The same calls again: no new statement is prepared.
    await everyRequestStatement(store);
    expect(await prepared()).toEqual(first);
    // A store on another table shares the connection under names of its own.
    const other = postgresStore({ pool: client, table: tables.name() });
    await other.migrate();
    await everyRequestStatement(other);
    expect((await prepared()).length).toBe(2 * first.length);
  });

  it('prepare: false sends every statement unnamed (for transaction-mode poolers)', async () => {
    const client = await connection();
    const sent: unknown[] = [];
    const counting: PgPoolLike = {
      query: (text, values) => {
        sent.push(text);
        return client.query(text, values);
      },
    };
    const store = postgresStore({ pool: counting, table: tables.name(), prepare: false });
    await store.migrate();
    await everyRequestStatement(store);
    expect(sent.length).toBeGreaterThan(10);
    expect(sent.filter((text) => typeof text !== 'string')).toEqual([]);
    const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_prepared_statements');
    expect(rows[0].n).toBe(0);
    const error = thrown(() => postgresStore({ pool, prepare: 'no' as never }));
    expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
    expect((error as Error).message).toContain('`prepare`');
  });

  it('updates a session in place: HOT updates on the current schema, none on the previous', async () => {
    const writes = 48; // each row version fits the row's page even if no page pruning happens
    const client = await connection();
    const current = tables.name();
    const store = postgresStore({ pool: client, table: current });
    await store.migrate();
    const now = await hotUpdates(client, store, current, writes);
    expect(now.updates).toBe(writes);
    expect(now.hot / now.updates).toBeGreaterThanOrEqual(0.9);
    // The previous schema indexed expires_at, which every one of these writes changes.
    const previous = tables.name();
    await pool.query(v1Schema(previous));
    const old = await hotUpdates(
      client,
      postgresStore({ pool: client, table: previous }),
      previous,
      writes,
    );
    expect(old).toEqual({ updates: writes, hot: 0 });
  });

  it('prunes through the bucket index, then by exact expiry', async () => {
    const texts: string[] = [];
    const recording: PgPoolLike = {
      query: (text, values) => {
        texts.push(typeof text === 'string' ? text : text.text);
        return pool.query(text, values);
      },
    };
    let clock = Date.now();
    const table = tables.name();
    const store = postgresStore({ pool: recording, table, now: () => clock });
    await store.migrate();
    const [a, b] = [storeKey(), storeKey()];
    await store.set(a, record({ expiresAt: clock + 1000 }));
    await store.set(b, record({ expiresAt: clock + 2000 })); // same hour bucket, or the next
    clock += 1500;
    await expect(store.prune()).resolves.toBe(1);
    await expect(store.get(b)).resolves.toBeDefined();
    const prune = texts.find((sql) => sql.startsWith(`DELETE FROM "${table}" WHERE "key" IN`));
    expect(prune).toContain('"expires_at_bucket" <= $1 AND "expires_at" <= $2');
    const client = await connection();
    await client.query('SET enable_seqscan = off'); // tiny table: force the planner's hand
    const plan = await client.query(`EXPLAIN ${prune}`, [Math.trunc(clock / HOUR), clock]);
    expect(JSON.stringify(plan.rows)).toMatch(
      new RegExp(`Index Scan (using|on) ${table}_bucket_idx`),
    );
  });

  it('names the bucket column after expiresAt, and refuses a column that takes its name', async () => {
    const table = tables.name();
    const columns = { key: 'sid', data: 'payload', version: 'rev', expiresAt: 'Expires' };
    const store = postgresStore({ pool, table, columns });
    await store.migrate();
    const key = storeKey();
    await store.set(key, record({ data: 'custom' }));
    await expect(store.get(key)).resolves.toMatchObject({ data: 'custom' });
    expect((await catalog(table)).columns).toContain('Expires_bucket = ("Expires" / 3600000)');
    const taken = thrown(() =>
      postgresStore({ pool, columns: { expiresAt: 'exp', userId: 'EXP_bucket' } }),
    );
    expect(isSessionError(taken, 'ERR_SESSION_CONFIG')).toBe(true);
    expect((taken as Error).message).toContain('`exp_bucket`');
  });
});

describe.skipIf(!up)('postgres: migrate() upgrades a table of the previous schema', () => {
  it('in place, keeping every session, idempotently, with two migrations at once', async () => {
    const table = tables.name();
    await pool.query(v1Schema(table));
    // Sessions written by a store before the upgrade (its statements need no bucket column).
    const before = postgresStore({ pool, table });
    const [anon, signed] = [storeKey(), storeKey()];
    await before.set(anon, record({ data: 'anonymous' }));
    await before.set(signed, record({ data: 'signed in', userId: 'u1' }));
    await pool.query(
      `INSERT INTO "${table}" ("key", "data", "version", "expires_at") SELECT 'k' || i, '\\x7b7d', 1, $1::bigint + i FROM generate_series(1, 500) AS i`,
      [Date.now() + HOUR],
    );
    await pool.query(
      `INSERT INTO "${table}" ("key", "data", "version", "expires_at") VALUES ('old', '\\x7b7d', 1, $1)`,
      [Date.now() - HOUR],
    );
    expect((await catalog(table)).indexes).toContain('_expires_at_idx');

    // Two app servers migrate at once, each on its own pool.
    const other = postgresStore({ pool: newPool(), table });
    const reports = await Promise.all([before.migrate(), other.migrate()]);
    for (const report of reports) {
      expect(report).toEqual({ created: [], existing: [table, `${table}_locks`] });
    }
    const upgraded = await catalog(table);
    expect(upgraded.columns).toEqual([
      'key',
      'data',
      'version',
      'expires_at',
      'user_id',
      'expires_at_bucket = (expires_at / 3600000)',
    ]);
    expect(upgraded.indexes).toEqual(['_bucket_idx', '_pkey', '_user_id_idx']);
    expect(upgraded.options).toEqual(['fillfactor=80']);

    // Every session is still there, with its bucket; the per-user index and prune work.
    await expect(other.get(anon)).resolves.toMatchObject({ data: 'anonymous' });
    await expect(other.listByUser('u1')).resolves.toMatchObject([{ key: signed }]);
    await expect(other.counts()).resolves.toMatchObject({ live: 502, expired: 1 });
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM "${table}" WHERE expires_at_bucket IS DISTINCT FROM expires_at / 3600000`,
    );
    expect(rows[0].n).toBe(0);
    await expect(other.prune()).resolves.toBe(1);

    // Again: nothing changes, and the table is not rewritten.
    await other.migrate();
    expect(await catalog(table)).toEqual(upgraded);

    // Writes to the upgraded table are HOT.
    const client = await connection();
    const writes = 48;
    const hot = await hotUpdates(client, postgresStore({ pool: client, table }), table, writes);
    expect(hot.hot / writes).toBeGreaterThanOrEqual(0.9);
  });

  it('two migrations of a new table at once both succeed', async () => {
    const table = tables.name();
    const stores = [pool, newPool(), newPool()].map((p) => postgresStore({ pool: p, table }));
    await Promise.all(stores.map((store) => store.migrate()));
    const key = storeKey();
    await stores[0]!.set(key, record({ data: 'x' }), { ifVersion: 0 });
    await expect(stores[2]!.get(key)).resolves.toMatchObject({ data: 'x' });
    const lazy = [pool, newPool()].map((p) =>
      postgresStore({ pool: p, table: tables.name(), createTable: true }),
    );
    await Promise.all(lazy.map((store) => store.get(storeKey())));
  });
});
