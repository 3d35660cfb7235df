/**
 * The floor's three backends (`floor-node.ts`): the least a session store must do per request.
 * Every record is `{ data, version, expiresAt }` with `data` a JSON text; a write is one
 * compare-and-set on `version` that also renews the expiry, so no increment is ever lost.
 *
 * - `memory`: a `Map` (read and compare-and-set are synchronous, so atomic in one process).
 * - `redis` (ioredis, counted by `_env.ts`): a string `"<version>:<json>"` under the hashed key
 *   with native expiry. Read: one `GET`. Write: one `EVALSHA` of a script that runs `GET` and
 *   `SET … PXAT` (Redis counts 3 commands; 4 per write request with the read).
 * - `postgres` (`pg` pool, counted by `_env.ts`): a table whose only index is the primary key on
 *   the (never changing) key, so every `UPDATE` can be HOT; named prepared statements.
 */

import type { Redis } from 'ioredis';
import { countedPool, ioredisClient, PG_TABLE, REDIS_PREFIX, type StoreKind } from './_env.js';

/** One stored session. */
export interface FloorRecord {
  /** The session data as JSON text. */
  data: string;
  version: number;
  /** Epoch ms after which the record is gone. */
  expiresAt: number;
}

/** What the floor server needs from a backend. */
export interface FloorStore {
  /** The live record under `key`, or `undefined`. */
  read(key: string): Promise<FloorRecord | undefined>;
  /** Store a new record (version 1). */
  create(key: string, data: string, expiresAt: number): Promise<void>;
  /** Replace the record if its version is still `version` (it becomes `version + 1`). */
  cas(key: string, version: number, data: string, expiresAt: number): Promise<boolean>;
}

/** The backend named by `BENCH_STORE` (memory, redis or postgres). */
export async function floorStore(kind: StoreKind): Promise<FloorStore> {
  if (kind === 'memory') return memory();
  if (kind === 'redis') return redis(ioredisClient());
  if (kind === 'postgres') return postgres();
  throw new Error(`the floor has no ${kind} backend`);
}

function memory(): FloorStore {
  const map = new Map<string, FloorRecord>();
  return {
    async read(key) {
      const record = map.get(key);
      return record !== undefined && record.expiresAt > Date.now() ? record : undefined;
    },
    async create(key, data, expiresAt) {
      map.set(key, { data, version: 1, expiresAt });
    },
    async cas(key, version, data, expiresAt) {
      const record = map.get(key);
      if (record === undefined || record.version !== version) return false;
      map.set(key, { data, version: version + 1, expiresAt });
      return true;
    },
  };
}

/** KEYS[1]: record; ARGV: expected version, new `"<version>:<json>"`, expiry (epoch ms). */
const CAS = `local cur = redis.call('GET', KEYS[1])
if not cur or string.sub(cur, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1`;

type CasClient = Redis & {
  floorCas(key: string, version: string, value: string, pxat: string): Promise<number>;
};

function redis(client: Redis): FloorStore {
  // defineCommand sends EVALSHA (EVAL once, when the script is not cached yet).
  client.defineCommand('floorCas', { numberOfKeys: 1, lua: CAS });
  const cas = client as CasClient;
  const at = (key: string): string => `${REDIS_PREFIX}floor:${key}`;
  return {
    async read(key) {
      const value = await client.get(at(key));
      if (value === null) return undefined;
      const colon = value.indexOf(':');
      // Redis expires the key itself; the record does not need its own expiry here.
      return { version: Number(value.slice(0, colon)), data: value.slice(colon + 1), expiresAt: 0 };
    },
    async create(key, data, expiresAt) {
      await client.set(at(key), `1:${data}`, 'PXAT', expiresAt, 'NX');
    },
    async cas(key, version, data, expiresAt) {
      const next = `${version + 1}:${data}`;
      return (await cas.floorCas(at(key), String(version), next, String(expiresAt))) === 1;
    },
  };
}

async function postgres(): Promise<FloorStore> {
  const pool = countedPool();
  // No index on a column a write changes (data, version, expires_at): updates stay HOT.
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${PG_TABLE} (key text PRIMARY KEY, data text NOT NULL, version integer NOT NULL, expires_at bigint NOT NULL)`,
  );
  const read = {
    name: 'floor_read',
    text: `SELECT data, version, expires_at FROM ${PG_TABLE} WHERE key = $1`,
  };
  const insert = {
    name: 'floor_insert',
    text: `INSERT INTO ${PG_TABLE} (key, data, version, expires_at) VALUES ($1, $2, 1, $3)`,
  };
  const update = {
    name: 'floor_cas',
    text: `UPDATE ${PG_TABLE} SET data = $2, version = $3 + 1, expires_at = $4 WHERE key = $1 AND version = $3`,
  };
  return {
    async read(key) {
      const { rows } = await pool.query<{ data: string; version: number; expires_at: string }>({
        ...read,
        values: [key],
      });
      const row = rows[0];
      if (row === undefined) return undefined;
      const expiresAt = Number(row.expires_at);
      return expiresAt > Date.now()
        ? { data: row.data, version: row.version, expiresAt }
        : undefined;
    },
    async create(key, data, expiresAt) {
      await pool.query({ ...insert, values: [key, data, expiresAt] });
    },
    async cas(key, version, data, expiresAt) {
      const result = await pool.query({ ...update, values: [key, data, version, expiresAt] });
      return result.rowCount === 1;
    },
  };
}
