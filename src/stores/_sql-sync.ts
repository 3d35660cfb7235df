/**
 * Private module (never in the exports map): the binding of a synchronous SQL client
 * (better-sqlite3's `Database`, `node:sqlite`'s `DatabaseSync`) to the SQL core in `_sql.ts`.
 *
 * Each store keeps its own statement cache: a statement is prepared once — every fixed statement
 * at construction, by `setup` — and reused for every call. Parameterless text is DDL and runs
 * through `exec`. No transaction is opened: every store method is one statement (prune: one per
 * table, independent of each other), and SQLite runs each statement atomically.
 */

import type { SqlBinding, SqlParam, SqlResult } from './_sql.js';

/**
 * Statements kept per store. The core's statements are a fixed set (~20); the cap only guards
 * against a dialect whose `notIn` text varied with the number of values.
 */
const MAX_CACHED = 64;
/** Statements that return rows: run with `all`, every other one with `run`. */
const READS = /^\s*SELECT\b/i;

/** A value bound to a synchronous statement's parameter. */
export type SyncSqlParam = string | number | null;

/** The prepared-statement subset the binding uses (better-sqlite3 `Statement`, `StatementSync`). */
export interface SyncSqlStatement {
  /** Execute; `changes` is the number of rows inserted, updated or deleted. */
  run(...params: SyncSqlParam[]): { changes: number | bigint };
  /** All result rows. */
  all(...params: SyncSqlParam[]): unknown[];
}

/** The connection subset the binding uses (better-sqlite3 `Database`, `DatabaseSync`). */
export interface SyncSqlClient {
  /** Compile one SQL statement. */
  prepare(sql: string): SyncSqlStatement;
  /** Run SQL text with no parameters (DDL). */
  exec(sql: string): unknown;
}

/**
 * The binding of a synchronous client, with a statement cache of its own (one per store). Its
 * `query` throws the client's error as is (the core wraps it); `setup` executes the DDL text
 * when given, then prepares `statements`. Parameters must be strings, numbers or `null` (the
 * dialect's `notIn` and `encodeData` keep to these).
 */
export function syncSqlBinding(client: SyncSqlClient): SqlBinding {
  const cache = new Map<string, SyncSqlStatement>();
  const prepared = (sql: string): SyncSqlStatement => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = client.prepare(sql);
      if (cache.size < MAX_CACHED) cache.set(sql, statement);
    }
    return statement;
  };
  return {
    query(sql, params): SqlResult {
      if (params.length === 0) {
        client.exec(sql);
        return { rows: [], affected: 0 };
      }
      const statement = prepared(sql);
      const values = params as readonly SqlParam[] as SyncSqlParam[];
      if (READS.test(sql)) return { rows: statement.all(...values), affected: 0 };
      return { rows: [], affected: Number(statement.run(...values).changes) };
    },
    setup(ddl, statements) {
      if (ddl !== undefined) client.exec(ddl);
      for (const sql of statements) prepared(sql);
    },
  };
}
