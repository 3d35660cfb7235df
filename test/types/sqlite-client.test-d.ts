/**
 * Type test (checked by `tsc --noEmit`, never run): a real better-sqlite3 connection satisfies
 * `SqliteClientLike`, and a client of the wrong shape is refused.
 */

import type Database from 'better-sqlite3';
import { expectTypeOf } from 'vitest';
import { type SqliteClientLike, sqliteStore } from '../../src/stores/sqlite.js';

declare const db: Database.Database;

expectTypeOf(db).toExtend<SqliteClientLike>();
export const store: ReturnType<typeof sqliteStore> = sqliteStore({ client: db });

// A client whose statements return rows asynchronously is not a synchronous SQLite client.
const asyncClient = {
  prepare: (_sql: string) => ({ run: async () => ({ changes: 0 }) }),
  exec: (_sql: string) => undefined,
};
// @ts-expect-error -- statements lack `get`/`all` and `run` returns a promise
sqliteStore({ client: asyncClient });
