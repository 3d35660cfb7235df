/**
 * Rules of the SQL stores' shared core (`src/stores/_sql.ts`) that the conformance suite and the
 * SQL extras leave unpinned, found by its mutation run (docs/testing.md), on the real databases:
 * SQLite (better-sqlite3, in memory), PostgreSQL and MySQL/MariaDB. Option messages, the abort
 * check before any key or argument check, `except` values that are not store keys, the operation
 * each method names in its `StoreError` (on tables dropped under the store; SQLite's `init` at
 * construction), and — MySQL being the one `'insert-then-update'` dialect — what an `INSERT`
 * failing for another reason than a duplicate key does.
 */

import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import type { SqlSessionStore, SqlStoreOptions } from '../../src/stores/_sql.js';
import { type MysqlPoolLike, mysqlStore } from '../../src/stores/mysql.js';
import { type PgPoolLike, postgresStore } from '../../src/stores/postgres.js';
import { type SqliteClientLike, sqliteStore } from '../../src/stores/sqlite.js';
import { MYSQL_URL, POSTGRES_URL } from '../support/backends.js';
import { collect, HOUR, record, storeKey } from './conformance.js';
import { tableNames, thrown } from './sql-extras.js';

/** Sees every statement text; may throw instead of running it (a fault). */
type Hook = (sql: string) => Error | undefined;

interface Target {
  name: string;
  factory: string;
  /** The server answers (SQLite always does). */
  up: Promise<boolean>;
  /** A store on a fresh table, migrated (SQLite: set up at construction). */
  open(options?: SqlStoreOptions, hook?: Hook): Promise<SqlSessionStore>;
  /** Construct only: the factory with `options`, statements seen by `hook`. */
  create(options: SqlStoreOptions, hook?: Hook): SqlSessionStore;
  /** A store set up on `table`, whose tables (`table`, `table_locks`) were then dropped. */
  dropped(table: string): Promise<SqlSessionStore>;
  /** The driver's message for a statement on `table` once it is dropped. */
  missing(table: string): string;
}

/** `CI=true`: an unreachable server fails the run; otherwise its tests are a visible skip. */
function reachable(probe: Promise<unknown>): Promise<boolean> {
  return probe.then(
    () => true,
    (error: unknown) => {
      if (process.env.CI === 'true') throw error;
      return false;
    },
  );
}

