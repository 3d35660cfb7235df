import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import { type MysqlPoolLike, mysqlSchema, mysqlStore } from '../../src/stores/mysql.js';
import { MYSQL_URL } from '../support/backends.js';
import { describeStore, record, storeKey } from './conformance.js';
import { closedPort, describeSqlExtras, type SqlTarget, tableNames } from './sql-extras.js';

/** Fail fast (and visibly) when the server is down, instead of hanging the suite. */
const CONNECT_TIMEOUT = 2000;

const pools: mysql.Pool[] = [];
function newPool(options: mysql.PoolOptions = { uri: MYSQL_URL }): mysql.Pool {
  const pool = mysql.createPool({ connectTimeout: CONNECT_TIMEOUT, ...options });
  pools.push(pool);
  return pool;
}
const pool = newPool();
const second = newPool();
const tables = tableNames();
const table = (): string => tables.name();

afterAll(async () => {
  await tables.drop((sql) => pool.query(sql));
  for (const p of pools) await p.end();
});

function recording(
  inner: MysqlPoolLike,
  onSql?: (sql: string, params: readonly unknown[]) => void,
): MysqlPoolLike {
  if (onSql === undefined) return inner;
  return {
    execute: (sql, values) => {
      onSql(sql, values);
      return inner.execute(sql, values);
    },
    query: (sql) => {
      onSql(sql, []);
      return inner.query(sql);
    },
  };
}

const target: SqlTarget = {
  name: 'mysql',
  store: (options, extra) =>
    mysqlStore({ ...options, pool: recording(extra?.second ? second : pool, extra?.onSql) }),
  schema: (options) => mysqlSchema(options),
  table,
  insertColumns: '(`key`, `data`, `version`, `expires_at`, `user_id`)',
  async sql(text, params = []) {
    const [rows] = await pool.query(text, [...params]);
    return rows as Record<string, unknown>[];
  },
  async columns(name) {
    const [rows] = await pool.query(
      "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND COALESCE(generation_expression, '') = '' ORDER BY ordinal_position",
      [name],
    );
    return (rows as { c: string }[]).map((row) => row.c.toLowerCase());
  },
};

