/**
 * Private module (never in the exports map): the dialect contract of the SQL session stores and
 * the SQL text built from it (the DDL text, every statement). Table and column names are
 * validated in `_sql-names.ts`; how result rows read back as records is `_sql-rows.ts`.
 *
 * `_sql.ts` runs these statements; a store file (`postgres.ts`, `mysql.ts`, `sqlite.ts`) supplies
 * only a {@link SqlDialect}. Statements are written with `?` placeholders and rewritten once by
 * the dialect (`$1, $2, …` for PostgreSQL). Only identifiers validated there are ever
 * interpolated into SQL; keys, user ids, lock owners, payloads and numbers always travel as
 * bound parameters.
 */

import { type SqlNames, type SqlSchemaOptions, sqlNames } from './_sql-names.js';

export type { SqlColumns, SqlNames, SqlSchemaOptions } from './_sql-names.js';
export { sqlNames } from './_sql-names.js';

/** Keys fetched per query while streaming `ids()`. */
export const IDS_PAGE = 500;
/** Rows one prune statement deletes unless the caller says otherwise. */
export const PRUNE_BATCH = 1_000;

/** A value bound to a statement parameter (`readonly string[]` only where the dialect asks for it). */
export type SqlParam = string | number | null | Uint8Array | readonly string[];

/** What distinguishes one SQL database from another. Everything else is shared. */
export interface SqlDialect {
  /** Store name for errors and events (`'postgres'`). */
  name: string;
  /** Factory name, used to prefix configuration errors (`'postgresStore'`). */
  factory: string;
  /** Quote an identifier already validated against the identifier patterns. */
  quote(identifier: string): string;
  /** Rewrite the builder's `?` placeholders (identity for `?` dialects). */
  placeholders(sql: string): string;
  /** The DDL statements (each without a trailing `;`). */
  schema(names: SqlNames): string[];
  /** What separates two DDL statements in the schema text, after the `;`. @default '\n\n' */
  schemaSeparator?: string;
  /** Longest accepted table name, in characters. @default 48 */
  maxTableLength?: number;
  /** Tail of an unconditional upsert that copies `columns` from the row being inserted. */
  upsert(key: string, columns: readonly string[]): string;
  /**
   * How create-only writes and lock acquisitions are made atomic:
   * - `'upsert-where'`: one `INSERT … ON CONFLICT … DO UPDATE … WHERE <takeover allowed>`, whose
   *   affected-row count is 0 or 1 (PostgreSQL, SQLite);
   * - `'insert-then-update'`: a plain `INSERT`, and only on a duplicate-key error a guarded
   *   `UPDATE` (MySQL, whose upsert row count cannot tell an insert from an unchanged row
   *   under `CLIENT_FOUND_ROWS`). A fresh key costs one statement either way.
   */
  conditionalInsert: 'upsert-where' | 'insert-then-update';
  /** `true` for a duplicate-key error (needed by `'insert-then-update'`). */
  isDuplicateKey?(error: unknown): boolean;
  /**
   * `true` for an error after which the database rolled the whole (autocommit) statement back
   * and it is safe to run again, e.g. InnoDB picking the statement as a deadlock victim.
   */
  isTransient?(error: unknown): boolean;
  /**
   * A `column NOT IN (…)` condition over `values`, with its parameters. A dialect whose binding
   * caches prepared statements returns the same text for any number of values.
   */
  notIn(column: string, values: readonly string[]): { sql: string; params: SqlParam[] };
  /**
   * A `SELECT` of column `name` listing which of two tables (`?`, `?`) exist in the current
   * schema / database, for `migrate()`'s report.
   */
  tablesQuery: string;
  /**
   * A `DELETE` of at most `limit` rows of `table` matching `where` (`?` placeholders), each one
   * statement holding its locks only for its own rows. @default a `key IN (SELECT … LIMIT n)`
   */
  batchDelete?(table: string, key: string, where: string, limit: number): string;
  /**
   * The database has a single write lock (SQLite): between two prune batches, prune rests as
   * long as the batch took, so writers waiting on the lock (in this or another process) get in.
   * @default false
   */
  singleWriter?: boolean;
  /** The parameter written to the data column. @default the string itself */
  encodeData?(data: string): SqlParam;
  /** The expression that reads the data column back (text or bytes). @default the column */
  readData?(column: string): string;
  /**
   * Width in ms of the expiry buckets: the schema indexes `expires_at / expiryBucket` (derived by
   * the database), not `expires_at` itself, so a write that moves the expiry within its bucket
   * leaves the index entry where it is (PostgreSQL: changes no indexed column, a HOT update).
   * Prune and the expired counts filter by bucket, then by exact expiry.
   * @default none: `expires_at` is indexed
   */
  expiryBucket?: number;
  /**
   * With {@link expiryBucket}: the bucket as an expression over the quoted `expires_at` column,
   * indexed as such (SQLite, which rewrites an index entry whenever a column it covers is set,
   * but then keeps it in place while the bucket holds). @default a generated column
   * `<expiresAt column>_bucket`
   */
  bucketExpression?(expiresAt: string, width: number): string;
  /**
   * The statements `migrate()` (and a lazy `createTable`) sends for the DDL statements `ddl`.
   * @default each DDL statement on its own
   */
  migration?(ddl: readonly string[]): string[];
  /**
   * After the DDL, in `migrate()`: upgrade a table of an earlier release where the DDL cannot
   * say so conditionally (MySQL), through `query`. Must be idempotent and safe to run twice at
   * once. Rejects with the driver's error.
   */
  upgrade?(
    query: (sql: string, params: SqlParam[]) => Promise<unknown> | unknown,
    names: SqlNames,
  ): Promise<void>;
}

