/**
 * Private module (never in the exports map): the shared core of the SQL session stores.
 *
 * A SQL store is a {@link SqlDialect} (identifier quoting, placeholders, upsert syntax, DDL)
 * plus a {@link SqlQuery} binding for its client; everything else lives here: option and
 * identifier validation, statement building, record mapping, error wrapping and the
 * `SessionStore` object. Statements are written with `?` placeholders and rewritten once by the
 * dialect (`$1, $2, …` for PostgreSQL). Only validated identifiers are ever interpolated into SQL;
 * keys, user ids, lock owners, payloads and numbers always travel as bound parameters.
 */

import { ConfigError } from '../core/errors.js';
import {
  assertExpiresAt,
  assertLockOptions,
  assertStoreKey,
  assertStoreRecord,
  isStoreKey,
  type SessionStore,
  type StoreCallOptions,
  type StoreDeleteByUserOptions,
  type StoreEntry,
  type StoreLockOptions,
  type StoreRecord,
  type StoreUnlockOptions,
  throwIfAborted,
  toStoreError,
} from '../core/store.js';

const DEFAULT_TABLE = 'sessionkit_sessions';
/** Table names leave room for the `_expires_at_idx` suffix within PostgreSQL's 63-byte limit. */
const TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;
const COLUMN_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Keys fetched per query while streaming `ids()`. */
const IDS_PAGE = 500;
/** Extra runs of a statement the database rolled back as a deadlock victim. */
export const TRANSIENT_RETRIES = 5;
const COLUMN_NAMES = ['key', 'data', 'version', 'expiresAt', 'userId'] as const;
/** Keeps a leading U+FEFF: a payload is returned exactly as written. */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** A value bound to a statement parameter (`readonly string[]` only where the dialect asks for it). */
export type SqlParam = string | number | null | Uint8Array | readonly string[];

/** What one statement produced. */
export interface SqlResult {
  /** Result rows of a `SELECT`, as objects keyed by column alias. */
  rows: readonly unknown[];
  /** Rows inserted, deleted or *matched* by an `UPDATE` (not only those whose values changed). */
  affected: number;
}

/** Run one parameterized statement (placeholders already in the dialect's form). */
export type SqlQuery = (sql: string, params: readonly SqlParam[]) => Promise<SqlResult>;

/** Column names of the sessions table. Each must match `/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`. */
export interface SqlColumns {
  /** The store key (primary key). @default 'key' */
  key?: string | undefined;
  /** The encoded session. @default 'data' */
  data?: string | undefined;
  /** The record version compared by compare-and-set. @default 'version' */
  version?: string | undefined;
  /** Absolute expiry in ms since the epoch. @default 'expires_at' */
  expiresAt?: string | undefined;
  /** The owning user, for the per-user index; `NULL` when anonymous. @default 'user_id' */
  userId?: string | undefined;
}

/** Table and column names of a SQL store, shared by its factory and its schema function. */
export interface SqlSchemaOptions {
  /** Sessions table; must match `/^[A-Za-z_][A-Za-z0-9_]{0,47}$/`. @default 'sessionkit_sessions' */
  table?: string | undefined;
  /** Lease-lock table; same pattern as `table`, and a different name. @default `${table}_locks` */
  locksTable?: string | undefined;
  /** Custom column names for the sessions table (the locks table's columns are fixed). @default the names in {@link SqlColumns} */
  columns?: SqlColumns | undefined;
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
   * start. Rejects with `StoreError` (`ERR_SESSION_STORE`) when the database refuses or is
   * unreachable.
   */
  migrate(options?: StoreCallOptions): Promise<void>;
  lock(key: string, options: StoreLockOptions): Promise<boolean>;
  unlock(key: string, options: StoreUnlockOptions): Promise<boolean>;
  listByUser(userId: string, options?: StoreCallOptions): Promise<StoreEntry[]>;
  deleteByUser(userId: string, options?: StoreDeleteByUserOptions): Promise<number>;
  prune(options?: StoreCallOptions): Promise<number>;
  ids(options?: StoreCallOptions): AsyncIterable<string>;
  close(): Promise<void>;
}

