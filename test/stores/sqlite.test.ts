import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import type { SessionStore } from '../../src/core/store.js';
import { type SqliteClientLike, sqliteSchema, sqliteStore } from '../../src/stores/sqlite.js';
import { collect, describeStore, HOUR, record, storeKey } from './conformance.js';

const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

/** Every connection opened by a test, closed after all of them. */
const connections: Database.Database[] = [];
function connect(file = ':memory:'): Database.Database {
  const db = new Database(file);
  connections.push(db);
  return db;
}
afterAll(() => {
  for (const db of connections) if (db.open) db.close();
});

function configError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describeStore({
  name: 'sqlite',
  create: () => sqliteStore({ client: connect() }),
  createBroken: () => {
    const db = connect();
    const store = sqliteStore({ client: db });
    db.close(); // prepared statements now throw "The database connection is not open"
    return store;
  },
  extra: ({ track }) => {
    describe('sqlite specifics', () => {
      it('uses custom table names, and keeps stores on different tables apart', async () => {
        const db = connect();
        const a = track(sqliteStore({ client: db, table: 'my_sessions', locksTable: 'my_locks' }));
        const b = track(sqliteStore({ client: db, table: 'Other_1' }));
        const key = storeKey();
        await a.set(key, record({ userId: 'u' }));
        await expect(a.lock!(key, { owner: 'o', ttl: 10_000 })).resolves.toBe(true);
        await expect(b.get(key)).resolves.toBeUndefined();
        await expect(b.lock!(key, { owner: 'p', ttl: 10_000 })).resolves.toBe(true);
        const tables = db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
          .all()
          .map((row) => (row as { name: string }).name);
        expect(tables).toEqual(['Other_1', 'Other_1_locks', 'my_locks', 'my_sessions']);
        expect(db.prepare('SELECT key, user_id FROM my_sessions').all()).toEqual([
          { key, user_id: 'u' },
        ]);
      });

      it('refuses invalid table names with ERR_SESSION_CONFIG naming the option', () => {
        const db = connect();
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

      it('ships DDL with indexes on expires_at and user_id; createTable false runs none', () => {
        const ddl = sqliteSchema('t1');
        expect(ddl).toMatch(/CREATE TABLE IF NOT EXISTS t1 \(/);
        expect(ddl).toMatch(/CREATE INDEX IF NOT EXISTS \w+ ON t1 \(expires_at\)/);
        expect(ddl).toMatch(/CREATE INDEX IF NOT EXISTS \w+ ON t1 \(user_id\)/);
        expect(ddl).toMatch(/CREATE TABLE IF NOT EXISTS t1_locks \(/);
        const db = connect();
        // Without the tables, preparing the statements fails: a StoreError at construction.
        const error = configError(() =>
          sqliteStore({ client: db, table: 't1', createTable: false }),
        );
        expect(isSessionError(error, 'ERR_SESSION_STORE')).toBe(true);
        db.exec(ddl);
        db.exec(ddl); // idempotent
        expect(() => sqliteStore({ client: db, table: 't1', createTable: false })).not.toThrow();
      });

      it('never puts a key, user id, owner or payload into SQL text', async () => {
        const db = connect();
        const texts: string[] = [];
        const client: SqliteClientLike = {
          prepare: (sql) => {
            texts.push(sql);
            return db.prepare(sql);
          },
          exec: (sql) => {
            texts.push(sql);
            return db.exec(sql);
          },
        };
        const store = track(sqliteStore({ client }));
        const key = storeKey();
        const user = "evil'); DROP TABLE sessionkit_sessions; --";
        const owner = 'owner-token-1234';
        const data = 'secret-payload-5678';
        await store.set(key, record({ data, userId: user }), { ifVersion: 0 });
        await store.set(key, record({ data, userId: user, version: 2 }), { ifVersion: 1 });
        await store.get(key);
        await store.touch(key, Date.now() + HOUR);
        await store.lock!(key, { owner, ttl: 1000 });
        await store.unlock!(key, { owner });
        await store.listByUser!(user);
        await collect(store.ids!());
        await store.deleteByUser!(user, { except: [storeKey()] });
        await store.delete(key, { ifVersion: 2 });
        await store.prune!();
        expect(texts.length).toBeGreaterThan(5);
        for (const sql of texts) {
          for (const secret of [key, user, owner, data, 'DROP']) expect(sql).not.toContain(secret);
        }
        expect(db.prepare('SELECT count(*) AS n FROM sessionkit_sessions').get()).toEqual({ n: 0 });
      });

      it('returns promises and never throws synchronously, even on a closed database', async () => {
        const db = connect();
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

      it('prunes expired rows and expired lock leases in the database', async () => {
        let clock = 1_000_000;
        const db = connect();
        const store = track(sqliteStore({ client: db, now: () => clock }));
        const [live, old] = [storeKey(), storeKey()];
        await store.set(live, record({ expiresAt: clock + 10_000 }));
        await store.set(old, record({ expiresAt: clock + 10 }));
        await store.lock!(live, { owner: 'a', ttl: 10_000 });
        await store.lock!(old, { owner: 'a', ttl: 10 });
        clock += 100;
        await expect(store.prune!()).resolves.toBe(1);
        const count = (table: string) => db.prepare(`SELECT count(*) AS n FROM ${table}`).get();
        expect(count('sessionkit_sessions')).toEqual({ n: 1 });
        expect(count('sessionkit_sessions_locks')).toEqual({ n: 1 });
        await expect(store.lock!(live, { owner: 'b', ttl: 10 })).resolves.toBe(false);
      });

      it('pages ids() through more keys than one page', async () => {
        const store = track(sqliteStore({ client: connect() }));
        const db = connections.at(-1)!;
        const insert = db.prepare(
          'INSERT INTO sessionkit_sessions (key, data, version, expires_at, user_id) VALUES (?, ?, 1, ?, NULL)',
        );
        const keys = Array.from({ length: 1234 }, storeKey);
        db.transaction(() => {
          for (const key of keys) insert.run(key, 'x', Date.now() + HOUR);
        })();
        const ids = await collect(store.ids!());
        expect(ids).toHaveLength(keys.length);
        expect(new Set(ids)).toEqual(new Set(keys));
      });

      it('two connections to one database file serialize concurrent CAS and share locks', async () => {
        const dir = await mkdtemp(join(tmpdir(), 'sessionkit-sqlite-'));
        temps.push(dir);
        const file = join(dir, 'sessions.db');
        const stores: SessionStore[] = [];
        for (let i = 0; i < 2; i++) {
          const db = connect(file);
          db.pragma('journal_mode = WAL');
          db.pragma('busy_timeout = 5000');
          stores.push(track(sqliteStore({ client: db })));
        }
        const [a, b] = stores as [SessionStore, SessionStore];
        const key = storeKey();
        await a.set(key, record({ data: '0', version: 1 }));
        const worker = async (store: SessionStore, n: number): Promise<number> => {
          let conflicts = 0;
          for (let i = 0; i < n; i++) {
            for (;;) {
              const current = (await store.get(key))!;
              const next = { ...current, data: String(Number(current.data) + 1) };
              next.version = current.version + 1;
              if (await store.set(key, next, { ifVersion: current.version })) break;
              conflicts++;
            }
          }
          return conflicts;
        };
        await Promise.all([worker(a, 40), worker(b, 40), worker(a, 40), worker(b, 40)]);
        await expect(b.get(key)).resolves.toMatchObject({ data: '160', version: 161 });
        await expect(a.lock!(key, { owner: 'a', ttl: 10_000 })).resolves.toBe(true);
        await expect(b.lock!(key, { owner: 'b', ttl: 10_000 })).resolves.toBe(false);
        await expect(b.unlock!(key, { owner: 'a' })).resolves.toBe(true);
        await expect(b.set(key, record({ version: 1 }), { ifVersion: 0 })).resolves.toBe(false);
      });
    });
  },
});
