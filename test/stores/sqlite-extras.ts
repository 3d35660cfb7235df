/**
 * The SQLite test harness shared by `sqlite.test.ts` (better-sqlite3) and `node-sqlite.test.ts`
 * (`node:sqlite`): the shared SQL extras' target on a temp database file, fresh in-memory
 * connections for the conformance suite, and the tests only a synchronous SQLite store has. It
 * imports no driver: each test file passes its own `open`, so the `node:sqlite` file runs on
 * Node versions where better-sqlite3's native build cannot load.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import {
  type SqliteClientLike,
  type SqliteParam,
  sqliteSchema,
  sqliteStore,
} from '../../src/stores/sqlite.js';
import {
  collect,
  type DescribeStoreOptions,
  record,
  type StoreSuiteContext,
  storeKey,
} from './conformance.js';
import {
  thrown as configError,
  describeSqlExtras,
  type SqlTarget,
  tableNames,
} from './sql-extras.js';

/** An open SQLite connection as the tests use it (better-sqlite3 `Database`, `DatabaseSync`). */
export interface SqliteTestDb extends SqliteClientLike {
  close(): unknown;
}

/** What {@link sqliteHarness} gives a test file. */
export interface SqliteHarness {
  /**
   * The whole SQLite suite for `describeStore`: stores on fresh in-memory connections, a broken
   * one (closed connection), and as extras the shared SQL extras plus the SQLite specifics.
   */
  suite: DescribeStoreOptions;
  /** The SQL extras' target: every store on one temp file (WAL, busy_timeout 5 s). */
  target: SqlTarget;
  /** A fresh in-memory connection (closed by {@link close}). */
  memory(): SqliteTestDb;
  /** Close every connection and remove the temp file. */
  close(): void;
}