/** Validated, quoted names handed to a dialect's DDL builder. */
export interface SqlNames {
  /** Quoted sessions table. */
  table: string;
  /** Quoted locks table. */
  locks: string;
  /** Quoted columns of the sessions table. */
  key: string;
  data: string;
  version: string;
  expiresAt: string;
  userId: string;
  /** Quoted index names (on `expires_at`, on `user_id`, on the locks' `expires_at`). */
  expiresIndex: string;
  userIndex: string;
  locksExpiresIndex: string;
}

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
   * Such statements are retried up to {@link TRANSIENT_RETRIES} times.
   */
  isTransient?(error: unknown): boolean;
  /** A `column NOT IN (…)` condition over `values`, with its parameters. */
  notIn(column: string, values: readonly string[]): { sql: string; params: SqlParam[] };
  /** The parameter written to the data column. @default the string itself */
  encodeData?(data: string): SqlParam;
}

/**
 * Validate table and column names against the identifier patterns and quote them. Throws
 * `ConfigError` (`ERR_SESSION_CONFIG`) naming the option (`table`, `locksTable`,
 * `columns.<name>`), and for duplicate column names or identical tables.
 */
export function sqlNames(dialect: SqlDialect, options: SqlSchemaOptions, who: string): SqlNames {
  const table = identifier(who, 'table', options.table ?? DEFAULT_TABLE, TABLE_PATTERN);
  const locks = identifier(
    who,
    'locksTable',
    options.locksTable ?? `${table}_locks`,
    TABLE_PATTERN,
  );
  if (locks === table) {
    throw new ConfigError(`${who}: \`locksTable\` must differ from \`table\`.`);
  }
  const given: Record<string, unknown> = { ...(options.columns ?? {}) };
  for (const name of Object.keys(given)) {
    if (!(COLUMN_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(
        `${who}: unknown column \`columns.${name}\`; expected ${COLUMN_NAMES.join(', ')}.`,
      );
    }
  }
  const defaults = { key: 'key', data: 'data', version: 'version', expiresAt: 'expires_at' };
  const columns = { ...defaults, userId: 'user_id' };
  for (const name of COLUMN_NAMES) {
    const value = given[name] ?? columns[name];
    columns[name] = identifier(who, `columns.${name}`, value, COLUMN_PATTERN);
  }
  const lower = COLUMN_NAMES.map((name) => columns[name].toLowerCase());
  if (new Set(lower).size !== lower.length) {
    throw new ConfigError(`${who}: \`columns\` must name five different columns.`);
  }
  const q = (id: string) => dialect.quote(id);
  return {
    table: q(table),
    locks: q(locks),
    key: q(columns.key),
    data: q(columns.data),
    version: q(columns.version),
    expiresAt: q(columns.expiresAt),
    userId: q(columns.userId),
    expiresIndex: q(`${table}_expires_at_idx`),
    userIndex: q(`${table}_user_id_idx`),
    locksExpiresIndex: q(`${locks}_expires_at_idx`),
  };
}

/** The DDL text for `options`: the dialect's statements joined, each ending in `;`. */
export function sqlSchema(dialect: SqlDialect, options: SqlSchemaOptions, who: string): string {
  return schemaText(dialect.schema(sqlNames(dialect, options, who)));
}

/**
 * Build a SQL session store from a dialect and a query binding. Validates `options` at once
 * (`ConfigError`, `ERR_SESSION_CONFIG`); every backend failure rejects with `StoreError`
 * (`ERR_SESSION_STORE`, the driver's error as `cause`). Never closes the client.
 */
export function createSqlStore(
  dialect: SqlDialect,
  query: SqlQuery,
  options: SqlStoreOptions,
): SqlSessionStore {
  const { name, factory } = dialect;
  const { createTable = false, now = Date.now } = options;
  if (typeof createTable !== 'boolean') {
    throw new ConfigError(`${factory}: \`createTable\` must be a boolean (default false).`);
  }
  if (typeof now !== 'function') {
    throw new ConfigError(`${factory}: \`now\` must be a function returning epoch ms.`);
  }
  const n = sqlNames(dialect, options, factory);
  const ddl = dialect.schema(n);
  const s = statements(dialect, n);
  const encode = dialect.encodeData ?? ((data: string) => data);

  /** Run one statement; the single place where driver errors become `StoreError`s. */
  const run = async (
    operation: string,
    sql: string,
    params: readonly SqlParam[],
    signal: AbortSignal | undefined,
  ): Promise<SqlResult> => {
    throwIfAborted(signal);
    try {
      await ready?.();
      for (let attempt = 1; ; attempt++) {
        try {
          return await query(sql, params);
        } catch (error) {
          // A deadlock victim was rolled back whole: run it again rather than fail a request.
          if (attempt > TRANSIENT_RETRIES || !dialect.isTransient?.(error)) throw error;
          throwIfAborted(signal);
        }
      }
    } catch (error) {
      throw toStoreError(name, operation, error, signal);
    }
  };
  const migrate = async (signal?: AbortSignal): Promise<void> => {
    for (const sql of ddl) {
      throwIfAborted(signal);
      try {
        await query(sql, []);
      } catch (error) {
        throw toStoreError(name, 'migrate', error, signal);
      }
    }
  };
  let migrating: Promise<void> | undefined;
  // With createTable, the first statement waits for the DDL; a failed migration is retried.
  const ready = createTable
    ? () =>
        (migrating ??= migrate().catch((error: unknown) => {
          migrating = undefined;
          throw error;
        }))
    : undefined;
  /** Insert, or on a duplicate key try the guarded takeover (`'insert-then-update'`). */
  const insertOr = async (
    operation: string,
    insert: [string, SqlParam[]],
    takeover: [string, SqlParam[]],
    signal: AbortSignal | undefined,
  ): Promise<boolean> => {
    try {
      return (await run(operation, insert[0], insert[1], signal)).affected > 0;
    } catch (error) {
      if (!(error instanceof Error) || !dialect.isDuplicateKey?.(error.cause)) throw error;
    }
    return (await run(operation, takeover[0], takeover[1], signal)).affected > 0;
  };

  return {
    name,
    schema: schemaText(ddl),
    async migrate(o) {
      await migrate(o?.signal);
    },
    async get(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return undefined;
      return toRecord((await run('get', s.get, [key, now()], o?.signal)).rows[0]);
    },
    async set(key, record, o) {
      throwIfAborted(o?.signal);
      assertStoreKey(key);
      assertStoreRecord(record);
      const { version, expiresAt, userId } = record;
      const data = encode(record.data);
      const row = [key, data, version, expiresAt, userId];
      const v = o?.ifVersion;
      const signal = o?.signal;
      if (v === undefined) return (await run('set', s.upsert, row, signal)).affected > 0;
      if (v !== 0) {
        const params = [data, version, expiresAt, userId, key, v, now()];
        return (await run('set', s.replace, params, signal)).affected > 0;
      }
      if (dialect.conditionalInsert === 'upsert-where') {
        return (await run('set', s.create, [...row, now()], signal)).affected > 0;
      }
      const takeover = [data, version, expiresAt, userId, key, now()];
      return insertOr('set', [s.insert, row], [s.takeover, takeover], signal);
    },
    async touch(key, expiresAt, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      assertExpiresAt(expiresAt);
      return (await run('touch', s.touch, [expiresAt, key, now()], o?.signal)).affected > 0;
    },
    async delete(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      const v = o?.ifVersion;
      const [sql, params] =
        v === undefined ? [s.delete, [key, now()]] : [s.deleteIf, [key, v, now()]];
      return (await run('delete', sql, params, o?.signal)).affected > 0;
    },
    async lock(key, o) {
      throwIfAborted(o.signal);
      assertStoreKey(key);
      assertLockOptions(o);
      const at = now();
      const { owner } = o;
      if (dialect.conditionalInsert === 'upsert-where') {
        const params = [key, owner, at + o.ttl, owner, at];
        return (await run('lock', s.lock, params, o.signal)).affected > 0;
      }
      const takeover = [owner, at + o.ttl, key, owner, at];
      return insertOr(
        'lock',
        [s.lockInsert, [key, owner, at + o.ttl]],
        [s.lockTakeover, takeover],
        o.signal,
      );
    },
    async unlock(key, o) {
      throwIfAborted(o.signal);
      if (!isStoreKey(key)) return false;
      assertLockOptions(o, false);
      return (await run('unlock', s.unlock, [key, o.owner, now()], o.signal)).affected > 0;
    },
    async listByUser(userId, o) {
      throwIfAborted(o?.signal);
      const { rows } = await run('listByUser', s.byUser, [userId, now()], o?.signal);
      return toEntries(rows);
    },
    async deleteByUser(userId, o) {
      throwIfAborted(o?.signal);
      const except = (o?.except ?? []).filter(isStoreKey);
      const keep = except.length > 0 ? dialect.notIn(n.key, except) : undefined;
      const sql = keep
        ? dialect.placeholders(`${s.byUserDelete} AND ${keep.sql}`)
        : s.byUserDeleteAll;
      const params = [userId, now(), ...(keep?.params ?? [])];
      return (await run('deleteByUser', sql, params, o?.signal)).affected;
    },
    async prune(o) {
      const at = now();
      await run('prune', s.pruneLocks, [at], o?.signal);
      return (await run('prune', s.prune, [at], o?.signal)).affected;
    },
    async *ids(o) {
      let after = '';
      for (;;) {
        const { rows } = await run('ids', s.ids, [now(), after], o?.signal);
        for (const row of rows) {
          const key = (row as { key?: unknown }).key;
          if (typeof key !== 'string') continue;
          after = key;
          yield key;
        }
        if (rows.length < IDS_PAGE) return;
      }
    },
    async close() {},
  };
}

/** Every statement of a store, built once from validated, quoted names. */
function statements(dialect: SqlDialect, n: SqlNames) {
  const { table: t, locks: l, key: k, data: d, version: v, expiresAt: e, userId: u } = n;
  const q = (id: string) => dialect.quote(id);
  const select = `SELECT ${k} AS ${q('key')}, ${d} AS ${q('data')}, ${v} AS ${q('version')}, ${e} AS ${q('expires_at')}, ${u} AS ${q('user_id')} FROM ${t}`;
  const insert = `INSERT INTO ${t} (${k}, ${d}, ${v}, ${e}, ${u}) VALUES (?, ?, ?, ?, ?)`;
  const upsert = `${insert} ${dialect.upsert(k, [d, v, e, u])}`;
  const assign = `${d} = ?, ${v} = ?, ${e} = ?, ${u} = ?`;
  const lockInsert = `INSERT INTO ${l} (${q('key')}, ${q('owner')}, ${q('expires_at')}) VALUES (?, ?, ?)`;
  const lockOwner = `${l}.${q('owner')}`;
  const byUserDelete = `DELETE FROM ${t} WHERE ${u} = ? AND ${e} > ?`;
  const raw = {
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
    prune: `DELETE FROM ${t} WHERE ${e} <= ?`,
    pruneLocks: `DELETE FROM ${l} WHERE ${q('expires_at')} <= ?`,
    ids: `SELECT ${k} AS ${q('key')} FROM ${t} WHERE ${e} > ? AND ${k} > ? ORDER BY ${k} LIMIT ${IDS_PAGE}`,
  };
  const built = Object.fromEntries(
    Object.entries(raw).map(([name, sql]) => [name, dialect.placeholders(sql)]),
  ) as typeof raw;
  // deleteByUser appends a NOT IN over a variable number of keys, then rewrites placeholders.
  return { ...built, byUserDelete };
}

function schemaText(ddl: readonly string[]): string {
  return `${ddl.join(';\n\n')};\n`;
}

function identifier(who: string, option: string, value: unknown, pattern: RegExp): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    const max = pattern === TABLE_PATTERN ? 48 : 63;
    throw new ConfigError(
      `${who}: \`${option}\` must be an identifier of 1–${max} letters, digits or underscores, not starting with a digit.`,
    );
  }
  return value;
}

