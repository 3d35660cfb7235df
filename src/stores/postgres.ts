/**
 * `sessionkit/stores/postgres` — a session store on PostgreSQL.
 *
 * Bring your own `pg` `Pool` (or `Client`): anything with the shape of {@link PgPoolLike}. Every
 * key, user id, owner and payload travels as a bound parameter; each read is one indexed
 * `SELECT` and each write one statement (compare-and-set by version, create-only via
 * `INSERT … ON CONFLICT … DO UPDATE … WHERE`), so it is atomic across app servers. The
 * per-request statements are named (prepared once per connection) unless `prepare: false`, and
 * the schema indexes an hourly expiry bucket instead of `expires_at`, so a write that slides the
 * expiry is a HOT update. The shared SQL logic lives in `_sql.ts`; this file is the dialect and
 * the `pg` binding. Docs: `docs/stores/postgres.md`.
 */

import { createHash } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import {
  createSqlStore,
  type SqlDialect,
  type SqlNames,
  type SqlParam,
  type SqlResult,
  type SqlSchemaOptions,
  type SqlSessionStore,
  type SqlStatements,
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

/** A named statement in `pg`'s query-config form: prepared once per connection, then reused. */
export interface PgQueryConfig {
  /** Statement name, unique per text (`sk_<statement>_<hash of the text>`). */
  name: string;
  /** The statement (`$1, $2, …`). */
  text: string;
  /** Its parameters. */
  values: SqlParam[];
}

/**
 * The `pg` subset sessionkit uses: `Pool#query` / `Client#query` with text and values, or (for
 * the named statements, unless `prepare: false`) with a {@link PgQueryConfig}.
 */
export interface PgPoolLike {
  /** Run one parameterized statement (`$1, $2, …`), unnamed (text) or named (config). */
  query(
    textOrConfig: string | PgQueryConfig,
    values?: SqlParam[],
  ): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions extends SqlStoreOptions {
  /** A `pg` `Pool` (recommended) or connected `Client`, on the primary. Never closed by the store. Required. */
  pool: PgPoolLike;
  /**
   * Send the per-request statements (get, the writes, touch, delete, lock, unlock) as named
   * prepared statements: parsed and planned once per connection instead of on every call. Turn
   * it off behind a pooler in transaction or statement mode (PgBouncer before 1.21 or without
   * `max_prepared_statements`), where a statement prepared on one server connection is missing
   * on the next; the URL form is `?prepare=false`.
   * @default true
   */
  prepare?: boolean | undefined;
}

/** Width of an expiry bucket: one hour, in ms. A session's bucket changes at most hourly. */
const BUCKET_MS = 3_600_000;
/** Free space left in each heap page at insert, for the HOT versions of its rows. */
const FILLFACTOR = 80;
/** Serializes concurrent `migrate()` runs (any table): `pg_advisory_xact_lock` key, 'skmg'. */
const MIGRATE_LOCK = 0x736b6d67;
/** The statements every request runs: sent named (prepared) unless `prepare: false`. */
const NAMED: readonly (keyof SqlStatements)[] = [
  'get',
  'upsert',
  'create',
  'replace',
  'touch',
  'delete',
  'deleteIf',
  'lock',
  'unlock',
];

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
    // The bucket, not expires_at, is indexed: a write moving the expiry within the hour changes
    // no indexed column, so PostgreSQL updates the row in place (HOT, no index writes).
    `CREATE TABLE IF NOT EXISTS ${n.table} (
  ${n.key} varchar(128) COLLATE "C" PRIMARY KEY,
  ${n.data} bytea NOT NULL,
  ${n.version} bigint NOT NULL,
  ${n.expiresAt} bigint NOT NULL,
  ${n.userId} varchar(512) NULL,
  ${bucketColumn(n)}
) WITH (fillfactor = ${FILLFACTOR})`,
    // A table of an earlier release (expires_at indexed): add the bucket column (rewrites the
    // table once), only when it is missing, so a current table is not even locked.
    `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = '${n.table}'::regclass AND attname = '${unquote(n.expiresBucket)}' AND NOT attisdropped) THEN
    ALTER TABLE ${n.table} SET (fillfactor = ${FILLFACTOR});
    ALTER TABLE ${n.table} ADD COLUMN IF NOT EXISTS ${bucketColumn(n)};
  END IF;
END $$`,
    `CREATE INDEX IF NOT EXISTS ${n.bucketIndex} ON ${n.table} (${n.expiresBucket})`,
    `DROP INDEX IF EXISTS ${n.expiresIndex}`,
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
  expiryBucket: BUCKET_MS,
  // One simple-protocol query, so one transaction on one connection: concurrent migrations
  // queue on the advisory lock instead of racing on CREATE … IF NOT EXISTS.
  migration: (ddl) => [`SELECT pg_advisory_xact_lock(${MIGRATE_LOCK});\n${ddl.join(';\n')}`],
};

/** The generated expiry-bucket column's definition. */
function bucketColumn(n: SqlNames): string {
  return `${n.expiresBucket} bigint GENERATED ALWAYS AS (${n.expiresAt} / ${BUCKET_MS}) STORED`;
}

/** A name quoted by this dialect, bare again (for a catalog lookup); validated, so no quote. */
function unquote(quoted: string | undefined): string {
  return String(quoted).slice(1, -1);
}

/**
 * The DDL of the store: the sessions table (indexed on its hourly expiry bucket, and on `user_id`
 * where set) and the lease-lock table, idempotent (`IF NOT EXISTS`), upgrading a table of an
 * earlier release in place. Print it for a migration tool, or let `store.migrate()` apply it.
 * Throws `ConfigError` (`ERR_SESSION_CONFIG`) for an invalid name.
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
  const prepare = options.prepare ?? true;
  if (typeof prepare !== 'boolean') {
    throw new ConfigError('postgresStore: `prepare` must be a boolean.');
  }
  /** Statement text → its name, for the statements sent named. */
  const names = new Map<string, string>();
  return createSqlStore(DIALECT, prepare ? { query, prepare: named } : { query }, options);

  function named(statements: SqlStatements): void {
    for (const statement of NAMED) {
      const text = statements[statement];
      // The hash tells apart stores on other tables or columns sharing a connection.
      const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
      names.set(text, `sk_${statement.toLowerCase()}_${hash}`);
    }
  }

  function query(text: string, params: readonly SqlParam[]) {
    const values = params as SqlParam[];
    const name = names.get(text);
    const sent = name === undefined ? pool.query(text, values) : pool.query({ name, text, values });
    return sent.then(toResult);
  }
}

/** A `pg` result as the SQL core's. */
function toResult(result: { rows: unknown[]; rowCount: number | null }): SqlResult {
  return { rows: result.rows, affected: result.rowCount ?? 0 };
}
