/**
 * The shared backends, seen from the harness: Redis `INFO commandstats` totals (store commands
 * per request), versions for the machine section, and cleanup of this run's keys and tables.
 */

import { Redis } from 'ioredis';
import pg from 'pg';

/** Connection settings (same defaults as the test suite). */
export const REDIS_URL: string = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PG_URL: string =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Redis's command counts so far (`INFO commandstats`), except the harness's `INFO`. */
export interface RedisCommands {
  /** All commands, those a Lua script runs included. */
  total: number;
  /** `EVAL`/`EVALSHA`/`FCALL` calls. */
  scripts: number;
  /** Calls per command name (lower case, as Redis reports them). */
  byName: Record<string, number>;
}

/** The harness's own connections. */
export interface Backends {
  redis: Redis;
  pg: pg.Client;
  /**
   * Commands Redis has executed so far, except `INFO` (the harness's own): `total` counts the
   * commands a Lua script runs too; `scripts` counts the `EVAL`/`EVALSHA`/`FCALL` calls.
   */
  redisCommands(): Promise<RedisCommands>;
  /**
   * Row updates of `table` so far and how many were HOT (`pg_stat_user_tables`; zeros when the
   * table does not exist). PostgreSQL publishes a backend's counts when it goes idle (at most
   * once a second) or exits: read it after the contender's connections closed.
   */
  pgUpdates(table: string): Promise<{ updates: number; hot: number }>;
  versions(): Promise<{ redis: string; postgres: string }>;
  /** Delete this run's Redis keys (by prefix) and drop its tables. */
  cleanup(prefix: string, tables: string[]): Promise<void>;
  close(): Promise<void>;
}

/** Connect to Redis and PostgreSQL; rejects naming the one that is unreachable. */
export async function connectBackends(): Promise<Backends> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((error: unknown) => {
    throw new Error(`Redis at ${new URL(REDIS_URL).host} is unreachable`, { cause: error });
  });
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect().catch((error: unknown) => {
    redis.disconnect();
    throw new Error(`PostgreSQL at ${new URL(PG_URL).host} is unreachable`, { cause: error });
  });
  client.on('error', () => undefined);
  return {
    redis,
    pg: client,
    async redisCommands() {
      const info = await redis.info('commandstats');
      let total = 0;
      let scripts = 0;
      const byName: Record<string, number> = {};
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        const name = match[1] ?? '';
        if (name === 'info') continue;
        const calls = Number(match[2]);
        total += calls;
        byName[name] = calls;
        if (/^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/.test(name)) scripts += calls;
      }
      return { total, scripts, byName };
    },
    async pgUpdates(table) {
      const { rows } = await client.query<{ upd: string; hot: string }>(
        'SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = $1',
        [table],
      );
      return { updates: Number(rows[0]?.upd ?? 0), hot: Number(rows[0]?.hot ?? 0) };
    },
    async versions() {
      const server = await redis.info('server');
      const redisVersion = /redis_version:(\S+)/.exec(server)?.[1] ?? '?';
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return { redis: redisVersion, postgres: rows[0]?.server_version ?? '?' };
    },
    async cleanup(prefix, tables) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      for (const table of tables) await client.query(`DROP TABLE IF EXISTS "${table}"`);
    },
    async close() {
      redis.disconnect();
      await client.end().catch(() => undefined);
    },
  };
}