/** The harness for one driver; `open(file)` opens a connection to a path or `':memory:'`. */
export function sqliteHarness(name: string, open: (file: string) => SqliteTestDb): SqliteHarness {
  const dir = mkdtempSync(join(tmpdir(), 'sessionkit-sqlite-'));
  const opened: SqliteTestDb[] = [];
  const connect = (file: string): SqliteTestDb => {
    const db = open(file);
    opened.push(db);
    return db;
  };
  const onFile = (): SqliteTestDb => {
    const db = connect(join(dir, 'sessions.db'));
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA busy_timeout = 5000');
    return db;
  };
  // Opened on first use: a file whose target never runs (a skipped suite) opens nothing.
  const connections: { main?: SqliteTestDb; second?: SqliteTestDb } = {};
  const shared = (which: 'main' | 'second'): SqliteTestDb => {
    connections[which] ??= onFile();
    return connections[which];
  };
  const main = (): SqliteTestDb => shared('main');
  const tables = tableNames();
  const target: SqlTarget = {
    name,
    maxTableLength: 63,
    eagerSetup: true,
    store(options, extra) {
      const db = shared(extra?.second ? 'second' : 'main');
      return sqliteStore({ ...options, client: recording(db, extra?.onSql) });
    },
    schema: (options) => sqliteSchema(options),
    table: () => tables.name(),
    async sql(text, params = []) {
      const statement = main().prepare(text);
      const values = params as SqliteParam[];
      if (/^\s*SELECT\b/i.test(text)) return statement.all(...values) as Record<string, unknown>[];
      statement.run(...values);
      return [];
    },
    async columns(table) {
      const rows = main().prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      return rows.map((row) => row.name.toLowerCase());
    },
  };
  const harness: SqliteHarness = {
    suite: {
      name,
      create: () => sqliteStore({ client: connect(':memory:') }),
      createBroken() {
        const db = connect(':memory:');
        const store = sqliteStore({ client: db });
        db.close(); // prepared statements now throw: the database connection is not open
        return store;
      },
      extra(ctx) {
        describeSqlExtras(target, ctx);
        describeSqliteExtras(harness, ctx);
      },
    },
    target,
    memory: () => connect(':memory:'),
    close() {
      for (const db of opened) {
        try {
          db.close();
        } catch {
          // node:sqlite refuses to close twice; createBroken closed this one already.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The client, wrapped so `onSql` sees every statement it executes, with its parameters. */
function recording(
  db: SqliteClientLike,
  onSql?: (sql: string, params: readonly unknown[]) => void,
): SqliteClientLike {
  if (onSql === undefined) return db;
  return {
    exec(sql) {
      onSql(sql, []);
      return db.exec(sql);
    },
    prepare(sql) {
      const statement = db.prepare(sql);
      const seen = <T>(params: SqliteParam[], result: () => T): T => {
        onSql(sql, params);
        return result();
      };
      return {
        run: (...params) => seen(params, () => statement.run(...params)),
        get: (...params) => seen(params, () => statement.get(...params)),
        all: (...params) => seen(params, () => statement.all(...params)),
      };
    },
  };
}

/** The tests only a synchronous SQLite store has. */
function describeSqliteExtras(sqlite: SqliteHarness, { track }: StoreSuiteContext): void {
  describe(`${sqlite.target.name} specifics`, () => {
    it('refuses invalid table names with ERR_SESSION_CONFIG naming the option', () => {
      const db = sqlite.memory();
      const bad = ['', '1abc', 'a-b', 'x; DROP TABLE y', 'a'.repeat(64), 'sessions"', 'é'];
      for (const table of bad) {
        const error = configError(() => sqliteStore({ client: db, table }));
        expect(isSessionError(error, 'ERR_SESSION_CONFIG'), table).toBe(true);
        expect((error as Error).message).toContain('`table`');
        const locks = configError(() => sqliteStore({ client: db, locksTable: table }));
        expect(isSessionError(locks, 'ERR_SESSION_CONFIG'), table).toBe(true);
        expect((locks as Error).message).toContain('`locksTable`');
        expect(
          isSessionError(
            configError(() => sqliteSchema(table)),
            'ERR_SESSION_CONFIG',
          ),
        ).toBe(true);
      }
      const missing = configError(() => sqliteStore({} as never));
      expect(isSessionError(missing, 'ERR_SESSION_CONFIG')).toBe(true);
      expect(db.prepare('SELECT count(*) AS n FROM sqlite_master').get()).toEqual({ n: 0 });
    });

    it('accepts table names up to 63 characters', async () => {
      const [table, locksTable] = ['t'.repeat(63), 'l'.repeat(63)];
      const store = track(sqliteStore({ client: sqlite.memory(), table, locksTable }));
      await expect(store.set(storeKey(), record())).resolves.toBe(true);
      expect(sqliteSchema(table, locksTable)).toContain(`CREATE TABLE IF NOT EXISTS ${table} (`);
    });

    it('ships DDL with indexes on the expiry hour and set user ids; createTable false runs none', () => {
      const ddl = sqliteSchema('t1');
      expect(ddl).toMatch(/CREATE TABLE IF NOT EXISTS t1 \(/);
      expect(ddl).toMatch(/CREATE INDEX IF NOT EXISTS \w+ ON t1 \(\(expires_at \/ 3600000\)\)/);
      expect(ddl).toMatch(
        /CREATE INDEX IF NOT EXISTS \w+ ON t1 \(user_id\) WHERE user_id IS NOT NULL/,
      );
      expect(ddl).toMatch(/CREATE TABLE IF NOT EXISTS t1_locks \(/);
      const db = sqlite.memory();
      // Without the tables, preparing the statements fails: a StoreError at construction.
      const error = configError(() => sqliteStore({ client: db, table: 't1', createTable: false }));
      expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
      db.exec(ddl);
      db.exec(ddl); // idempotent
      expect(() => sqliteStore({ client: db, table: 't1', createTable: false })).not.toThrow();
    });

    it('returns promises and never throws synchronously, even on a closed database', async () => {
      const db = sqlite.memory();
      const store = sqliteStore({ client: db });
      db.close();
      let sync: unknown;
      const calls: Promise<unknown>[] = [];
      try {
        calls.push(store.get(storeKey()), store.set(storeKey(), record()));
        calls.push(store.set('../bad', record()), store.prune!());
      } catch (error) {
        sync = error;
      }
      expect(sync).toBeUndefined();
      for (const call of calls) expect(call).toBeInstanceOf(Promise);
      const errors = await Promise.all(calls.map((call) => call.catch((e: unknown) => e)));
      expect(errors.map((e) => (e as { code?: string }).code)).toEqual([
        'ERR_SESSION_STORE',
        'ERR_SESSION_STORE',
        'ERR_SESSION_INVALID_KEY',
        'ERR_SESSION_STORE',
      ]);
    });

    it('prepares each statement once, at construction, and reuses it (a cache per store)', async () => {
      const db = sqlite.memory();
      const prepared: string[] = [];
      const client: SqliteClientLike = {
        prepare(sql) {
          prepared.push(sql);
          return db.prepare(sql);
        },
        exec: (sql) => db.exec(sql),
      };
      const store = track(sqliteStore({ client }));
      const atConstruction = prepared.length;
      expect(atConstruction).toBeGreaterThan(10);
      expect(new Set(prepared).size).toBe(atConstruction);
      const key = storeKey();
      for (let version = 1; version <= 3; version++) {
        await store.set(key, record({ version, userId: 'u' }), { ifVersion: version - 1 });
        await store.get(key);
        await store.touch(key, Date.now() + 60_000);
        await store.lock(key, { owner: 'o', ttl: 1000 });
        await store.unlock(key, { owner: 'o' });
        await store.listByUser('u');
        await collect(store.ids());
        await store.prune();
        await store.migrate();
      }
      expect(prepared.length).toBe(atConstruction);
      // The keys to keep travel as one JSON parameter: one statement for any number of them.
      await store.deleteByUser('u', { except: [storeKey()] });
      await store.deleteByUser('u', { except: [storeKey(), storeKey(), storeKey()] });
      expect(prepared.length).toBe(atConstruction + 1);
      await expect(store.get(key)).resolves.toBeUndefined();
      track(sqliteStore({ client })); // another store: a cache of its own
      expect(prepared.length).toBe(2 * atConstruction + 1);
    });
  });
}