describeStore({
  name: 'mysql',
  create: async () => {
    const store = mysqlStore({ pool, table: table() });
    await store.migrate(); // rejects when the server is unreachable: a skip, or a failure under CI
    return store;
  },
  createBroken: async () =>
    mysqlStore({
      pool: newPool({ host: '127.0.0.1', port: await closedPort() }),
      table: 'sk_broken',
    }),
  extra: (ctx) => {
    describeSqlExtras(target, ctx);

    describe('mysql specifics', () => {
      it('contended lock/unlock never fails with an InnoDB deadlock (the statement is retried)', async () => {
        const store = ctx.track(mysqlStore({ pool, table: table() }));
        await store.migrate();
        const key = storeKey();
        let held = 0;
        const worker = async (w: number): Promise<void> => {
          for (let i = 0; i < 30; i++) {
            const owner = `w${w}`;
            if (await store.lock!(key, { owner, ttl: 5000 })) {
              held++;
              await store.unlock!(key, { owner });
            }
          }
        };
        // Before the fix, concurrent INSERTs on a duplicate key racing the holder's DELETE made
        // InnoDB pick a deadlock victim: a 503 for a request that only wanted to wait.
        await Promise.all(Array.from({ length: 40 }, (_, w) => worker(w)));
        expect(held).toBeGreaterThan(0);
      });

      it('a deadlock victim is run again up to 5 times; the 6th deadlock, or any other error, fails', async () => {
        const name = table();
        await mysqlStore({ pool, table: name }).migrate();
        /** The pool, with its next `failures` statements refused with `error` first. */
        const failing = (failures: number, error: Error) => {
          let left = failures;
          let sent = 0;
          const client: MysqlPoolLike = {
            execute: (sql, values) => {
              sent++;
              if (left-- > 0) return Promise.reject(error);
              return pool.execute(sql, values) as Promise<[unknown, unknown]>;
            },
            query: (sql) => pool.query(sql) as Promise<[unknown, unknown]>,
          };
          return { store: mysqlStore({ pool: client, table: name }), sent: () => sent };
        };
        const deadlock = Object.assign(new Error('Deadlock found (a test)'), { errno: 1213 });
        const key = storeKey();
        const five = failing(5, deadlock);
        await expect(five.store.set(key, record())).resolves.toBe(true);
        expect(five.sent()).toBe(6);
        const again = failing(5, deadlock);
        await expect(again.store.get(key)).resolves.toMatchObject({ version: 1 });
        expect(again.sent()).toBe(6);
        const six = failing(6, deadlock);
        const lost = await six.store.get(key).then(
          () => undefined,
          (error: unknown) => error as Error,
        );
        expect(isSessionError(lost, 'ERR_SESSION_STORE')).toBe(true);
        expect(lost?.cause).toBe(deadlock);
        expect(six.sent()).toBe(6);
        const other = Object.assign(new Error('Lost connection (a test)'), { errno: 2013 });
        const once = failing(1, other);
        const failed = await once.store.set(key, record({ version: 2 }), { ifVersion: 1 }).then(
          () => undefined,
          (error: unknown) => error as Error,
        );
        expect(isSessionError(failed, 'ERR_SESSION_STORE')).toBe(true);
        expect(failed?.cause).toBe(other);
        expect(once.sent()).toBe(1);
      });

      it('refuses a missing or callback-style pool with ERR_SESSION_CONFIG', () => {
        for (const options of [{}, { pool: {} }, { pool: null }, { pool: { query() {} } }]) {
          const error = (() => {
            try {
              mysqlStore(options as never);
            } catch (e) {
              return e;
            }
            return undefined;
          })();
          expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
          expect((error as Error).message).toContain('`pool`');
        }
      });

      it('round-trips 64 KiB of emoji through utf8mb4 columns, byte for byte', async () => {
        const name = table();
        const store = ctx.track(mysqlStore({ pool, table: name }));
        await store.migrate();
        const [charsets] = await pool.query(
          'SELECT column_name AS c, character_set_name AS cs, collation_name AS co FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position',
          [name],
        );
        expect(charsets).toMatchObject([
          { c: 'key', cs: 'ascii', co: 'ascii_bin' },
          { c: 'data', cs: 'utf8mb4', co: 'utf8mb4_bin' },
          { c: 'version' },
          { c: 'expires_at' },
          { c: 'user_id', cs: null },
          { c: 'expires_at_bucket', cs: null },
        ]);
        const key = storeKey();
        const data = `${'👨‍👩‍👧😀'.repeat(5000)}${'é'.repeat(65_536)}`;
        const written = record({ data, userId: '用户😀' });
        await store.set(key, written);
        await expect(store.get(key)).resolves.toStrictEqual(written);
        const [bytes] = await pool.query(`SELECT LENGTH(data) AS n FROM ${name}`);
        expect((bytes as { n: number }[])[0]?.n).toBe(Buffer.byteLength(data));
      });

      it('keeps keys differing only in case apart at the database level', async () => {
        const name = table();
        const store = ctx.track(mysqlStore({ pool, table: name }));
        await store.migrate();
        const lower = `a${storeKey().toLowerCase()}`;
        await store.set(lower, record({ data: 'lower' }), { ifVersion: 0 });
        await expect(
          store.set(lower.toUpperCase(), record({ data: 'upper' }), { ifVersion: 0 }),
        ).resolves.toBe(true);
        await expect(store.lock(lower, { owner: 'a', ttl: 10_000 })).resolves.toBe(true);
        await expect(store.lock(lower.toUpperCase(), { owner: 'b', ttl: 10_000 })).resolves.toBe(
          true,
        );
        const [rows] = await pool.query(`SELECT count(*) AS n FROM ${name}`);
        expect(Number((rows as { n: number }[])[0]?.n)).toBe(2);
      });

      it('reads by the primary key and lists by the user index (prepared parameters)', async () => {
        const name = table();
        const store = ctx.track(mysqlStore({ pool, table: name }));
        await store.migrate();
        const keys = Array.from({ length: 50 }, storeKey);
        for (const [i, key] of keys.entries()) await store.set(key, record({ userId: `u${i}` }));
        const explain = async (where: string, params: (string | number)[]) => {
          const [rows] = await pool.execute(`EXPLAIN SELECT * FROM ${name} WHERE ${where}`, params);
          return (rows as { key: string | null }[])[0]?.key;
        };
        await expect(explain('`key` = ? AND expires_at > ?', [keys[7]!, Date.now()])).resolves.toBe(
          'PRIMARY',
        );
        await expect(explain('user_id = ? AND expires_at > ?', ['u7', Date.now()])).resolves.toBe(
          `${name}_user_id_idx`,
        );
      });

      it('prepares each statement once per connection, then only executes it (Com_stmt_*)', async () => {
        const connection = await mysql.createConnection({ uri: MYSQL_URL });
        try {
          const store = ctx.track(mysqlStore({ pool: connection, table: table() }));
          await store.migrate();
          const counters = async () => {
            const [rows] = await connection.query("SHOW SESSION STATUS LIKE 'Com_stmt_%'");
            const all = rows as { Variable_name: string; Value: string }[];
            const of = (name: string) => Number(all.find((r) => r.Variable_name === name)?.Value);
            return { prepare: of('Com_stmt_prepare'), execute: of('Com_stmt_execute') };
          };
          const requests = async () => {
            const key = storeKey();
            await store.set(key, record(), { ifVersion: 0 });
            await store.get(key);
            await store.set(key, record({ version: 2 }), { ifVersion: 1 });
            await store.touch(key, Date.now() + 60_000);
            await store.lock(key, { owner: 'o', ttl: 10_000 });
            await store.unlock(key, { owner: 'o' });
            await store.delete(key, { ifVersion: 2 });
          };
          const start = await counters();
          await requests();
          const first = await counters();
          await requests();
          const second = await counters();
          expect(first.prepare - start.prepare).toBe(7); // seven statement texts
          expect(second.prepare - first.prepare).toBe(0); // mysql2 reuses them on the connection
          expect(second.execute - first.execute).toBe(7);
        } finally {
          await connection.end();
        }
      });

      it('counts matched rows whatever the FOUND_ROWS flag: touching to the same expiry is true', async () => {
        const flagless = newPool({ uri: MYSQL_URL, flags: ['-FOUND_ROWS'] });
        const name = table();
        const store = ctx.track(mysqlStore({ pool: flagless, table: name }));
        await store.migrate();
        const key = storeKey();
        const written = record();
        await store.set(key, written, { ifVersion: 0 });
        await expect(store.touch(key, written.expiresAt)).resolves.toBe(true);
        await expect(store.set(key, written, { ifVersion: 1 })).resolves.toBe(true);
        await expect(store.set(key, written, { ifVersion: 0 })).resolves.toBe(false);
        await expect(store.lock(key, { owner: 'a', ttl: 10_000 })).resolves.toBe(true);
        await expect(store.lock(key, { owner: 'a', ttl: 10_000 })).resolves.toBe(true);
        await expect(store.lock(key, { owner: 'b', ttl: 10_000 })).resolves.toBe(false);
      });
    });
  },
});
