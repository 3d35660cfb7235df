/**
 * Store-specific tests shared by the SQL stores (PostgreSQL, MySQL, SQLite on better-sqlite3 and
 * on `node:sqlite`; all built on `_sql.ts`), run inside `describeStore`'s `extra` against the
 * real databases.
 */

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import type { SessionStore } from '../../src/core/store.js';
import type { SqlSchemaOptions, SqlSessionStore, SqlStoreOptions } from '../../src/stores/_sql.js';
import { collect, HOUR, record, type StoreSuiteContext, storeKey } from './conformance.js';

/** What a SQL store's test file provides to {@link describeSqlExtras}. */
export interface SqlTarget {
  /** Store name. */
  name: string;
  /**
   * A store on a fresh client wrapper. `onSql` sees every statement's text and parameters;
   * `second` uses another pool (other connections) on the same database.
   */
  store(
    options: SqlStoreOptions,
    extra?: { onSql?: (sql: string, params: readonly unknown[]) => void; second?: boolean },
  ): SqlSessionStore;
  /** The schema function of the store. */
  schema(options?: SqlSchemaOptions): string;
  /** A fresh random table name (`sk_<hex>`), dropped with its locks table after all tests. */
  table(): string;
  /** Run an admin statement (`?` placeholders) on the main pool; resolves its rows. */
  sql(text: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /** Column names of a table, lowercase, in order (columns the database derives left out). */
  columns(table: string): Promise<string[]>;
  /**
   * The column list of a raw `INSERT` of the five session columns (needed where a table has a
   * derived column and `INSERT … VALUES` must name its columns). @default none
   */
  insertColumns?: string;
  /** Longest table name the store accepts. @default 48 */
  maxTableLength?: number;
  /**
   * The store applies its DDL (`createTable`, on by default) and prepares its statements while
   * it is constructed (SQLite), so the lazy-`createTable` test does not apply: the target's own
   * test file covers construction instead. @default false
   */
  eagerSetup?: boolean;
}

/** What `fn` throws, or `undefined` when it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Define the shared SQL specifics. Call it from `describeStore({ extra })`. */
export function describeSqlExtras(target: SqlTarget, { track }: StoreSuiteContext): void {
  const migrated = async (
    options: SqlStoreOptions = {},
    extra?: Parameters<SqlTarget['store']>[1],
  ) => {
    const store = track(target.store({ table: target.table(), ...options }, extra));
    await store.migrate();
    return store;
  };

  /** A table name with the column list of a raw session-row `INSERT`, if the target needs one. */
  const into = (table: string) =>
    `${table}${target.insertColumns ? ` ${target.insertColumns}` : ''}`;

  describe(`${target.name} (SQL) specifics`, () => {
    it('uses custom table and column names, and keeps stores on different tables apart', async () => {
      const table = target.table();
      const columns = {
        key: 'sid',
        data: 'payload',
        version: 'rev',
        expiresAt: 'expires',
        userId: 'Owner_Id',
      };
      const a = await migrated({ table, locksTable: `${table}_locks`, columns });
      const b = await migrated();
      expect(await target.columns(table)).toEqual(['sid', 'payload', 'rev', 'expires', 'owner_id']);
      const key = storeKey();
      const written = record({ userId: 'u', data: 'custom' });
      await expect(a.set(key, written, { ifVersion: 0 })).resolves.toBe(true);
      await expect(a.get(key)).resolves.toStrictEqual(written);
      await expect(a.set(key, { ...written, version: 2 }, { ifVersion: 1 })).resolves.toBe(true);
      await expect(a.touch(key, Date.now() + 2 * HOUR)).resolves.toBe(true);
      await expect(a.listByUser('u')).resolves.toMatchObject([{ key, record: { version: 2 } }]);
      await expect(collect(a.ids())).resolves.toEqual([key]);
      await expect(a.lock(key, { owner: 'o', ttl: 10_000 })).resolves.toBe(true);
      await expect(b.get(key)).resolves.toBeUndefined();
      await expect(b.lock(key, { owner: 'p', ttl: 10_000 })).resolves.toBe(true);
      const rows = await target.sql(`SELECT sid, rev FROM ${table}`);
      expect(rows.map((row) => [row.sid, Number(row.rev)])).toEqual([[key, 2]]);
      await expect(a.deleteByUser('u')).resolves.toBe(1);
    });

    it('refuses invalid identifiers with ERR_SESSION_CONFIG naming the option, before any SQL', () => {
      const seen: string[] = [];
      const onSql = (sql: string) => void seen.push(sql);
      const bad = ['', '1abc', 'a-b', 'x; DROP TABLE y', 'a"b', 'a`b', 'é', 'a b', 'a'.repeat(64)];
      const cases: [SqlStoreOptions, string][] = [];
      for (const name of bad) {
        cases.push([{ table: name }, '`table`'], [{ locksTable: name }, '`locksTable`']);
        cases.push([{ columns: { data: name } }, '`columns.data`']);
        cases.push([{ columns: { userId: name } }, '`columns.userId`']);
      }
      cases.push([{ table: 'a'.repeat((target.maxTableLength ?? 48) + 1) }, '`table`']);
      cases.push([{ table: 'same', locksTable: 'same' }, '`locksTable`']);
      cases.push([{ columns: { data: 'x', version: 'X' } }, '`columns`']);
      cases.push([{ columns: { payload: 'x' } as never }, '`columns.payload`']);
      cases.push([{ createTable: 'yes' as never }, '`createTable`']);
      for (const [options, option] of cases) {
        const error = thrown(() => target.store(options, { onSql }));
        expect(isSessionError(error, 'ERR_SESSION_CONFIG'), JSON.stringify(options)).toBe(true);
        expect((error as Error).message).toContain(option);
        const schemaError = thrown(() => target.schema(options));
        if (option !== '`createTable`') {
          expect(isSessionError(schemaError, 'ERR_SESSION_CONFIG'), option).toBe(true);
        }
      }
      expect(seen).toEqual([]);
    });

    it('never puts a key, user id, owner or payload into SQL text', async () => {
      const texts: string[] = [];
      const params: unknown[] = [];
      const onSql = (sql: string, values: readonly unknown[]) => {
        texts.push(sql);
        params.push(...values);
      };
      const store = await migrated({}, { onSql });
      const key = storeKey();
      const other = storeKey();
      const user = "evil'); DROP TABLE users; --";
      const owner = 'owner-token-1234';
      const data = 'secret-payload-5678';
      await store.set(key, record({ data, userId: user }), { ifVersion: 0 });
      await store.set(key, record({ data, userId: user }), { ifVersion: 0 });
      await store.set(key, record({ data, userId: user, version: 2 }), { ifVersion: 1 });
      await store.set(other, record({ data, userId: user }));
      await store.get(key);
      await store.touch(key, Date.now() + HOUR);
      await store.lock(key, { owner, ttl: 1000 });
      await store.lock(key, { owner, ttl: 1000 });
      await store.unlock(key, { owner });
      await store.listByUser(user);
      await collect(store.ids());
      await store.deleteByUser(user, { except: [other, storeKey()] });
      await store.delete(other, { ifVersion: 1 });
      await store.delete(key);
      await store.prune();
      expect(texts.length).toBeGreaterThan(15);
      for (const sql of texts) {
        for (const secret of [key, other, user, owner, data, 'DROP TABLE']) {
          expect(sql).not.toContain(secret);
        }
      }
      // They did reach the server, as parameters.
      const flat = params.map((p) => (p instanceof Uint8Array ? Buffer.from(p).toString() : p));
      for (const secret of [key, other, user, owner, data]) expect(flat).toContain(secret);
    });

    it('costs one statement per read and one per write', async () => {
      const texts: string[] = [];
      const store = await migrated({}, { onSql: (sql) => void texts.push(sql) });
      const count = async (fn: () => Promise<unknown>): Promise<number> => {
        const before = texts.length;
        await fn();
        return texts.length - before;
      };
      const key = storeKey();
      await expect(count(() => store.get(key))).resolves.toBe(1);
      await expect(count(() => store.set(key, record(), { ifVersion: 0 }))).resolves.toBe(1);
      await expect(count(() => store.get(key))).resolves.toBe(1);
      const next = record({ version: 2 });
      await expect(count(() => store.set(key, next, { ifVersion: 1 }))).resolves.toBe(1);
      await expect(count(() => store.set(key, record({ version: 3 })))).resolves.toBe(1);
      await expect(count(() => store.touch(key, Date.now() + HOUR))).resolves.toBe(1);
      await expect(count(() => store.lock(storeKey(), { owner: 'a', ttl: 1000 }))).resolves.toBe(1);
      await expect(count(() => store.delete(key, { ifVersion: 3 }))).resolves.toBe(1);
      await expect(store.get(key)).resolves.toBeUndefined();
    });

    it('two pools on one table serialize concurrent CAS: an exact counter', async () => {
      const table = target.table();
      const a = await migrated({ table });
      const b = track(target.store({ table }, { second: true }));
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
      const runs = [a, b, a, b, a, b].map((store) => worker(store, 25));
      const conflicts = (await Promise.all(runs)).reduce((x, y) => x + y, 0);
      await expect(b.get(key)).resolves.toMatchObject({ data: '150', version: 151 });
      expect(conflicts).toBeGreaterThan(0); // the workers really raced
      await expect(a.lock(key, { owner: 'a', ttl: 10_000 })).resolves.toBe(true);
      await expect(b.lock(key, { owner: 'b', ttl: 10_000 })).resolves.toBe(false);
      await expect(b.unlock(key, { owner: 'a' })).resolves.toBe(true);
      await expect(b.lock(key, { owner: 'b', ttl: 10_000 })).resolves.toBe(true);
    });

    const lazy = 'ships idempotent DDL; migrate() applies it, createTable applies it lazily';
    const eager = target.eagerSetup === true;
    const why = ' (skipped: this store sets itself up at construction; its own file tests that)';
    it.skipIf(eager)(eager ? `${lazy}${why}` : lazy, async () => {
      const table = target.table();
      const ddl = target.schema({ table });
      expect(ddl).toMatch(/CREATE TABLE IF NOT EXISTS \S+sk_\w+\S* \(/);
      // An index on expires_at, or (PostgreSQL) on the expiry bucket derived from it.
      expect(ddl).toMatch(/(expires_at|bucket)_idx\S* (ON \S+ )?\(\S*expires_at/);
      expect(ddl).toMatch(/user(_id)?_idx\S* (ON \S+ )?\(\S*user_id/);
      expect(ddl).toContain(`${table}_locks`);
      const store = track(target.store({ table }));
      expect(store.schema).toBe(ddl);
      // createTable defaults to false: no table yet, so the first call is a StoreError.
      const missing = await store.get(storeKey()).catch((e: unknown) => e);
      expect(isSessionError(missing, 'ERR_SESSION_STORE')).toBe(true);
      for (let i = 0; i < 3; i++) await store.migrate();
      const key = storeKey();
      await store.set(key, record({ data: 'kept' }));
      await store.migrate();
      await expect(store.get(key)).resolves.toMatchObject({ data: 'kept' });
      const lazy = track(target.store({ table: target.table(), createTable: true }));
      const [x, y] = [storeKey(), storeKey()];
      await Promise.all([lazy.set(x, record()), lazy.set(y, record())]);
      await expect(lazy.get(x)).resolves.toBeDefined();
    });

    it('prunes expired rows and expired lock leases in the database', async () => {
      let clock = Date.now();
      const table = target.table();
      const store = await migrated({ table, now: () => clock });
      const [live, old] = [storeKey(), storeKey()];
      await store.set(live, record({ expiresAt: clock + 10_000 }));
      await store.set(old, record({ expiresAt: clock + 10 }));
      await store.lock(live, { owner: 'a', ttl: 10_000 });
      await store.lock(old, { owner: 'a', ttl: 10 });
      clock += 100;
      await expect(store.prune()).resolves.toBe(1);
      const count = async (t: string) =>
        Number((await target.sql(`SELECT count(*) AS n FROM ${t}`))[0]?.n);
      await expect(count(table)).resolves.toBe(1);
      await expect(count(`${table}_locks`)).resolves.toBe(1);
      await expect(store.lock(live, { owner: 'b', ttl: 10 })).resolves.toBe(false);
      await expect(store.lock(old, { owner: 'b', ttl: 10 })).resolves.toBe(true);
    });

    it('prunes in batches of batchSize, reporting progress against a counted total', async () => {
      const clock = Date.now();
      const table = target.table();
      const statements: string[] = [];
      const store = await migrated(
        { table, now: () => clock },
        { onSql: (sql) => statements.push(sql) },
      );
      const expired = Array.from({ length: 25 }, storeKey);
      const rows = (keys: string[], expires: number) =>
        keys.map(() => `(?, 'x', 1, ${expires}, NULL)`).join(', ');
      await target.sql(`INSERT INTO ${into(table)} VALUES ${rows(expired, clock - 1)}`, expired);
      const live = Array.from({ length: 3 }, storeKey);
      await target.sql(`INSERT INTO ${into(table)} VALUES ${rows(live, clock + HOUR)}`, live);
      await store.lock(live[0]!, { owner: 'a', ttl: HOUR });
      await target.sql(`INSERT INTO ${table}_locks VALUES (?, 'o', ${clock - 1})`, [expired[0]]);
      await expect(store.counts()).resolves.toEqual({
        live: 3,
        expired: 25,
        locks: 1,
        expiredLocks: 1,
      });
      const progress: unknown[] = [];
      statements.length = 0;
      await expect(
        store.prune({ batchSize: 10, onProgress: (p) => progress.push(p) }),
      ).resolves.toBe(25);
      expect(progress).toEqual([
        { removed: 0, total: 25 },
        { removed: 10, total: 25 },
        { removed: 20, total: 25 },
        { removed: 25, total: 25 },
      ]);
      // One count, three session batches (10, 10, 5), one lock batch; each DELETE is limited.
      const deletes = statements.filter((sql) => sql.startsWith('DELETE'));
      expect(deletes).toHaveLength(4);
      for (const sql of deletes) expect(sql).toMatch(/LIMIT 10\b/);
      await expect(store.counts()).resolves.toEqual({
        live: 3,
        expired: 0,
        locks: 1,
        expiredLocks: 0,
      });
      const entries = await collect(store.entries());
      expect(entries.map((e) => e.key).sort()).toEqual([...live].sort());
      await expect(store.prune({ batchSize: 0 })).rejects.toMatchObject({
        code: 'ERR_SESSION_CONFIG',
      });
    });

    it('pages ids() through more keys than one page', async () => {
      const table = target.table();
      const store = await migrated({ table });
      const keys = Array.from({ length: 1234 }, storeKey);
      const expires = Date.now() + HOUR;
      for (let i = 0; i < keys.length; i += 200) {
        const chunk = keys.slice(i, i + 200);
        const values = chunk.map(() => `(?, 'x', 1, ${expires}, NULL)`).join(', ');
        await target.sql(`INSERT INTO ${into(table)} VALUES ${values}`, chunk);
      }
      const ids = await collect(store.ids());
      expect(ids).toHaveLength(keys.length);
      expect(new Set(ids)).toEqual(new Set(keys));
    });

    it('keeps user ids differing only in case or trailing space apart', async () => {
      const store = await migrated();
      const users = ['alice', 'Alice', 'alice ', 'ALICE', 'alicé', 'alice\t'];
      const keys = users.map(() => storeKey());
      for (const [i, user] of users.entries()) await store.set(keys[i]!, record({ userId: user }));
      for (const [i, user] of users.entries()) {
        await expect(store.listByUser(user), JSON.stringify(user)).resolves.toMatchObject([
          { key: keys[i], record: { userId: user } },
        ]);
      }
      await expect(store.deleteByUser('alice')).resolves.toBe(1);
      await expect(store.listByUser('Alice')).resolves.toHaveLength(1);
    });
  });
}

/** A port nobody listens on (for stores whose backend must fail to connect). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Per-run table names (`sk_<random>`) and their cleanup: `name()` hands out a fresh one,
 * `drop(query)` drops every table handed out (and its `_locks` table) after the run — quietly
 * when the server was unreachable and nothing was created.
 */
export function tableNames(): {
  name(): string;
  drop(query: (sql: string) => Promise<unknown>): Promise<void>;
} {
  const tables: string[] = [];
  return {
    name() {
      const name = `sk_${randomBytes(6).toString('hex')}`;
      tables.push(name);
      return name;
    },
    async drop(query) {
      try {
        for (const name of tables) await query(`DROP TABLE IF EXISTS ${name}, ${name}_locks`);
      } catch {
        // Unreachable server: nothing was created.
      }
    },
  };
}
