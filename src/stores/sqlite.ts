/**
 * `sessionkit/stores/sqlite` — a session store on SQLite, through any client with the small
 * synchronous shape of {@link SqliteClientLike} (better-sqlite3, or `node:sqlite`'s `DatabaseSync`
 * on Node ≥ 22.13). Statements are prepared once at construction; keys, user ids, owners and
 * payloads are bound parameters; each compare-and-set is one statement, atomic across connections
 * and processes sharing the file. The shared SQL logic lives in `_sql.ts` (the synchronous
 * binding in `_sql-sync.ts`); this file is only the dialect. Docs: `docs/stores/sqlite.md`.
 */

import { ConfigError } from '../core/errors.js';
import {
  createSqlStore,
  type SqlColumns,
  type SqlDialect,
  type SqlNames,
  type SqlSessionStore,
  sqlSchema,
} from './_sql.js';
import { type SyncSqlClient, type SyncSqlStatement, syncSqlBinding } from './_sql-sync.js';

export type { SqlCounts, SqlMigration, SqlSessionStore } from './_sql.js';

/** A value bound to a statement parameter. */
export type SqliteParam = string | number | null;

/** The prepared-statement subset sessionkit uses (better-sqlite3 `Statement`, `StatementSync`). */
export interface SqliteStatementLike extends SyncSqlStatement {
  /** First result row, or `undefined`. */
  get(...params: SqliteParam[]): unknown;
}

/** The connection subset sessionkit uses (better-sqlite3 `Database`, `node:sqlite` `DatabaseSync`). */
export interface SqliteClientLike extends SyncSqlClient {
  /** Compile one SQL statement. */
  prepare(sql: string): SqliteStatementLike;
}

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** An open connection. The store never closes it. Required. */
  client: SqliteClientLike;
  /** Sessions table; must match `/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`. @default 'sessionkit_sessions' */
  table?: string | undefined;
  /** Lease-lock table; same pattern as `table`, and a different name. @default `${table}_locks` */
  locksTable?: string | undefined;
  /** Custom column names for the sessions table (not SQL keywords). @default the names in `SqlColumns` */
  columns?: SqlColumns | undefined;
  /** Run {@link sqliteSchema} (`CREATE … IF NOT EXISTS`) at construction. @default true */
  createTable?: boolean | undefined;
  /** Clock in milliseconds since the epoch, for expiry and lock leases. @default Date.now */
  now?: (() => number) | undefined;
}

const DIALECT: SqlDialect = {
  name: 'sqlite',
  factory: 'sqliteStore',
  // Bare names, as the shipped DDL has always been written: every name is validated to
  // [A-Za-z_][A-Za-z0-9_]*, and a keyword used as a name fails when the statements are prepared.
  quote: (identifier) => identifier,
  placeholders: (sql) => sql,
  schema: (n) => [
    `CREATE TABLE IF NOT EXISTS ${n.table} (
  ${n.key} TEXT PRIMARY KEY,
  ${n.data} TEXT NOT NULL,
  ${n.version} INTEGER NOT NULL,
  ${n.expiresAt} INTEGER NOT NULL,
  ${n.userId} TEXT NULL
)`,
    // Indexed: the expiry's hour, not the expiry, whose every move would relocate the entry to
    // another page; and user_id only where set (anonymous writes skip that index). A database
    // of an earlier release gets the new indexes and loses the old ones here.
    `CREATE INDEX IF NOT EXISTS ${n.bucketIndex} ON ${n.table} (${n.expiresBucket})`,
    `DROP INDEX IF EXISTS ${n.expiresIndex}`,
    `CREATE INDEX IF NOT EXISTS ${partialUserIndex(n)} ON ${n.table} (${n.userId}) WHERE ${n.userId} IS NOT NULL`,
    `DROP INDEX IF EXISTS ${n.userIndex}`,
    `CREATE TABLE IF NOT EXISTS ${n.locks} (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
)`,
  ],
  schemaSeparator: '\n',
  maxTableLength: 63,
  upsert: (key, columns) =>
    `ON CONFLICT(${key}) DO UPDATE SET ${columns.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  conditionalInsert: 'upsert-where',
  tablesQuery: "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
  singleWriter: true,
  // As bytes: node:sqlite on Node 22 cuts a TEXT value at its first U+0000 when reading it.
  readData: (column) => `CAST(${column} AS BLOB)`,
  // One JSON array parameter expanded by json_each: one statement text (prepared once) for any count.
  notIn: (column, values) => ({
    sql: `${column} NOT IN (SELECT value FROM json_each(?))`,
    params: [JSON.stringify(values)],
  }),
  expiryBucket: 3_600_000,
  // An expression index: SQLite cannot add a stored generated column to an existing table.
  bucketExpression: (expiresAt, width) => `(${expiresAt} / ${width})`,
};

/** The partial per-user index, named apart from the full one of earlier releases it replaces. */
function partialUserIndex(n: SqlNames): string {
  return `${n.tableNames[0]}_user_idx`;
}

/**
 * The DDL of the store: the sessions table (indexed on `expires_at` and `user_id`) and the
 * lease-lock table. Idempotent (`IF NOT EXISTS`). Takes the table names, or an object with
 * `table`, `locksTable` and `columns`. Throws `ConfigError` (`ERR_SESSION_CONFIG`) for a name
 * outside `/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`.
 */
export function sqliteSchema(
  table?: string | Pick<SqliteStoreOptions, 'table' | 'locksTable' | 'columns'>,
  locksTable?: string,
): string {
  const names = typeof table === 'object' && table !== null ? table : { table, locksTable };
  return sqlSchema(DIALECT, names, 'sqliteSchema');
}

/**
 * Create a SQLite session store. Throws `ConfigError` (`ERR_SESSION_CONFIG`) for a missing client
 * or an invalid option, and `StoreError` (`ERR_SESSION_STORE`) when creating the tables or
 * preparing the statements fails. Implements the full contract, including `lock`, `prune`,
 * `ids`, `listByUser` and `deleteByUser`, plus `schema` and `migrate()`; every method returns a
 * promise and never throws synchronously.
 */
export function sqliteStore(options: SqliteStoreOptions): SqlSessionStore {
  const client = options?.client;
  if (typeof client?.prepare !== 'function' || typeof client.exec !== 'function') {
    throw new ConfigError(
      'sqliteStore: `client` must be an open SQLite connection (better-sqlite3 or node:sqlite).',
    );
  }
  // The embedded default: ready at once. Only a missing value takes it: `null` or another
  // non-boolean reaches the core's check and is refused, as by the PostgreSQL and MySQL stores.
  const createTable = options.createTable === undefined ? true : options.createTable;
  return createSqlStore(DIALECT, syncSqlBinding(client), { ...options, createTable });
}
