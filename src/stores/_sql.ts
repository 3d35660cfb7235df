/**
 * Private module (never in the exports map): the shared core of the SQL session stores.
 *
 * A SQL store is a {@link SqlDialect} (`_sql-dialect.ts`: identifier quoting, placeholders,
 * upsert syntax, DDL) plus a binding for its client: a {@link SqlQuery} for an asynchronous
 * driver (pg, mysql2), or `syncSqlBinding` (`_sql-sync.ts`) for a synchronous one
 * (better-sqlite3, `node:sqlite`). Everything else lives here: option checks, record mapping,
 * error wrapping and the `SessionStore` object. Every store method is one statement (prune: one
 * per table), so no dialect needs a transaction.
 */

import { ConfigError } from '../core/errors.js';
import {
  assertExpiresAt,
  assertLockOptions,
  assertStoreKey,
  isStoreKey,
  NO_RECORD,
  refusal,
  type SessionStore,
  type StoreCallOptions,
  type StoreDeleteByUserOptions,
  type StoreEntry,
  type StoreLockOptions,
  type StorePruneOptions,
  type StoreRecord,
  type StoreUnlockOptions,
  throwIfAborted,
  toStoreError,
} from '../core/store.js';
import {
  IDS_PAGE,
  type SqlDialect,
  type SqlParam,
  type SqlSchemaOptions,
  type SqlStatements,
  sqlNames,
  sqlSchemaText,
  sqlStatements,
} from './_sql-dialect.js';
import { toEntries, toRecord } from './_sql-rows.js';
import {
  migrateReport,
  pagedEntries,
  pruneInBatches,
  run,
  type SqlContext,
  type SqlCounts,
  type SqlMigration,
  tableCounts,
  tablesToCreate,
} from './_sql-run.js';

export type {
  SqlColumns,
  SqlDialect,
  SqlNames,
  SqlParam,
  SqlSchemaOptions,
  SqlStatements,
} from './_sql-dialect.js';
export { sqlSchema } from './_sql-dialect.js';
export type { SqlCounts, SqlMigration } from './_sql-run.js';

/** What one statement produced. */
export interface SqlResult {
  /** Result rows of a `SELECT`, as objects keyed by column alias. */
  rows: readonly unknown[];
  /** Rows inserted, deleted or *matched* by an `UPDATE` (not only those whose values changed). */
  affected: number;
}

/**
 * Run one parameterized statement (placeholders already in the dialect's form). With no
 * parameters, `sql` is one DDL statement. A synchronous binding may return the result directly.
 */
export type SqlQuery = (sql: string, params: readonly SqlParam[]) => Promise<SqlResult> | SqlResult;

/** How a store reaches its database: a {@link SqlQuery}, and for synchronous clients a setup. */
export interface SqlBinding {
  /** Run one statement; may throw or reject with the driver's error. */
  query: SqlQuery;
  /**
   * Synchronous clients only: called once inside the factory, before it returns, with the schema
   * text to execute (when `createTable` is on) and every fixed statement to prepare — so a
   * missing table or a closed connection throws there, as `StoreError` (operation `'init'`).
   */
  setup?(ddl: string | undefined, statements: readonly string[]): void;
  /**
   * Called once inside the factory with every fixed statement by name (`get`, `replace`, …),
   * for a binding that sends some of them as named (server-side prepared) statements.
   */
  prepare?(statements: SqlStatements): void;
}

/** Options shared by the SQL stores (`postgresStore`, `mysqlStore`). */
export interface SqlStoreOptions extends SqlSchemaOptions {
  /**
   * Apply the shipped DDL (`CREATE … IF NOT EXISTS`) before the store's first statement. Server
   * databases are usually migrated once, ahead of time: call `await store.migrate()` at deploy
   * time or apply the printed schema yourself.
   * @default false
   */
  createTable?: boolean | undefined;
  /**
   * Clock in milliseconds since the epoch, for expiry and lock leases. Expiry is judged by the
   * application's clock, not the database's, so every app server needs a synchronized clock.
   * @default Date.now
   */
  now?: (() => number) | undefined;
}