const tables = tableNames();
const sqliteDbs: Database.Database[] = [];
const pgPool = new pg.Pool({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
pgPool.on('error', () => {}); // an idle client dropped by the server; the next query reports it
const mysqlPool = mysql.createPool({ uri: MYSQL_URL, connectTimeout: 2000 });

afterAll(async () => {
  for (const db of sqliteDbs) db.close();
  await tables.drop((sql) => pgPool.query(sql)).catch(() => {});
  await tables.drop((sql) => mysqlPool.query(sql)).catch(() => {});
  await pgPool.end();
  await mysqlPool.end();
});

/** A fresh in-memory SQLite connection; `hook` sees every statement prepared or executed. */
function sqliteClient(hook?: Hook): SqliteClientLike {
  const db = new Database(':memory:');
  sqliteDbs.push(db);
  if (hook === undefined) return db;
  return {
    prepare: (sql) => {
      const fault = hook(sql);
      if (fault) throw fault;
      return db.prepare(sql);
    },
    exec: (sql) => {
      const fault = hook(sql);
      if (fault) throw fault;
      return db.exec(sql);
    },
  };
}

function pgClient(hook?: Hook): PgPoolLike {
  if (hook === undefined) return pgPool;
  return {
    query: (text, values) => {
      const fault = hook(typeof text === 'string' ? text : text.text);
      return fault ? Promise.reject(fault) : pgPool.query(text, values);
    },
  };
}

function mysqlClient(hook?: Hook): MysqlPoolLike {
  if (hook === undefined) return mysqlPool;
  return {
    execute: (sql, values) => {
      const fault = hook(sql);
      return fault ? Promise.reject(fault) : mysqlPool.execute(sql, values);
    },
    query: (sql) => {
      const fault = hook(sql);
      return fault ? Promise.reject(fault) : mysqlPool.query(sql);
    },
  };
}

const TARGETS: Target[] = [
  {
    name: 'sqlite',
    factory: 'sqliteStore',
    up: Promise.resolve(true),
    open: async (options = {}, hook) =>
      sqliteStore({ table: tables.name(), ...options, client: sqliteClient(hook) }),
    create: (options, hook) => sqliteStore({ ...options, client: sqliteClient(hook) }),
    async dropped(table) {
      const db = new Database(':memory:');
      sqliteDbs.push(db);
      // Set up (tables created, every fixed statement prepared) before the tables go.
      const store = sqliteStore({ table, client: db });
      db.exec(`DROP TABLE ${table}; DROP TABLE ${table}_locks`);
      return store;
    },
    missing: (table) => `no such table: ${table}`,
  },
  {
    name: 'postgres',
    factory: 'postgresStore',
    up: reachable(pgPool.query('SELECT 1')),
    async open(options = {}, hook) {
      const store = postgresStore({ table: tables.name(), ...options, pool: pgClient(hook) });
      await store.migrate();
      return store;
    },
    create: (options, hook) => postgresStore({ ...options, pool: pgClient(hook) }),
    async dropped(table) {
      const store = await this.open({ table });
      await pgPool.query(`DROP TABLE ${table}, ${table}_locks`);
      return store;
    },
    missing: (table) => `relation "${table}" does not exist`,
  },
  {
    name: 'mysql',
    factory: 'mysqlStore',
    up: reachable(mysqlPool.query('SELECT 1')),
    async open(options = {}, hook) {
      const store = mysqlStore({ table: tables.name(), ...options, pool: mysqlClient(hook) });
      await store.migrate();
      return store;
    },
    create: (options, hook) => mysqlStore({ ...options, pool: mysqlClient(hook) }),
    async dropped(table) {
      const store = await this.open({ table });
      await mysqlPool.query(`DROP TABLE ${table}, ${table}_locks`);
      return store;
    },
    missing: (table) => `Table '${new URL(MYSQL_URL).pathname.slice(1)}.${table}' doesn't exist`,
  },
];

for (const target of TARGETS) {
  const up = await target.up;
  const skip = up ? '' : ' (skipped: server unreachable)';
  describe.skipIf(!up)(`${target.name}: the SQL core's rules${skip}`, () => {
    it('refuses a `now` or `createTable` of the wrong type with the exact message, before any SQL', () => {
      const seen: string[] = [];
      const hook: Hook = (sql) => void seen.push(sql);
      for (const now of [42, 'Date.now', null, {}]) {
        const error = thrown(() => target.create({ now: now as never }, hook));
        expect(isSessionError(error, 'ERR_SESSION_CONFIG'), String(now)).toBe(true);
        expect((error as Error).message).toBe(
          `${target.factory}: \`now\` must be a function returning epoch ms.`,
        );
      }
      for (const createTable of ['yes', 1, 0, null]) {
        const error = thrown(() => target.create({ createTable: createTable as never }, hook));
        expect(isSessionError(error, 'ERR_SESSION_CONFIG'), String(createTable)).toBe(true);
        expect((error as Error).message).toBe(
          `${target.factory}: \`createTable\` must be a boolean.`,
        );
      }
      expect(seen).toEqual([]);
    });

    it('checks an aborted signal before the key and the arguments', async () => {
      const store = await target.open();
      const reason = new Error('stopped first');
      const signal = AbortSignal.abort(reason);
      for (const bad of ['not a key', '', 'x'.repeat(300)]) {
        await expect(store.get(bad, { signal })).rejects.toBe(reason);
        await expect(store.set(bad, record(), { signal })).rejects.toBe(reason);
        await expect(store.touch(bad, Number.NaN, { signal })).rejects.toBe(reason);
        await expect(store.delete(bad, { signal })).rejects.toBe(reason);
        await expect(store.lock(bad, { owner: '', ttl: 0, signal })).rejects.toBe(reason);
        await expect(store.unlock(bad, { owner: '', signal })).rejects.toBe(reason);
      }
      const key = storeKey();
      const malformed = { ...record(), version: 0 };
      await expect(store.set(key, malformed, { signal })).rejects.toBe(reason);
      await expect(store.touch(key, Number.NaN, { signal })).rejects.toBe(reason);
      await expect(store.lock(key, { owner: 'a', ttl: -1, signal })).rejects.toBe(reason);
      await expect(store.unlock(key, { owner: '', signal })).rejects.toBe(reason);
      // Without a signal the same calls are answered by the key and argument checks.
      await expect(store.get('not a key')).resolves.toBeUndefined();
      await expect(store.touch('not a key', Date.now() + HOUR)).resolves.toBe(false);
      await expect(store.delete('not a key')).resolves.toBe(false);
      await expect(store.unlock('not a key', { owner: 'a' })).resolves.toBe(false);
      await expect(store.set(key, malformed)).rejects.toThrow(TypeError);
    });

    it('deleteByUser ignores `except` values that are not store keys', async () => {
      const store = await target.open();
      const [a, b, other] = [storeKey(), storeKey(), storeKey()];
      await store.set(a, record({ userId: 'u' }));
      await store.set(b, record({ userId: 'u' }));
      await store.set(other, record({ userId: 'v' }));
      // A NULL in a NOT IN list would match no row at all: non-keys must never reach the SQL.
      const except = [null, 'not a key', '', 7] as unknown as string[];
      await expect(store.deleteByUser('u', { except })).resolves.toBe(2);
      await expect(store.get(a)).resolves.toBeUndefined();
      await expect(store.get(b)).resolves.toBeUndefined();
      await expect(store.listByUser('v')).resolves.toMatchObject([{ key: other }]);
      await store.set(a, record({ userId: 'v' }));
      await expect(store.deleteByUser('v', { except: [] })).resolves.toBe(2);
      await expect(store.listByUser('v')).resolves.toEqual([]);
    });

    it('names the failing operation in the StoreError message, the driver error as cause', async () => {
      const table = tables.name();
      const store = await target.dropped(table);
      const key = storeKey();
      const owner = { owner: 'o' };
      // Every statement path of each method (set: upsert, replace, create; lock: the dialect's).
      const calls: [string, string, () => Promise<unknown>][] = [
        ['get', table, () => store.get(key)],
        ['set', table, () => store.set(key, record())],
        ['set', table, () => store.set(key, record({ version: 2 }), { ifVersion: 1 })],
        ['set', table, () => store.set(key, record(), { ifVersion: 0 })],
        ['touch', table, () => store.touch(key, Date.now() + HOUR)],
        ['delete', table, () => store.delete(key)],
        ['delete', table, () => store.delete(key, { ifVersion: 1 })],
        ['lock', `${table}_locks`, () => store.lock(key, { ...owner, ttl: HOUR })],
        ['unlock', `${table}_locks`, () => store.unlock(key, owner)],
        ['listByUser', table, () => store.listByUser('u')],
        ['deleteByUser', table, () => store.deleteByUser('u')],
        ['deleteByUser', table, () => store.deleteByUser('u', { except: [key] })],
        ['ids', table, () => collect(store.ids())],
      ];
      for (const [operation, missing, call] of calls) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isSessionError(error, 'ERR_SESSION_STORE'), operation).toBe(true);
        expect((error as Error).message).toBe(
          `The ${target.name} session store failed during ${operation}.`,
        );
        expect(((error as Error).cause as Error).message).toBe(target.missing(missing));
      }
    });
  });
}

