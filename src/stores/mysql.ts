/**
 * `sessionkit/stores/mysql` — a session store on MySQL 8 and MariaDB (tested on MariaDB 10.11).
 *
 * Bring your own `mysql2/promise` `Pool` (or `Connection`): anything with the shape of
 * {@link MysqlPoolLike}. Statements run through `execute` (server-side prepared statements);
 * every key, user id, owner and payload is a bound parameter. Keys use a binary collation, so
 * keys differing only in case stay distinct; payloads are `utf8mb4`. The shared SQL logic lives
 * in `_sql.ts`; this file is only the dialect. Docs: `docs/stores/mysql.md`.
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

/** MySQL's duplicate-key error number (`ER_DUP_ENTRY`). */
const ER_DUP_ENTRY = 1062;
/** InnoDB chose the statement as a deadlock victim and rolled it back (`ER_LOCK_DEADLOCK`). */
const ER_LOCK_DEADLOCK = 1213;
/** A concurrent migration got there first: duplicate column, duplicate key name, no such key. */
const ALREADY_DONE = new Set([1060, 1061, 1091]);
/** Width of an expiry bucket: one hour, in ms. */
const BUCKET_MS = 3_600_000;

/** A value bound to a MySQL statement parameter. */
export type MysqlParam = string | number | null;

/** The `mysql2/promise` subset sessionkit uses (`Pool`, `PoolConnection`, `Connection`). */
export interface MysqlPoolLike {
  /** Run one prepared statement; resolves `[rows | ResultSetHeader, fields]`. */
  execute(sql: string, values: MysqlParam[]): Promise<[unknown, unknown]>;
  /** Run SQL text without parameters (used only for the shipped DDL). */
  query(sql: string): Promise<[unknown, unknown]>;
}

/** Options of {@link mysqlStore}. */
export interface MysqlStoreOptions extends SqlStoreOptions {
  /** A `mysql2/promise` pool (recommended) or connection, `utf8mb4`, on the primary. Never closed by the store. Required. */
  pool: MysqlPoolLike;
}

const DIALECT: SqlDialect = {
  name: 'mysql',
  factory: 'mysqlStore',
  quote: (identifier) => `\`${identifier}\``,
  placeholders: (sql) => sql,
  // Indexes inline: MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB does).
  // user_id and owner are VARBINARY: compared byte for byte, no case folding, no PAD SPACE.
  schema: (n: SqlNames) => [
    `CREATE TABLE IF NOT EXISTS ${n.table} (
  ${n.key} VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  ${n.data} MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  ${n.version} BIGINT NOT NULL,
  ${n.expiresAt} BIGINT NOT NULL,
  ${n.userId} VARBINARY(2048) NULL,
  ${bucketColumn(n)},
  PRIMARY KEY (${n.key}),
  INDEX ${n.bucketIndex} (${n.expiresBucket}),
  INDEX ${n.userIndex} (${n.userId})
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE IF NOT EXISTS ${n.locks} (
  \`key\` VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  \`owner\` VARBINARY(255) NOT NULL,
  \`expires_at\` BIGINT NOT NULL,
  PRIMARY KEY (\`key\`),
  INDEX ${n.locksExpiresIndex} (\`expires_at\`)
) ENGINE=InnoDB`,
  ],
  upsert: (_key, columns) =>
    `ON DUPLICATE KEY UPDATE ${columns.map((c) => `${c} = VALUES(${c})`).join(', ')}`,
  // mysql2 sets CLIENT_FOUND_ROWS, under which an upsert that changes nothing counts as 1 row,
  // like an insert: create-only writes and lock takeovers are a guarded UPDATE instead.
  conditionalInsert: 'insert-then-update',
  isDuplicateKey: (error) => (error as { errno?: unknown } | null)?.errno === ER_DUP_ENTRY,
  // Contended INSERT/UPDATE/DELETE on one lock row can deadlock; each is one autocommit statement.
  isTransient: (error) => (error as { errno?: unknown } | null)?.errno === ER_LOCK_DEADLOCK,
  tablesQuery:
    'SELECT table_name AS `name` FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?, ?)',
  // MySQL's single-table DELETE takes a LIMIT (and cannot name its own table in a subquery).
  batchDelete: (table, _key, where, limit) => `DELETE FROM ${table} WHERE ${where} LIMIT ${limit}`,
  notIn: (column, values) => ({
    sql: `${column} NOT IN (${values.map(() => '?').join(', ')})`,
    params: [...values],
  }),
  // InnoDB rewrites a secondary index entry only when its value changes: the hour of the expiry
  // changes at most hourly, expires_at on nearly every write.
  expiryBucket: BUCKET_MS,
  upgrade,
};