/** Every statement of a store, with the dialect's placeholders (see {@link sqlStatements}). */
export type SqlStatements = Readonly<Record<StatementName | 'prune' | 'pruneLocks', string>> & {
  /** `deleteByUser`'s statement with `?` placeholders, before a `NOT IN` is appended. */
  readonly byUserDelete: string;
};

type StatementName =
  | 'get'
  | 'upsert'
  | 'insert'
  | 'create'
  | 'takeover'
  | 'replace'
  | 'touch'
  | 'delete'
  | 'deleteIf'
  | 'lock'
  | 'lockInsert'
  | 'lockTakeover'
  | 'unlock'
  | 'byUser'
  | 'byUserDeleteAll'
  | 'counts'
  | 'countExpired'
  | 'page'
  | 'ids';

/** The DDL text for `options`: the dialect's statements joined, each ending in `;`. */
export function sqlSchema(dialect: SqlDialect, options: SqlSchemaOptions, who: string): string {
  return sqlSchemaText(dialect, dialect.schema(sqlNames(dialect, options, who)));
}

/** DDL statements as one text: each ends in `;`, separated by the dialect's separator. */
export function sqlSchemaText(dialect: SqlDialect, ddl: readonly string[]): string {
  return `${ddl.join(`;${dialect.schemaSeparator ?? '\n\n'}`)};\n`;
}

