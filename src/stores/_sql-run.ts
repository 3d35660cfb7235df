/**
 * Private module (never in the exports map): how the SQL core runs statements — the one place
 * where driver errors become `StoreError`s (with deadlock retries), the DDL — and the store
 * operations made of several statements: `migrate()` with its report, the batched `prune()`,
 * `counts()` and the paged `entries()`. `_sql.ts` builds the store object over these.
 */

import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../core/errors.js';
import {
  type PruneProgress,
  type StoreEntry,
  type StorePruneOptions,
  throwIfAborted,
  toStoreError,
} from '../core/store.js';
import type { SqlQuery, SqlResult } from './_sql.js';
import {
  expiredParams,
  IDS_PAGE,
  PRUNE_BATCH,
  pruneStatements,
  type SqlDialect,
  type SqlNames,
  type SqlParam,
  type SqlStatements,
} from './_sql-dialect.js';
import { countOf, toEntries } from './_sql-rows.js';

/** Extra runs of a statement the database rolled back as a deadlock victim. */
const TRANSIENT_RETRIES = 5;

/** What `migrate()` did. */
export interface SqlMigration {
  /** Tables that did not exist and were created (sessions table first), unquoted. */
  created: string[];
  /** Tables that already existed. */
  existing: string[];
}

/** Row counts of a SQL store's tables, for `sessionkit stats`. */
export interface SqlCounts {
  /** Live session records. */
  live: number;
  /** Expired session records awaiting `prune()`. */
  expired: number;
  /** Held (unexpired) lease-lock rows. */
  locks: number;
  /** Expired lease-lock rows awaiting `prune()`. */
  expiredLocks: number;
}

/** What a store's statements share: made once per store by `createSqlStore`. */
export interface SqlContext {
  readonly dialect: SqlDialect;
  readonly query: SqlQuery;
  readonly names: SqlNames;
  /** The DDL statements, for `migrate()`. */
  readonly ddl: readonly string[];
  readonly s: SqlStatements;
  readonly now: () => number;
  /** `createTable` on an asynchronous binding: the first statement waits for the DDL. */
  lazyDdl: boolean;
  /** The DDL run in flight (or done) for {@link lazyDdl}; cleared when it fails, to retry. */
  migrating: Promise<void> | undefined;
  /** Tables the DDL run at construction created (synchronous bindings), for the next report. */
  createdAtSetup: string[];
}

/**
 * Run one statement; the single place where driver errors become `StoreError`s. The common case —
 * no DDL pending, not aborted, the statement succeeds — is one reaction on the driver's promise,
 * no async frame: every request's read and write go through here.
 */
export function run(
  ctx: SqlContext,
  operation: string,
  sql: string,
  params: readonly SqlParam[],
  signal: AbortSignal | undefined,
): Promise<SqlResult> {
  if (ctx.lazyDdl || signal?.aborted) return retry(ctx, operation, sql, params, signal, 0);
  let sent: Promise<SqlResult> | SqlResult;
  try {
    sent = ctx.query(sql, params);
  } catch (error) {
    return retry(ctx, operation, sql, params, signal, 1, error);
  }
  if (!(sent instanceof Promise)) return Promise.resolve(sent);
  return sent.then(undefined, (error: unknown) =>
    retry(ctx, operation, sql, params, signal, 1, error),
  );
}

/**
 * {@link run} the slow way: after `failed` attempts (the last failing with `failure`) — the DDL
 * first when pending, a deadlock victim (rolled back whole) run again rather than fail a request.
 */
async function retry(
  ctx: SqlContext,
  operation: string,
  sql: string,
  params: readonly SqlParam[],
  signal: AbortSignal | undefined,
  failed: number,
  failure?: unknown,
): Promise<SqlResult> {
  try {
    if (failed > 0 && !transient(ctx, failed, failure)) throw failure;
    throwIfAborted(signal);
    if (ctx.lazyDdl) await migrateOnce(ctx);
    for (let attempt = failed + 1; ; attempt++) {
      try {
        return await ctx.query(sql, params);
      } catch (error) {
        if (!transient(ctx, attempt, error)) throw error;
        throwIfAborted(signal);
      }
    }
  } catch (error) {
    throw toStoreError(ctx.dialect.name, operation, error, signal);
  }
}

/** Whether attempt `attempt`'s `error` may be retried: transient, and retries are left. */
function transient(ctx: SqlContext, attempt: number, error: unknown): boolean {
  return attempt <= TRANSIENT_RETRIES && ctx.dialect.isTransient?.(error) === true;
}

/** Apply the DDL (each statement idempotent), as the dialect's migration sends it. */
export async function migrate(ctx: SqlContext, signal?: AbortSignal): Promise<void> {
  for (const sql of ctx.dialect.migration?.(ctx.ddl) ?? ctx.ddl) {
    throwIfAborted(signal);
    try {
      await ctx.query(sql, []);
    } catch (error) {
      throw toStoreError(ctx.dialect.name, 'migrate', error, signal);
    }
  }
  if (ctx.dialect.upgrade === undefined) return;
  throwIfAborted(signal);
  try {
    await ctx.dialect.upgrade(ctx.query, ctx.names);
  } catch (error) {
    throw toStoreError(ctx.dialect.name, 'migrate', error, signal);
  }
}

