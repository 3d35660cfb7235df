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

/** The harness's own connections. */
export interface Backends {
  redis: Redis;
  pg: pg.Client;
  /**
   * Commands Redis has executed so far, except `INFO` (the harness's own): `total` counts the
   * commands a Lua script runs too; `scripts` counts the `EVAL`/`EVALSHA`/`FCALL` calls.
   */
  redisCommands(): Promise<{ total: number; scripts: number }>;
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
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        const name = match[1] ?? '';
        if (name !== 'info') total += Number(match[2]);
        if (/^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/.test(name))
          scripts += Number(match[2]);
      }
      return { total, scripts };
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
