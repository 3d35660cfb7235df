import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import { type PgPoolLike, postgresSchema, postgresStore } from '../../src/stores/postgres.js';
import { POSTGRES_URL } from '../support/backends.js';
import { describeStore, record, storeKey } from './conformance.js';
import { closedPort, describeSqlExtras, type SqlTarget, tableNames } from './sql-extras.js';

/** Fail fast (and visibly) when the server is down, instead of hanging the suite. */
const CONNECT_TIMEOUT = 2000;

const pools: pg.Pool[] = [];
function newPool(options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: POSTGRES_URL,
    connectionTimeoutMillis: CONNECT_TIMEOUT,
    ...options,
  });
  pool.on('error', () => {}); // an idle client dropped by the server; the next query reports it
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
  inner: PgPoolLike,
  onSql?: (sql: string, params: readonly unknown[]) => void,
): PgPoolLike {
  if (onSql === undefined) return inner;
  return {
    query: (text, values) => {
      if (typeof text === 'string') onSql(text, values ?? []);
      else onSql(text.text, text.values); // a named statement
      return inner.query(text, values);
    },
  };
}

const target: SqlTarget = {
  name: 'postgres',
  store: (options, extra) =>
    postgresStore({ ...options, pool: recording(extra?.second ? second : pool, extra?.onSql) }),
  schema: (options) => postgresSchema(options),
  table,
  async sql(text, params = []) {
    let i = 0;
    const numbered = text.replace(/\?/g, () => `$${++i}`);
    return (await pool.query(numbered, [...params])).rows;
  },
  async columns(name) {
    const { rows } = await pool.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position",
      [name],
    );
    return rows.map((row: { column_name: string }) => row.column_name.toLowerCase());
  },
};

describeStore({
  name: 'postgres',
  create: async () => {
    const store = postgresStore({ pool, table: table() });
    await store.migrate(); // rejects when the server is unreachable: a skip, or a failure under CI
    return store;
  },
  createBroken: async () =>
    postgresStore({
      pool: newPool({ connectionString: undefined, host: '127.0.0.1', port: await closedPort() }),
      table: 'sk_broken',
    }),
  extra: (ctx) => {
    describeSqlExtras(target, ctx);

    describe('postgres specifics', () => {
      it('refuses a missing pool with ERR_SESSION_CONFIG', () => {
        for (const options of [{}, { pool: {} }, { pool: null }]) {
          const error = (() => {
            try {
              postgresStore(options as never);
            } catch (e) {
              return e;
            }
            return undefined;
          })();
          expect(isSessionError(error, 'ERR_SESSION_CONFIG')).toBe(true);
          expect((error as Error).message).toContain('`pool`');
        }
      });

      it('works on a single pg Client too', async () => {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        try {
          const store = ctx.track(postgresStore({ pool: client, table: table() }));
          await store.migrate();
          const key = storeKey();
          await expect(store.set(key, record(), { ifVersion: 0 })).resolves.toBe(true);
          await expect(store.get(key)).resolves.toMatchObject({ data: 'payload' });
        } finally {
          await client.end();
        }
      });

      it('stores payloads as bytea (NUL-safe) and reads by the primary key index', async () => {
        const name = table();
        const store = ctx.track(postgresStore({ pool, table: name }));
        await store.migrate();
        const key = storeKey();
        await store.set(key, record({ data: 'a\u0000😀' }));
        const { rows } = await pool.query(`SELECT data FROM ${name}`);
        expect(rows[0].data).toEqual(Buffer.from('a\u0000😀'));
        const get = `SELECT 1 FROM ${name} WHERE "key" = $1 AND "expires_at" > $2`;
        await pool.query('SET enable_seqscan = off'); // tiny table: force the planner's hand
        const plan = await pool.query(`EXPLAIN ${get}`, [key, Date.now()]);
        await pool.query('RESET enable_seqscan');
        expect(JSON.stringify(plan.rows)).toMatch(/Index Scan using \w+_pkey/);
      });
    });
  },
});
