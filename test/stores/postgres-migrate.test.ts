/**
 * `migrate()` and `sessionkit migrate` upgrade a PostgreSQL table of the previous schema
 * (`ddl/postgres-v1.sql`, `expires_at` indexed) in place: every session kept, idempotently, with
 * several app servers migrating at once; connections that prepared statements before the upgrade
 * keep working; writes are HOT afterwards.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { postgresStore } from '../../src/stores/postgres.js';
import { POSTGRES_URL } from '../support/backends.js';
import { HOUR, record, storeKey } from './conformance.js';
import {
  catalog,
  closeAll,
  connection,
  hotUpdates,
  newPool,
  pool,
  tables,
  up,
  v1Schema,
} from './postgres-fixture.js';

afterAll(closeAll);

describe.skipIf(!up)('postgres: migrate() upgrades a table of the previous schema', () => {
  it('in place, keeping every session, idempotently, with two migrations at once', async () => {
    const table = tables.name();
    await pool.query(v1Schema(table));
    // Sessions written by a store before the upgrade (its statements need no bucket column),
    // one on a single connection that keeps its prepared statements across the upgrade.
    const before = postgresStore({ pool, table });
    const kept = postgresStore({ pool: await connection(), table });
    const early = storeKey();
    await kept.set(early, record({ data: 'early' }), { ifVersion: 0 });
    await expect(kept.get(early)).resolves.toMatchObject({ version: 1 });
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
    await expect(other.counts()).resolves.toMatchObject({ live: 503, expired: 1 });
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM "${table}" WHERE expires_at_bucket IS DISTINCT FROM expires_at / 3600000`,
    );
    expect(rows[0].n).toBe(0);
    await expect(other.prune()).resolves.toBe(1);

    // Statements prepared before the upgrade still read and write.
    await expect(kept.get(early)).resolves.toMatchObject({ data: 'early' });
    await expect(kept.set(early, record({ version: 2 }), { ifVersion: 1 })).resolves.toBe(true);
    await expect(kept.touch(early, Date.now() + 2 * HOUR)).resolves.toBe(true);

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

  it('sessionkit migrate upgrades it too; prune and stats work after (?prepare=false)', async () => {
    const table = tables.name();
    await pool.query(v1Schema(table));
    const at = Date.now();
    await pool.query(
      `INSERT INTO "${table}" ("key", "data", "version", "expires_at", "user_id") VALUES ('live-session-key-0001', '\\x7b7d', 1, $1, 'u1'), ('old-session-key-00001', '\\x7b7d', 1, $2, NULL)`,
      [at + HOUR, at - HOUR],
    );
    const url = `${POSTGRES_URL}?table=${table}&prepare=false`;
    const cli = async (...argv: string[]) => {
      let stdout = '';
      const code = await main([...argv, '--store', url], {
        out: (text) => {
          stdout += `${text}\n`;
        },
        err: (text) => {
          stdout += `error: ${text}\n`;
        },
      });
      return { code, stdout };
    };
    const migrated = await cli('migrate');
    expect(migrated).toEqual({
      code: 0,
      stdout: expect.stringContaining(`up to date (tables ${table}, ${table}_locks exist)`),
    });
    expect((await catalog(table)).indexes).toEqual(['_bucket_idx', '_pkey', '_user_id_idx']);
    const pruned = await cli('prune');
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/^Removed 1 expired session /);
    const stats = await cli('stats', '--json');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ sessions: 1, signedIn: 1, users: 1 });
  });
});
