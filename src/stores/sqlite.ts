/**
 * `sessionkit/stores/sqlite` — a session store on SQLite.
 *
 * Bring your own connection: any client with the small synchronous shape of
 * {@link SqliteClientLike} fits (better-sqlite3, or `node:sqlite`'s `DatabaseSync` on Node ≥ 22.5).
 * Statements are prepared once at construction and every key and user id travels as a bound
 * parameter. Each compare-and-set is a single statement, so it is atomic across connections and
 * processes sharing the database file. Docs: `docs/stores/sqlite.md`.
 */

import { ConfigError } from '../core/errors.js';
import {
  assertExpiresAt,
  assertLockOptions,
  assertStoreKey,
  assertStoreRecord,
  isStoreKey,
  type SessionStore,
  throwIfAborted,
  toStoreError,
} from '../core/store.js';
import { toEntries, toRecord } from './_sql.js';

const NAME = 'sqlite';
const DEFAULT_TABLE = 'sessionkit_sessions';
const TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Keys fetched per query while streaming `ids()`. */
const IDS_PAGE = 500;

/** A value bound to a statement parameter. */
export type SqliteParam = string | number | null;

/** The prepared-statement subset sessionkit uses (better-sqlite3 `Statement`, `StatementSync`). */
export interface SqliteStatementLike {
  /** Execute; `changes` is the number of rows inserted, updated or deleted. */
  run(...params: SqliteParam[]): { changes: number | bigint };
  /** First result row, or `undefined`. */
  get(...params: SqliteParam[]): unknown;
  /** All result rows. */
  all(...params: SqliteParam[]): unknown[];
}

/** The connection subset sessionkit uses (better-sqlite3 `Database`, `node:sqlite` `DatabaseSync`). */
export interface SqliteClientLike {
  /** Compile one SQL statement. */
  prepare(sql: string): SqliteStatementLike;
  /** Run SQL text with no parameters (used only for the shipped DDL). */
  exec(sql: string): unknown;
}

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** An open connection. The store never closes it. Required. */
  client: SqliteClientLike;
  /** Sessions table; must match `/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`. @default 'sessionkit_sessions' */
  table?: string | undefined;
  /** Lease-lock table; same pattern as `table`. @default `${table}_locks` */
  locksTable?: string | undefined;
  /** Run {@link sqliteSchema} (`CREATE … IF NOT EXISTS`) at construction. @default true */
  createTable?: boolean | undefined;
  /** Clock in milliseconds since the epoch, for expiry and lock leases. @default Date.now */
  now?: (() => number) | undefined;
}

/**
 * The DDL of the store: the sessions table (indexed on `expires_at` and `user_id`) and the
 * lease-lock table. Idempotent (`IF NOT EXISTS`). Throws `ConfigError` (`ERR_SESSION_CONFIG`)
 * for a table name outside `/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`.
 */
