/**
 * The DDL every SQL store ships, pinned byte for byte in checked-in `.sql` files next to this
 * test (`ddl/`): what `sqliteSchema`, `postgresSchema` and `mysqlSchema` return, and the exact
 * text `sqliteStore` executes at construction. A refactoring of the SQL core must leave every
 * byte of these files as it is; a deliberate schema change updates them in the same commit.
 * `ddl/postgres-v1.sql` and `ddl/sqlite-v1.sql` are frozen: the DDL of the previous release
 * (`expires_at` indexed), from which `postgres-schema.test.ts` and `sqlite-schema.test.ts`
 * migrate.
 */

import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { mysqlSchema } from '../../src/stores/mysql.js';
import { postgresSchema } from '../../src/stores/postgres.js';
import { type SqliteClientLike, sqliteSchema, sqliteStore } from '../../src/stores/sqlite.js';

const CUSTOM = {
  table: 'app_sessions',
  locksTable: 'app_leases',
  columns: { key: 'sid', data: 'payload', version: 'rev', expiresAt: 'expires', userId: 'owner' },
};

const connections: Database.Database[] = [];
afterAll(() => {
  for (const db of connections) db.close();
});

/** The SQL texts `sqliteStore` hands to `exec` while it is constructed. */
function executedBySqliteStore(table?: string, locksTable?: string): string[] {
  const db = new Database(':memory:');
  connections.push(db);
  const executed: string[] = [];
  const client: SqliteClientLike = {
    prepare: (sql) => db.prepare(sql),
    exec: (sql) => {
      executed.push(sql);
      return db.exec(sql);
    },
  };
  sqliteStore({ client, ...(table ? { table } : {}), ...(locksTable ? { locksTable } : {}) });
  return executed;
}

describe('shipped DDL, byte for byte', () => {
  it('sqlite: sqliteSchema() and what sqliteStore executes', async () => {
    await expect(sqliteSchema()).toMatchFileSnapshot('./ddl/sqlite.sql');
    expect(executedBySqliteStore()).toEqual([sqliteSchema()]);
  });

  it('sqlite: custom table names', async () => {
    const ddl = sqliteSchema(CUSTOM.table, CUSTOM.locksTable);
    await expect(ddl).toMatchFileSnapshot('./ddl/sqlite-custom.sql');
    expect(executedBySqliteStore(CUSTOM.table, CUSTOM.locksTable)).toEqual([ddl]);
  });

  it('postgres: default and custom names', async () => {
    await expect(postgresSchema()).toMatchFileSnapshot('./ddl/postgres.sql');
    await expect(postgresSchema(CUSTOM)).toMatchFileSnapshot('./ddl/postgres-custom.sql');
  });

  it('mysql: default and custom names', async () => {
    await expect(mysqlSchema()).toMatchFileSnapshot('./ddl/mysql.sql');
    await expect(mysqlSchema(CUSTOM)).toMatchFileSnapshot('./ddl/mysql-custom.sql');
  });
});
