/**
 * What every contender server shares: its settings (from the environment the harness sets), the
 * backend clients, a statement counter on the PostgreSQL pool, and the startup/shutdown protocol.
 *
 * Protocol with the harness (`bench/run.ts`): the child listens on 127.0.0.1:0 and prints one
 * line `{"port":N}` on stdout; over the IPC channel it answers `'stats'` with {@link ChildStats}
 * (statements sent through its `pg` pool plus commands sent through its ioredis client so far —
 * round trips, whatever a Lua script does inside Redis — and its garbage collections so far, seen
 * by a `PerformanceObserver` on `'gc'` entries); it exits when the channel closes (the harness
 * went away) or on SIGTERM. Routes, identical for every contender:
 *
 * - `GET /a` — untouched: the handler never touches the session (scenario A)
 * - `GET /b` — read one value (`name`) from the session (scenario B)
 * - `POST /c` — increment `counter` in the session (scenario C, the lost-update burst)
 * - `POST /init` — create a session `{ name: 'bench', counter: 0 }` (sets the cookie)
 * - `GET /counter` — read `counter` (checks the burst)
 */

import type { Server } from 'node:http';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createClient } from 'redis';
import type { Transport } from '../harness/plan.js';

/** The store a contender runs on (`hybrid`: sessionkit's hybrid over Redis). */
export type StoreKind = 'memory' | 'redis' | 'postgres' | 'cookie' | 'jwt' | 'hybrid';

/** Session data of every contender. */
export interface BenchData {
  name: string;
  counter: number;
}

/** The store this child runs on (`BENCH_STORE`). */
export const STORE: StoreKind = parseStore(process.env.BENCH_STORE);
/** Where the session token travels (`BENCH_TRANSPORT`; the cookie unless it says `bearer`). */
export const TRANSPORT: Transport = parseTransport(process.env.BENCH_TRANSPORT);
/** Signing secret, 64 hex chars from the harness (`BENCH_SECRET`). */
export const SECRET: string = required('BENCH_SECRET');
/** Redis key prefix of this run (`BENCH_PREFIX`), cleaned up by the harness. */
export const REDIS_PREFIX: string = process.env.BENCH_PREFIX ?? 'bench:';
/** PostgreSQL table of this run (`BENCH_TABLE`), dropped by the harness. */
export const PG_TABLE: string = process.env.BENCH_TABLE ?? 'bench_sessions';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Pool size for PostgreSQL: one per load connection would oversubscribe two cores. */
const PG_POOL_SIZE = 10;

/** Garbage collections of this process so far, by kind, and their total duration. */
export interface GcCounts {
  /** Scavenges (young generation). */
  minor: number;
  /** Full mark-compacts (old generation). */
  major: number;
  /** Incremental marking steps. */
  incremental: number;
  /** Weak-callback processing. */
  weak: number;
  /** Sum of the collections' durations, in ms. */
  ms: number;
}

/** What a child answers to `'stats'`: counters since it started. */
export interface ChildStats {
  storeCalls: number;
  gc: GcCounts;
}

let storeCalls = 0;
const gc: GcCounts = { minor: 0, major: 0, incremental: 0, weak: 0, ms: 0 };
const closers: (() => Promise<unknown>)[] = [];

/** An ioredis client (sessionkit's Redis store) whose commands are counted. */
export function ioredisClient(): Redis {
  const client = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
  // Every ioredis command, EVALSHA included, goes through sendCommand: one call, one round trip.
  const send = client.sendCommand.bind(client);
  client.sendCommand = (...args: Parameters<typeof send>) => {
    storeCalls++;
    return send(...args);
  };
  closers.push(() => client.quit());
  return client;
}

/** A connected node-redis client (connect-redis 9 needs this flavour). */
export async function nodeRedisClient() {
  const client = createClient({ url: REDIS_URL });
  client.on('error', (error: unknown) => console.error('redis:', error));
  await client.connect();
  closers.push(() => client.quit());
  return client;
}

/** A `pg` pool whose `query` counts the statements it sends (store commands per request). */
export function countedPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: PG_URL, max: PG_POOL_SIZE });
  pool.on('error', (error) => console.error('pg:', error.message));
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    storeCalls++;
    return query(...args);
  };
  closers.push(() => pool.end());
  return pool;
}

/** Announce the port, answer the harness's stats requests, close everything on exit. */
export function serve(server: Server | { close(): unknown }, port: number): void {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) countGc(entry);
  });
  observer.observe({ entryTypes: ['gc'] });
  process.on('message', (message) => {
    if (message === 'stats') process.send?.({ storeCalls, gc } satisfies ChildStats);
  });
  const stop = (): void => {
    void Promise.allSettled([
      new Promise((resolve) => {
        (server as Server).close(resolve);
      }),
      ...closers.map((close) => close()),
    ]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.once('disconnect', stop);
  process.once('SIGTERM', stop);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

function countGc(entry: PerformanceEntry): void {
  // Node ≥ 16 puts the kind in `detail` (older @types/node do not declare it).
  const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
  if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
  else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
  else if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) gc.incremental++;
  else if (kind === constants.NODE_PERFORMANCE_GC_WEAKCB) gc.weak++;
  gc.ms += entry.duration;
}

/** The port a `node:http` server got after `listen(0)`. */
export function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server not listening');
  return address.port;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new Error(`${name} is not set (run through npm run bench)`);
  return value;
}

function parseStore(value: string | undefined): StoreKind {
  const kinds: readonly StoreKind[] = ['memory', 'redis', 'postgres', 'cookie', 'jwt', 'hybrid'];
  if (kinds.includes(value as StoreKind)) return value as StoreKind;
  if (value === undefined) return 'memory';
  throw new Error(`BENCH_STORE must be one of ${kinds.join(', ')}, not ${value}`);
}

function parseTransport(value: string | undefined): Transport {
  if (value === undefined || value === 'cookie') return 'cookie';
  if (value === 'bearer') return value;
  throw new Error(`BENCH_TRANSPORT must be cookie or bearer, not ${value}`);
}