/** The DDL once per store, shared by concurrent first statements; a failed run is retried. */
function migrateOnce(ctx: SqlContext): Promise<void> {
  ctx.migrating ??= migrate(ctx).catch((error: unknown) => {
    ctx.migrating = undefined;
    throw error;
  });
  return ctx.migrating;
}

/** Which of the store's two tables exist (straight through the binding, no lazy DDL first). */
export async function existingTables(ctx: SqlContext, signal?: AbortSignal): Promise<string[]> {
  throwIfAborted(signal);
  try {
    return present(ctx, (await ctx.query(...tablesStatement(ctx))).rows);
  } catch (error) {
    throw toStoreError(ctx.dialect.name, 'migrate', error, signal);
  }
}

/**
 * For a synchronous binding, at construction: the tables the DDL about to run will create.
 * Throws the driver's error (the caller wraps it).
 */
export function tablesToCreate(ctx: SqlContext): string[] {
  const result = ctx.query(...tablesStatement(ctx));
  if (result instanceof Promise) return []; // not a synchronous binding: reported by migrate()
  const found = present(ctx, result.rows);
  return ctx.names.tableNames.filter((name) => !found.includes(name));
}

function tablesStatement(ctx: SqlContext): [string, SqlParam[]] {
  return [ctx.dialect.placeholders(ctx.dialect.tablesQuery), [...ctx.names.tableNames]];
}

function present(ctx: SqlContext, rows: readonly unknown[]): string[] {
  const found = new Set(rows.map((row) => String((row as { name?: unknown }).name)));
  return ctx.names.tableNames.filter((name) => found.has(name));
}

/** `migrate()`: apply the DDL and say which tables it created. */
export async function migrateReport(ctx: SqlContext, signal?: AbortSignal): Promise<SqlMigration> {
  const before = await existingTables(ctx, signal);
  await migrate(ctx, signal);
  const created = ctx.names.tableNames.filter(
    (name) => !before.includes(name) || ctx.createdAtSetup.includes(name),
  );
  ctx.createdAtSetup = [];
  return { created, existing: ctx.names.tableNames.filter((name) => !created.includes(name)) };
}

/**
 * `prune()`: delete expired sessions, then expired lock rows, `batchSize` rows per statement,
 * letting other work run between statements. With `onProgress`, the expired sessions are counted
 * first (an index range count) so the progress has a total.
 */
export async function pruneInBatches(
  ctx: SqlContext,
  options: StorePruneOptions = {},
): Promise<number> {
  const { signal, onProgress } = options;
  const limit = options.batchSize ?? PRUNE_BATCH;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1_000_000) {
    throw new ConfigError('prune(): `batchSize` must be an integer from 1 to 1000000.');
  }
  const statements =
    limit === PRUNE_BATCH
      ? { sessions: ctx.s.prune, locks: ctx.s.pruneLocks }
      : pruneStatements(ctx.dialect, ctx.names, limit);
  const at = ctx.now();
  const expired = expiredParams(ctx.dialect, at);
  const progress: PruneProgress = { removed: 0 };
  if (onProgress !== undefined) {
    const { rows } = await run(ctx, 'prune', ctx.s.countExpired, expired, signal);
    progress.total = countOf((rows[0] as { n?: unknown } | undefined)?.n);
    onProgress({ ...progress });
  }
  for (;;) {
    const started = performance.now();
    const { affected } = await run(ctx, 'prune', statements.sessions, expired, signal);
    progress.removed += affected;
    if (affected > 0) onProgress?.({ ...progress });
    if (affected < limit) break;
    await rest(ctx, performance.now() - started);
  }
  for (;;) {
    const started = performance.now();
    if ((await run(ctx, 'prune', statements.locks, [at], signal)).affected < limit) break;
    await rest(ctx, performance.now() - started);
  }
  return progress.removed;
}

/**
 * Between two prune batches: let other work run — a synchronous driver (SQLite) would otherwise
 * starve the event loop — and on a single-writer database rest as long as the batch took (at
 * most 50 ms), so writers waiting on its lock get in instead of retrying in vain.
 */
async function rest(ctx: SqlContext, batchMs: number): Promise<void> {
  if (ctx.dialect.singleWriter === true) await sleep(Math.min(50, Math.ceil(batchMs)));
  else await nextTurn();
}

/** `counts()`: live and expired rows of both tables, in one statement. */
export async function tableCounts(ctx: SqlContext, signal?: AbortSignal): Promise<SqlCounts> {
  const at = ctx.now();
  const params = [at, ...expiredParams(ctx.dialect, at), at, at];
  const { rows } = await run(ctx, 'counts', ctx.s.counts, params, signal);
  const row = (rows[0] ?? {}) as Record<string, unknown>;
  return {
    live: countOf(row.live),
    expired: countOf(row.expired),
    locks: countOf(row.locks),
    expiredLocks: countOf(row.expired_locks),
  };
}

/** `entries()`: every live record with its key, a page of keys at a time, in key order. */
export async function* pagedEntries(
  ctx: SqlContext,
  signal?: AbortSignal,
): AsyncGenerator<StoreEntry> {
  let after = '';
  for (;;) {
    const { rows } = await run(ctx, 'entries', ctx.s.page, [ctx.now(), after], signal);
    const last = (rows.at(-1) as { key?: unknown } | undefined)?.key;
    yield* toEntries(rows);
    // Advance past malformed rows too: a page of them must not be read again forever.
    if (rows.length < IDS_PAGE || typeof last !== 'string') return;
    after = last;
  }
}
