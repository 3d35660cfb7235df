/**
 * PostgreSQL specifics of the hot path, measured by the server itself: the per-request
 * statements are named prepared statements (`pg_prepared_statements`) unless `prepare: false`;
 * writes to a session are HOT updates (`pg_stat_user_tables`), because the schema indexes an
 * hourly expiry bucket instead of `expires_at`; prune goes through the bucket index.
 * `postgres-migrate.test.ts` upgrades tables of the previous schema.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import { type PgPoolLike, postgresStore } from '../../src/stores/postgres.js';
import { HOUR, record, storeKey } from './conformance.js';
import {
  catalog,
  closeAll,
  connection,
  everyRequestStatement,
  hotUpdates,
  pool,
  tables,
  up,
  v1Schema,
} from './postgres-fixture.js';
import { thrown } from './sql-extras.js';

afterAll(closeAll);

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
