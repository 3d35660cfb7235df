/**
 * `sessionkit/stores/postgres` — a session store on PostgreSQL.
 *
 * Bring your own `pg` `Pool` (or `Client`): anything with the shape of {@link PgPoolLike}. Every
 * key, user id, owner and payload travels as a bound parameter; each read is one indexed
 * `SELECT` and each write one statement (compare-and-set by version, create-only via
 * `INSERT … ON CONFLICT … DO UPDATE … WHERE`), so it is atomic across app servers. The shared
 * SQL logic lives in `_sql.ts`; this file is only the dialect. Docs: `docs/stores/postgres.md`.
 */

import { ConfigError } from '../core/errors.js';
import {
  createSqlStore,
  type SqlDialect,
  type SqlNames,
  type SqlParam,
  type SqlSchemaOptions,
  type SqlSessionStore,
  type SqlStoreOptions,
  sqlSchema,
} from './_sql.js';

export type {
  SqlColumns,
  SqlCounts,
  SqlMigration,
  SqlSchemaOptions,
  SqlSessionStore,
  SqlStoreOptions,
} from './_sql.js';

/** The `pg` subset sessionkit uses: `Pool#query` / `Client#query` with text and values. */
export interface PgPoolLike {
  /** Run one parameterized statement (`$1, $2, …`). */
  query(text: string, values: SqlParam[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions extends SqlStoreOptions {
  /** A `pg` `Pool` (recommended) or connected `Client`, on the primary. Never closed by the store. Required. */
  pool: PgPoolLike;
}

const DIALECT: SqlDialect = {
  name: 'postgres',
  factory: 'postgresStore',
  quote: (identifier) => `"${identifier}"`,
  placeholders: (sql) => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  },
  schema: (n: SqlNames) => [
    // bytea, not text: a PostgreSQL text value cannot hold U+0000, and payloads are opaque.
    `CREATE TABLE IF NOT EXISTS ${n.table} (
  ${n.key} varchar(128) COLLATE "C" PRIMARY KEY,
  ${n.data} bytea NOT NULL,
  ${n.version} bigint NOT NULL,
  ${n.expiresAt} bigint NOT NULL,
  ${n.userId} varchar(512) NULL
)`,
    `CREATE INDEX IF NOT EXISTS ${n.expiresIndex} ON ${n.table} (${n.expiresAt})`,
    // Partial: anonymous sessions (user_id NULL) are most rows and never looked up by user.
    `CREATE INDEX IF NOT EXISTS ${n.userIndex} ON ${n.table} (${n.userId}) WHERE ${n.userId} IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${n.locks} (
  "key" varchar(128) COLLATE "C" PRIMARY KEY,
  "owner" text NOT NULL,
  "expires_at" bigint NOT NULL
)`,
  ],
  upsert: (key, columns) =>
    `ON CONFLICT (${key}) DO UPDATE SET ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  conditionalInsert: 'upsert-where',
  tablesQuery:
    'SELECT tablename AS "name" FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename IN (?, ?)',
  // SKIP LOCKED: rows a request is writing right now are left for the next run, never waited on.
  batchDelete: (table, key, where, limit) =>
    `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`,
  notIn: (column, values) => ({ sql: `NOT (${column} = ANY(?))`, params: [values] }),
  encodeData: (data) => Buffer.from(data, 'utf8'),
};

/**
 * The DDL of the store: the sessions table (indexed on `expires_at`, and on `user_id` where set)
 * and the lease-lock table, idempotent (`IF NOT EXISTS`). Print it for a migration tool, or let
 * `store.migrate()` apply it. Throws `ConfigError` (`ERR_SESSION_CONFIG`) for an invalid name.
 */
export function postgresSchema(options: SqlSchemaOptions = {}): string {
  return sqlSchema(DIALECT, options, 'postgresSchema');
}

/**
 * Create a PostgreSQL session store implementing the whole contract (CAS, touch, lease locks,
 * per-user index, prune, ids) plus `migrate()`. Throws `ConfigError` (`ERR_SESSION_CONFIG`)
 * for a missing pool or an invalid option; backend failures reject with `StoreError`
 * (`ERR_SESSION_STORE`, the `pg` error as `cause`). Nothing is sent before the first call.
 */
export function postgresStore(options: PostgresStoreOptions): SqlSessionStore {
  const pool = options?.pool;
  if (typeof pool?.query !== 'function') {
    throw new ConfigError('postgresStore: `pool` must be a pg Pool or connected Client.');
  }
  return createSqlStore(DIALECT, run, options);

  async function run(sql: string, params: readonly SqlParam[]) {
    const result = await pool.query(sql, [...params]);
    return { rows: result.rows, affected: result.rowCount ?? 0 };
  }
}