/** A SQL session store: the whole store contract plus its schema. */
export interface SqlSessionStore extends SessionStore {
  /** The DDL this store expects (the same text as its schema function returns). */
  readonly schema: string;
  /**
   * Apply {@link schema}, statement by statement. Idempotent (`IF NOT EXISTS`), so safe at every
   * start; resolves which tables it created (for a SQLite store with `createTable`, the ones its
   * construction created). Rejects with `StoreError` (`ERR_SESSION_STORE`) when the database
   * refuses or is unreachable.
   */
  migrate(options?: StoreCallOptions): Promise<SqlMigration>;
  lock(key: string, options: StoreLockOptions): Promise<boolean>;
  unlock(key: string, options: StoreUnlockOptions): Promise<boolean>;
  listByUser(userId: string, options?: StoreCallOptions): Promise<StoreEntry[]>;
  deleteByUser(userId: string, options?: StoreDeleteByUserOptions): Promise<number>;
  /** Expired sessions, then expired lock rows, in batches of `batchSize` rows per statement. */
  prune(options?: StorePruneOptions): Promise<number>;
  ids(options?: StoreCallOptions): AsyncIterable<string>;
  /** Every live record with its key, streamed a page at a time (for statistics). */
  entries(options?: StoreCallOptions): AsyncIterable<StoreEntry>;
  /** Live and expired rows of the sessions and the locks table. */
  counts(options?: StoreCallOptions): Promise<SqlCounts>;
  close(): Promise<void>;
}

/**
 * Build a SQL session store from a dialect and a binding. Validates `options` at once
 * (`ConfigError`, `ERR_SESSION_CONFIG`, before any SQL). A binding with `setup` applies the DDL
 * (when `createTable`) and prepares its statements before this returns, and throws `StoreError`
 * (`ERR_SESSION_STORE`) if that fails; otherwise `createTable` runs the DDL before the first
 * statement. Every backend failure of a method rejects with `StoreError` (the driver's error as
 * `cause`); methods never throw synchronously. Never closes the client.
 */