/** Every statement of a store, built once from validated, quoted names. */
export function sqlStatements(dialect: SqlDialect, n: SqlNames): SqlStatements {
  const { table: t, locks: l, key: k, data: d, version: v, expiresAt: e, userId: u } = n;
  const q = (id: string) => dialect.quote(id);
  const select = `SELECT ${k} AS ${q('key')}, ${dialect.readData?.(d) ?? d} AS ${q('data')}, ${v} AS ${q('version')}, ${e} AS ${q('expires_at')}, ${u} AS ${q('user_id')} FROM ${t}`;
  const insert = `INSERT INTO ${t} (${k}, ${d}, ${v}, ${e}, ${u}) VALUES (?, ?, ?, ?, ?)`;
  const upsert = `${insert} ${dialect.upsert(k, [d, v, e, u])}`;
  const assign = `${d} = ?, ${v} = ?, ${e} = ?, ${u} = ?`;
  const lockInsert = `INSERT INTO ${l} (${q('key')}, ${q('owner')}, ${q('expires_at')}) VALUES (?, ?, ?)`;
  const lockOwner = `${l}.${q('owner')}`;
  const byUserDelete = `DELETE FROM ${t} WHERE ${u} = ? AND ${e} > ?`;
  const expired = expiredWhere(n);
  const raw: Record<StatementName, string> = {
    get: `${select} WHERE ${k} = ? AND ${e} > ?`,
    upsert,
    insert,
    // A create may replace only an expired row: the WHERE of the upsert's update branch.
    create: `${upsert} WHERE ${t}.${e} <= ?`,
    takeover: `UPDATE ${t} SET ${assign} WHERE ${k} = ? AND ${e} <= ?`,
    replace: `UPDATE ${t} SET ${assign} WHERE ${k} = ? AND ${v} = ? AND ${e} > ?`,
    touch: `UPDATE ${t} SET ${e} = ? WHERE ${k} = ? AND ${e} > ?`,
    delete: `DELETE FROM ${t} WHERE ${k} = ? AND ${e} > ?`,
    deleteIf: `DELETE FROM ${t} WHERE ${k} = ? AND ${v} = ? AND ${e} > ?`,
    lock: `${lockInsert} ${dialect.upsert(q('key'), [q('owner'), q('expires_at')])} WHERE ${lockOwner} = ? OR ${l}.${q('expires_at')} <= ?`,
    lockInsert,
    lockTakeover: `UPDATE ${l} SET ${q('owner')} = ?, ${q('expires_at')} = ? WHERE ${q('key')} = ? AND (${q('owner')} = ? OR ${q('expires_at')} <= ?)`,
    unlock: `DELETE FROM ${l} WHERE ${q('key')} = ? AND ${q('owner')} = ? AND ${q('expires_at')} > ?`,
    byUser: `${select} WHERE ${u} = ? AND ${e} > ?`,
    byUserDeleteAll: byUserDelete,
    counts: `SELECT (SELECT COUNT(*) FROM ${t} WHERE ${e} > ?) AS ${q('live')}, (SELECT COUNT(*) FROM ${t} WHERE ${expired}) AS ${q('expired')}, (SELECT COUNT(*) FROM ${l} WHERE ${q('expires_at')} > ?) AS ${q('locks')}, (SELECT COUNT(*) FROM ${l} WHERE ${q('expires_at')} <= ?) AS ${q('expired_locks')}`,
    countExpired: `SELECT COUNT(*) AS ${q('n')} FROM ${t} WHERE ${expired}`,
    page: `${select} WHERE ${e} > ? AND ${k} > ? ORDER BY ${k} LIMIT ${IDS_PAGE}`,
    ids: `SELECT ${k} AS ${q('key')} FROM ${t} WHERE ${e} > ? AND ${k} > ? ORDER BY ${k} LIMIT ${IDS_PAGE}`,
  };
  const built = Object.fromEntries(
    Object.entries(raw).map(([name, sql]) => [name, dialect.placeholders(sql)]),
  ) as Record<StatementName, string>;
  const batches = pruneStatements(dialect, n, PRUNE_BATCH);
  // deleteByUser appends a NOT IN over a variable number of keys, then rewrites placeholders.
  return { ...built, prune: batches.sessions, pruneLocks: batches.locks, byUserDelete };
}

/**
 * The condition selecting expired sessions: `expires_at <= ?`, or with an expiry bucket column
 * `bucket <= ? AND expires_at <= ?` (an index range on the bucket, then the exact expiry). Its
 * parameters are {@link expiredParams}.
 */
function expiredWhere(n: SqlNames): string {
  const exact = `${n.expiresAt} <= ?`;
  return n.expiresBucket === undefined ? exact : `${n.expiresBucket} <= ? AND ${exact}`;
}

/**
 * The parameters of the expired-sessions condition at clock `at`: `[at]`, or with an expiry
 * bucket `[bucket of at, at]` — the bucket computed exactly as the database derives it
 * (integer division truncating toward zero), so every expired row's bucket is `<=` it.
 */
export function expiredParams(dialect: SqlDialect, at: number): SqlParam[] {
  const width = dialect.expiryBucket;
  return width === undefined ? [at] : [Math.trunc(at / width), at];
}

/**
 * The batched prune statements for `limit` rows per statement: expired sessions (parameters
 * {@link expiredParams}), then expired lock rows (one `?`, the clock), in the dialect's
 * placeholders.
 */
export function pruneStatements(
  dialect: SqlDialect,
  n: SqlNames,
  limit: number,
): { sessions: string; locks: string } {
  const q = (id: string) => dialect.quote(id);
  const batch =
    dialect.batchDelete ??
    ((table: string, key: string, where: string, max: number) =>
      `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE ${where} LIMIT ${max})`);
  return {
    sessions: dialect.placeholders(batch(n.table, n.key, expiredWhere(n), limit)),
    locks: dialect.placeholders(batch(n.locks, q('key'), `${q('expires_at')} <= ?`, limit)),
  };
}