describe('sqlite: a setup failing at construction', () => {
  it('throws a StoreError naming `init`, the driver error as cause', () => {
    const empty = sqliteClient();
    const closed = new Database(':memory:');
    closed.close();
    const cases: [SqliteClientLike, boolean, string][] = [
      // No tables and no DDL: preparing the first statement fails.
      [empty, false, 'no such table: sessionkit_sessions'],
      // A closed connection: the DDL fails.
      [closed, true, 'The database connection is not open'],
    ];
    for (const [client, createTable, cause] of cases) {
      const error = thrown(() => sqliteStore({ client, createTable }));
      expect(isSessionError(error, 'ERR_SESSION_STORE'), cause).toBe(true);
      expect((error as Error).message).toBe('The sqlite session store failed during init.');
      expect(((error as Error).cause as Error).message).toBe(cause);
    }
  });
});

const mysqlUp = await TARGETS[2]!.up;
describe.skipIf(!mysqlUp)(
  'mysql: an INSERT failing for another reason than a duplicate key',
  () => {
    /** A store whose next INSERT fails with `fault`; records every statement. */
    const faulty = async (fault: Error, now?: () => number) => {
      const seen: string[] = [];
      let armed = false;
      const store = await TARGETS[2]!.open({ now }, (sql) => {
        seen.push(sql);
        if (armed && sql.startsWith('INSERT')) {
          armed = false;
          return fault;
        }
        return undefined;
      });
      const arm = () => {
        armed = true;
      };
      return { store, seen, arm };
    };

    it('rejects a create with that error as cause and tries no takeover', async () => {
      const fault = Object.assign(new Error('Lock wait timeout exceeded'), { errno: 1205 });
      const { store, seen, arm } = await faulty(fault);
      const key = storeKey();
      // An expired record: the guarded takeover (UPDATE) would succeed if it were tried.
      await store.set(key, record({ expiresAt: Date.now() - HOUR }));
      arm();
      seen.length = 0;
      const error = await store.set(key, record(), { ifVersion: 0 }).catch((e: unknown) => e);
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      expect((error as Error).cause).toBe(fault);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^INSERT INTO/);
      await expect(store.get(key)).resolves.toBeUndefined();
      await expect(store.set(key, record({ data: 'then' }), { ifVersion: 0 })).resolves.toBe(true);
      await expect(store.get(key)).resolves.toMatchObject({ data: 'then' });
    });

    it('rejects a lock with that error as cause and tries no takeover', async () => {
      const fault = Object.assign(new Error('Lock wait timeout exceeded'), { errno: 1205 });
      let clock = Date.now();
      const { store, seen, arm } = await faulty(fault, () => clock);
      const key = storeKey();
      // A lease already past: the takeover would succeed if it were tried.
      await expect(store.lock(key, { owner: 'old', ttl: 10 })).resolves.toBe(true);
      clock += 1000;
      arm();
      seen.length = 0;
      const error = await store.lock(key, { owner: 'new', ttl: HOUR }).catch((e: unknown) => e);
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      expect((error as Error).cause).toBe(fault);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^INSERT INTO/);
      await expect(store.unlock(key, { owner: 'new' })).resolves.toBe(false);
      await expect(store.lock(key, { owner: 'new', ttl: HOUR })).resolves.toBe(true);
    });
  },
);
