/**
 * Type test (checked by `tsc --noEmit`, never run): real `pg` and `mysql2/promise` clients
 * satisfy `PgPoolLike` / `MysqlPoolLike`, and clients of the wrong shape are refused.
 */

import type { Connection, Pool as MysqlPool, PoolConnection } from 'mysql2/promise';
import type { Client, Pool, PoolClient } from 'pg';
import { expectTypeOf } from 'vitest';
import { type MysqlPoolLike, mysqlStore, type SqlMigration } from '../../src/stores/mysql.js';
import { type PgPoolLike, postgresStore } from '../../src/stores/postgres.js';

declare const pgPool: Pool;
declare const pgClient: Client;
declare const pgPoolClient: PoolClient;
declare const mysqlPool: MysqlPool;
declare const mysqlConnection: Connection;
declare const mysqlPoolConnection: PoolConnection;

expectTypeOf(pgPool).toExtend<PgPoolLike>();
expectTypeOf(pgClient).toExtend<PgPoolLike>();
expectTypeOf(pgPoolClient).toExtend<PgPoolLike>();
expectTypeOf(mysqlPool).toExtend<MysqlPoolLike>();
expectTypeOf(mysqlConnection).toExtend<MysqlPoolLike>();
expectTypeOf(mysqlPoolConnection).toExtend<MysqlPoolLike>();

export const pgStore: ReturnType<typeof postgresStore> = postgresStore({ pool: pgPool });
export const myStore: ReturnType<typeof mysqlStore> = mysqlStore({ pool: mysqlPool });
// The SQL stores type their optional abilities as present.
expectTypeOf(pgStore.lock).toBeFunction();
expectTypeOf(myStore.migrate).returns.toEqualTypeOf<Promise<SqlMigration>>();

// @ts-expect-error -- a mysql2 pool is not a pg pool (no rows/rowCount result)
postgresStore({ pool: mysqlPool });
// @ts-expect-error -- a pg pool is not a mysql2 pool (no execute)
mysqlStore({ pool: pgPool });
// @ts-expect-error -- a callback-style query is not a promise client
postgresStore({ pool: { query: (_text: string, _values: unknown[], _cb: () => void) => {} } });
// @ts-expect-error -- the callback-style mysql2 pool returns no promise
mysqlStore({ pool: {} as import('mysql2').Pool });
