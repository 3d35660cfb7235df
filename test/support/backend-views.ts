/**
 * What the store registry (`backends.ts`) lets a test see of a backend besides the store: client
 * wrappers that record every text a backend is addressed with (SQL statement texts, Redis keys),
 * and dumps of everything a backend holds (rows, files, values). The attack suite checks that
 * hostile input never becomes code or an address, and that no secret lands in a dump.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Pool as MysqlPool } from 'mysql2/promise';
import type pg from 'pg';
import type { SessionStore } from '../../src/core/store.js';
import type { MysqlParam, MysqlPoolLike } from '../../src/stores/mysql.js';
import type { PgPoolLike } from '../../src/stores/postgres.js';
import type { IoredisClientLike } from '../../src/stores/redis.js';
import type { SqliteClientLike } from '../../src/stores/sqlite.js';

/** better-sqlite3 as the SQLite store's client, every SQL text it compiles or runs pushed to `sql`. */
export function recordingSqlite(db: Database.Database, sql: string[]): SqliteClientLike {
  return {
    exec(text) {
      sql.push(text);
      return db.exec(text);
    },
    prepare(text) {
      sql.push(text);
      return db.prepare(text) as unknown as ReturnType<SqliteClientLike['prepare']>;
    },
  };
}

/** A pg pool as the PostgreSQL store's client, every statement text pushed to `sql`. */
export function recordingPg(pool: pg.Pool, sql: string[]): PgPoolLike {
  return {
    query: (text, values) => {
      sql.push(typeof text === 'string' ? text : text.text); // unnamed or named
      return pool.query(text, values) as Promise<{ rows: unknown[]; rowCount: number | null }>;
    },
  };
}

/** A mysql2 pool as the MySQL store's client, every statement text pushed to `sql`. */
export function recordingMysql(pool: MysqlPool, sql: string[]): MysqlPoolLike {
  return {
    execute: (text: string, values: MysqlParam[]) => {
      sql.push(text);
      return pool.execute(text, values) as Promise<[unknown, unknown]>;
    },
    query: (text: string) => {
      sql.push(text);
      return pool.query(text) as Promise<[unknown, unknown]>;
    },
  };
}

/** An ioredis client as the Redis store's client, every key a command addresses pushed to `keys`. */
export function recordingRedis(client: Redis, keys: string[]): IoredisClientLike {
  return {
    call(command: string, ...args: (string | number)[]) {
      // EVALSHA/EVAL name their keys after the key count; other commands: every argument.
      if (/^eval/i.test(command)) keys.push(...args.slice(2, 2 + Number(args[1])).map(String));
      else keys.push(...args.map(String));
      return client.call(command, ...args);
    },
  };
}

/** Every Redis key under `prefix`. */
export async function redisKeys(client: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    out.push(...batch);
  } while (cursor !== '0');
  return out;
}

/** Every key under `prefix` with its value (hash, sorted set or string), as text. */
export async function dumpRedis(client: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const key of await redisKeys(client, prefix)) {
    const type = await client.type(key);
    const value =
      type === 'hash'
        ? await client.hgetall(key)
        : type === 'zset'
          ? await client.call('ZRANGE', key, '0', '-1', 'WITHSCORES')
          : type === 'string'
            ? await client.get(key)
            : type;
    parts.push(key, JSON.stringify(value));
  }
  return parts.join('\n');
}

/** Rows of every table as JSON (bigints as strings). */
export function dumpRows(tables: unknown[][]): string {
  return JSON.stringify(tables, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
}

/** Every row of every table of a SQLite database. */
export function dumpSqlite(db: Database.Database): string {
  const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
    name: string;
  }[];
  return dumpRows(names.map(({ name }) => db.prepare(`SELECT * FROM "${name}"`).all()));
}

/** A dump through the store's own `ids`/`get` (for backends without another view). */
export async function dumpThrough(store: SessionStore): Promise<string> {
  const parts: string[] = [];
  for await (const key of store.ids?.() ?? []) {
    parts.push(key, JSON.stringify(await store.get(key)));
  }
  return parts.join('\n');
}

/** Every path below `dir` (files and directories), or `[]` when it does not exist. */
export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, entry.name);
    out.push(full);
    if (entry.isDirectory()) out.push(...(await walk(full)));
  }
  return out;
}

/** Every path below `dir` and the text of each file. */
export async function dumpFiles(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const path of await walk(dir))
    parts.push(path, await readFile(path, 'utf8').catch(() => ''));
  return parts.join('\n');
}