/** The expiry-bucket column: virtual (computed on read, nothing to rewrite when added). */
function bucketColumn(n: SqlNames): string {
  return `${n.expiresBucket} BIGINT AS (${n.expiresAt} DIV ${BUCKET_MS}) VIRTUAL`;
}

/**
 * A table of an earlier release (`expires_at` indexed): add the bucket column and its index,
 * then drop the `expires_at` index — each only if missing or present, and a concurrent
 * migration that did it first is not an error. MySQL has no `ADD COLUMN IF NOT EXISTS`.
 */
async function upgrade(
  query: (sql: string, params: SqlParam[]) => Promise<unknown> | unknown,
  n: SqlNames,
): Promise<void> {
  const [table] = n.tableNames;
  const bare = (quoted: string | undefined) => String(quoted).slice(1, -1);
  const exists = async (sql: string, name: string) =>
    ((await query(sql, [table, name])) as { rows: unknown[] }).rows.length > 0;
  const where = 'WHERE table_schema = DATABASE() AND table_name = ?';
  const alter = async (change: string) => {
    try {
      await query(`ALTER TABLE ${n.table} ${change}`, []);
    } catch (error) {
      if (!ALREADY_DONE.has((error as { errno?: unknown } | null)?.errno as number)) throw error;
    }
  };
  const column = `SELECT 1 FROM information_schema.columns ${where} AND column_name = ?`;
  if (!(await exists(column, bare(n.expiresBucket)))) {
    await alter(`ADD COLUMN ${bucketColumn(n)}, ADD INDEX ${n.bucketIndex} (${n.expiresBucket})`);
  }
  const index = `SELECT 1 FROM information_schema.statistics ${where} AND index_name = ?`;
  if (await exists(index, bare(n.expiresIndex))) await alter(`DROP INDEX ${n.expiresIndex}`);
}

/**
 * The DDL of the store: the sessions table (indexes on the hour of `expires_at` and on
 * `user_id`) and the lease-lock table, idempotent (`IF NOT EXISTS`). Print it for a migration
 * tool, or let `store.migrate()` apply it (which also upgrades a table of an earlier release).
 * Throws `ConfigError` (`ERR_SESSION_CONFIG`) for an invalid name.
 */
export function mysqlSchema(options: SqlSchemaOptions = {}): string {
  return sqlSchema(DIALECT, options, 'mysqlSchema');
}

/**
 * Create a MySQL/MariaDB session store implementing the whole contract (CAS, touch, lease
 * locks, per-user index, prune, ids) plus `migrate()`. Throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) for a missing pool or an invalid option; backend failures reject with
 * `StoreError` (`ERR_SESSION_STORE`, the mysql2 error as `cause`).
 */
export function mysqlStore(options: MysqlStoreOptions): SqlSessionStore {
  const pool = options?.pool;
  if (typeof pool?.execute !== 'function' || typeof pool.query !== 'function') {
    throw new ConfigError('mysqlStore: `pool` must be a mysql2/promise Pool or Connection.');
  }
  return createSqlStore(DIALECT, run, options);

  async function run(sql: string, params: readonly SqlParam[]) {
    const [result] =
      params.length === 0 ? await pool.query(sql) : await pool.execute(sql, params as MysqlParam[]);
    if (Array.isArray(result)) return { rows: result, affected: 0 };
    const header = (result ?? {}) as { affectedRows?: unknown; info?: unknown };
    // Matched, not changed, rows, whatever the client flags: a touch to the same expiry counts.
    const matched = /Rows matched:\s*(\d+)/i.exec(String(header.info ?? ''));
    return { rows: [], affected: Number(matched?.[1] ?? header.affectedRows ?? 0) };
  }
}