/** A result row as a record, or `undefined` when absent or malformed (read as missing). */
/** Result rows (`key` + record columns) as store entries; malformed rows are skipped. */
export function toEntries(rows: readonly unknown[]): StoreEntry[] {
  const entries: StoreEntry[] = [];
  for (const row of rows) {
    const record = toRecord(row);
    const key = (row as { key?: unknown }).key;
    if (record && isStoreKey(key)) entries.push({ key, record });
  }
  return entries;
}

/**
 * A result row as a record (`data`, `version`, `expires_at`, `user_id` columns; integers as
 * number, string or bigint; text as string or bytes), or `undefined` when malformed.
 */
export function toRecord(row: unknown): StoreRecord | undefined {
  if (typeof row !== 'object' || row === null) return undefined;
  const r = row as Record<string, unknown>;
  const data = text(r.data);
  const version = integer(r.version);
  const expiresAt = integer(r.expires_at);
  const userId = r.user_id === null || r.user_id === undefined ? null : text(r.user_id);
  if (data === undefined || version === undefined || expiresAt === undefined) return undefined;
  if (userId === undefined) return undefined;
  return { data, version, expiresAt, userId };
}

/** Text from a text column (string) or a binary one (bytes, decoded as UTF-8). */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return UTF8.decode(value);
  return undefined;
}

/** A BIGINT as a number, whether the driver returns number, string (pg) or bigint. */
function integer(value: unknown): number | undefined {
  const n = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}