export function createSqlStore(
  dialect: SqlDialect,
  binding: SqlQuery | SqlBinding,
  options: SqlStoreOptions,
): SqlSessionStore {
  const { factory } = dialect;
  const { createTable = false, now = Date.now } = options;
  if (typeof createTable !== 'boolean') {
    throw new ConfigError(`${factory}: \`createTable\` must be a boolean.`);
  }
  if (typeof now !== 'function') {
    throw new ConfigError(`${factory}: \`now\` must be a function returning epoch ms.`);
  }
  const names = sqlNames(dialect, options, factory);
  const { query, setup, prepare } = typeof binding === 'function' ? { query: binding } : binding;
  const ddl = dialect.schema(names);
  const schema = sqlSchemaText(dialect, ddl);
  const s = sqlStatements(dialect, names);
  prepare?.(s);
  const ctx: SqlContext = {
    dialect,
    query,
    names,
    ddl,
    s,
    now,
    migrating: undefined,
    lazyDdl: false,
    createdAtSetup: [],
  };
  if (setup) {
    try {
      // Remember what the construction's DDL creates, for the next migrate() report.
      if (createTable) ctx.createdAtSetup = tablesToCreate(ctx);
      setup(createTable ? schema : undefined, [...new Set(Object.values(s))]);
    } catch (error) {
      throw toStoreError(dialect.name, 'init', error);
    }
  } else {
    ctx.lazyDdl = createTable;
  }
  const encode = dialect.encodeData ?? ((data: string) => data);

  return {
    name: dialect.name,
    schema,
    migrate: (o) => migrateReport(ctx, o?.signal),
    // `get` and `set` are every request's store calls: no async frame, one reaction on `run`.
    get(key, o) {
      const refused = refusal(o?.signal);
      if (refused !== undefined) return refused;
      if (!isStoreKey(key)) return NO_RECORD;
      return run(ctx, 'get', s.get, [key, now()], o?.signal).then(firstRecord);
    },
    set(key, record, o) {
      const refused = refusal(o?.signal, key, record);
      if (refused !== undefined) return refused;
      const { version, expiresAt, userId } = record;
      const data = encode(record.data);
      const row = [key, data, version, expiresAt, userId];
      const v = o?.ifVersion;
      const signal = o?.signal;
      if (v === undefined) return run(ctx, 'set', s.upsert, row, signal).then(changed);
      if (v !== 0) {
        const params = [data, version, expiresAt, userId, key, v, now()];
        return run(ctx, 'set', s.replace, params, signal).then(changed);
      }
      if (dialect.conditionalInsert === 'upsert-where') {
        return run(ctx, 'set', s.create, [...row, now()], signal).then(changed);
      }
      const takeover = [data, version, expiresAt, userId, key, now()];
      return insertOr(ctx, 'set', [s.insert, row], [s.takeover, takeover], signal);
    },
    async touch(key, expiresAt, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      assertExpiresAt(expiresAt);
      return (await run(ctx, 'touch', s.touch, [expiresAt, key, now()], o?.signal)).affected > 0;
    },
    async delete(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      const v = o?.ifVersion;
      const [sql, params] =
        v === undefined ? [s.delete, [key, now()]] : [s.deleteIf, [key, v, now()]];
      return (await run(ctx, 'delete', sql, params, o?.signal)).affected > 0;
    },
    async lock(key, o) {
      throwIfAborted(o.signal);
      assertStoreKey(key);
      assertLockOptions(o);
      const at = now();
      const { owner } = o;
      if (dialect.conditionalInsert === 'upsert-where') {
        const params = [key, owner, at + o.ttl, owner, at];
        return (await run(ctx, 'lock', s.lock, params, o.signal)).affected > 0;
      }
      const insert: [string, SqlParam[]] = [s.lockInsert, [key, owner, at + o.ttl]];
      const takeover: [string, SqlParam[]] = [s.lockTakeover, [owner, at + o.ttl, key, owner, at]];
      return insertOr(ctx, 'lock', insert, takeover, o.signal);
    },
    async unlock(key, o) {
      throwIfAborted(o.signal);
      if (!isStoreKey(key)) return false;
      assertLockOptions(o, false);
      const params = [key, o.owner, now()];
      return (await run(ctx, 'unlock', s.unlock, params, o.signal)).affected > 0;
    },
    async listByUser(userId, o) {
      throwIfAborted(o?.signal);
      const { rows } = await run(ctx, 'listByUser', s.byUser, [userId, now()], o?.signal);
      return toEntries(rows);
    },
    async deleteByUser(userId, o) {
      throwIfAborted(o?.signal);
      const except = (o?.except ?? []).filter(isStoreKey);
      const keep = except.length > 0 ? dialect.notIn(names.key, except) : undefined;
      const sql = keep
        ? dialect.placeholders(`${s.byUserDelete} AND ${keep.sql}`)
        : s.byUserDeleteAll;
      const params = [userId, now(), ...(keep?.params ?? [])];
      return (await run(ctx, 'deleteByUser', sql, params, o?.signal)).affected;
    },
    prune: (o) => pruneInBatches(ctx, o),
    async *ids(o) {
      let after = '';
      for (;;) {
        const { rows } = await run(ctx, 'ids', s.ids, [now(), after], o?.signal);
        for (const row of rows) {
          const key = (row as { key?: unknown }).key;
          if (typeof key !== 'string') continue;
          after = key;
          yield key;
        }
        if (rows.length < IDS_PAGE) return;
      }
    },
    entries: (o) => pagedEntries(ctx, o?.signal),
    counts: (o) => tableCounts(ctx, o?.signal),
    async close() {},
  };
}

/** The record of a `get` statement's first row, if any. */
function firstRecord(result: SqlResult): StoreRecord | undefined {
  return toRecord(result.rows[0]);
}

/** Whether a statement changed a row. */
function changed(result: SqlResult): boolean {
  return result.affected > 0;
}

/** Insert, or on a duplicate key try the guarded takeover (`'insert-then-update'`). */
async function insertOr(
  ctx: SqlContext,
  operation: string,
  insert: [string, SqlParam[]],
  takeover: [string, SqlParam[]],
  signal: AbortSignal | undefined,
): Promise<boolean> {
  try {
    return (await run(ctx, operation, insert[0], insert[1], signal)).affected > 0;
  } catch (error) {
    if (!(error instanceof Error) || !ctx.dialect.isDuplicateKey?.(error.cause)) throw error;
  }
  return (await run(ctx, operation, takeover[0], takeover[1], signal)).affected > 0;
}