export function sqliteSchema(table: string = DEFAULT_TABLE, locksTable = `${table}_locks`): string {
  const t = tableName('table', table);
  const l = tableName('locksTable', locksTable);
  return `CREATE TABLE IF NOT EXISTS ${t} (
  key TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  version INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  user_id TEXT NULL
);
CREATE INDEX IF NOT EXISTS ${t}_expires_at_idx ON ${t} (expires_at);
CREATE INDEX IF NOT EXISTS ${t}_user_id_idx ON ${t} (user_id);
CREATE TABLE IF NOT EXISTS ${l} (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;
}

/**
 * Create a SQLite session store. Throws `ConfigError` (`ERR_SESSION_CONFIG`) for a missing client
 * or an invalid table name, and `StoreError` (`ERR_SESSION_STORE`) when creating the tables or
 * preparing the statements fails. Implements the full contract, including `lock`, `prune`,
 * `ids`, `listByUser` and `deleteByUser`; every method returns a promise and never throws
 * synchronously.
 */
export function sqliteStore(options: SqliteStoreOptions): SessionStore {
  const { client, createTable = true, now = Date.now } = options;
  if (typeof client?.prepare !== 'function' || typeof client.exec !== 'function') {
    throw new ConfigError(
      'sqliteStore: `client` must be an open SQLite connection (better-sqlite3 or node:sqlite).',
    );
  }
  const t = tableName('table', options.table ?? DEFAULT_TABLE);
  const l = tableName('locksTable', options.locksTable ?? `${t}_locks`);
  const cols = 'key, data, version, expires_at, user_id';
  const upsert = `INSERT INTO ${t} (${cols}) VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data, version = excluded.version, expires_at = excluded.expires_at, user_id = excluded.user_id`;
  const q = backend('init', () => {
    if (createTable) client.exec(sqliteSchema(t, l));
    const p = (sql: string) => client.prepare(sql);
    return {
      get: p(`SELECT ${cols} FROM ${t} WHERE key = ? AND expires_at > ?`),
      set: p(upsert),
      create: p(`${upsert} WHERE ${t}.expires_at <= ?`),
      replace: p(
        `UPDATE ${t} SET data = ?, version = ?, expires_at = ?, user_id = ? WHERE key = ? AND version = ? AND expires_at > ?`,
      ),
      touch: p(`UPDATE ${t} SET expires_at = ? WHERE key = ? AND expires_at > ?`),
      delete: p(`DELETE FROM ${t} WHERE key = ? AND expires_at > ?`),
      deleteIf: p(`DELETE FROM ${t} WHERE key = ? AND version = ? AND expires_at > ?`),
      lock: p(
        `INSERT INTO ${l} (key, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at WHERE ${l}.owner = excluded.owner OR ${l}.expires_at <= ?`,
      ),
      unlock: p(`DELETE FROM ${l} WHERE key = ? AND owner = ? AND expires_at > ?`),
      byUser: p(`SELECT ${cols} FROM ${t} WHERE user_id = ? AND expires_at > ?`),
      // The keys to keep travel as one JSON array parameter, expanded by json_each.
      deleteByUser: p(
        `DELETE FROM ${t} WHERE user_id = ? AND expires_at > ? AND key NOT IN (SELECT value FROM json_each(?))`,
      ),
      prune: p(`DELETE FROM ${t} WHERE expires_at <= ?`),
      pruneLocks: p(`DELETE FROM ${l} WHERE expires_at <= ?`),
      ids: p(
        `SELECT key FROM ${t} WHERE expires_at > ? AND key > ? ORDER BY key LIMIT ${IDS_PAGE}`,
      ),
    };
  });
  const changed = (r: { changes: number | bigint }) => Number(r.changes) > 0;

  return {
    name: NAME,
    async get(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return undefined;
      return toRecord(backend('get', () => q.get.get(key, now())));
    },
    async set(key, record, o) {
      throwIfAborted(o?.signal);
      assertStoreKey(key);
      assertStoreRecord(record);
      const { data, version, expiresAt, userId } = record;
      const v = o?.ifVersion;
      return backend('set', () => {
        if (v === undefined) return changed(q.set.run(key, data, version, expiresAt, userId));
        if (v === 0) return changed(q.create.run(key, data, version, expiresAt, userId, now()));
        return changed(q.replace.run(data, version, expiresAt, userId, key, v, now()));
      });
    },
    async touch(key, expiresAt, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      assertExpiresAt(expiresAt);
      return backend('touch', () => changed(q.touch.run(expiresAt, key, now())));
    },
    async delete(key, o) {
      throwIfAborted(o?.signal);
      if (!isStoreKey(key)) return false;
      const v = o?.ifVersion;
      return backend('delete', () =>
        changed(v === undefined ? q.delete.run(key, now()) : q.deleteIf.run(key, v, now())),
      );
    },
    async lock(key, o) {
      throwIfAborted(o.signal);
      assertStoreKey(key);
      assertLockOptions(o);
      const at = now();
      return backend('lock', () => changed(q.lock.run(key, o.owner, at + o.ttl, at)));
    },
    async unlock(key, o) {
      throwIfAborted(o.signal);
      if (!isStoreKey(key)) return false;
      return backend('unlock', () => changed(q.unlock.run(key, o.owner, now())));
    },
    async listByUser(userId, o) {
      throwIfAborted(o?.signal);
      return toEntries(backend('listByUser', () => q.byUser.all(userId, now())));
    },
    async deleteByUser(userId, o) {
      throwIfAborted(o?.signal);
      const except = JSON.stringify(o?.except ?? []);
      return backend('deleteByUser', () =>
        Number(q.deleteByUser.run(userId, now(), except).changes),
      );
    },
    async prune(o) {
      throwIfAborted(o?.signal);
      const at = now();
      return backend('prune', () => {
        q.pruneLocks.run(at);
        return Number(q.prune.run(at).changes);
      });
    },
    async *ids(o) {
      let after = '';
      for (;;) {
        throwIfAborted(o?.signal);
        const rows = backend('ids', () => q.ids.all(now(), after));
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

/** Run one backend call; the single place where SQLite errors become `StoreError`s. */
function backend<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw toStoreError(NAME, operation, error);
  }
}

function tableName(option: string, value: string): string {
  if (typeof value !== 'string' || !TABLE_PATTERN.test(value)) {
    throw new ConfigError(
      `sqliteStore: \`${option}\` must match /^[A-Za-z_][A-Za-z0-9_]{0,62}$/ (letters, digits, underscore).`,
    );
  }
  return value;
}
