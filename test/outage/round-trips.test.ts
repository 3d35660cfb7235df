/**
 * What a request costs the backend, counted by the backend: a read is one round trip; an
 * unmodified read writes nothing until the expiry-refresh threshold (`touchInterval`) has passed,
 * then exactly one touch. Redis: `INFO commandstats` deltas on a private redis-server (so other
 * test files cannot disturb the counts). PostgreSQL: statements counted by a pool wrapper.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionStore } from '../../src/core/store.js';
import { generateSecret } from '../../src/index.js';
import { type PgPoolLike, postgresStore } from '../../src/stores/postgres.js';
import { REDIS_SCRIPTS, redisStore } from '../../src/stores/redis.js';
import { postgresPool, uniqueName } from '../support/backends.js';
import { cookieOf, keepAliveAgent, send, startTortureApp } from '../support/torture-app.js';

const MINUTE = 60_000;
const agent = keepAliveAgent();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  agent.destroy();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Run the torture app over `store` with a movable manager clock, seed a session, then report
 * what a plain read costs `count()` before and after the touch threshold.
 */
async function measure(store: SessionStore, count: () => Promise<Map<string, number>>) {
  let skew = 0;
  const app = await startTortureApp(store, generateSecret(), { now: () => Date.now() + skew });
  cleanups.push(() => app.close());
  const cookie = cookieOf(await send(agent, app.url, 'POST', '/seed'))!;
  const delta = async (fn: () => Promise<unknown>): Promise<Record<string, number>> => {
    const before = await count();
    await fn();
    const after = await count();
    const out: Record<string, number> = {};
    for (const [name, n] of after)
      if (n !== (before.get(name) ?? 0)) out[name] = n - (before.get(name) ?? 0);
    return out;
  };
  const read = async (): Promise<void> => {
    const reply = await send(agent, app.url, 'GET', '/read', cookie);
    expect(reply.status).toBe(200);
    expect(reply.setCookie).toEqual([]);
  };
  const fresh = await delta(read);
  const untouched = await delta(read);
  skew = 2 * MINUTE; // past the default touchInterval (60 s)
  const touched = await delta(read);
  const anonymous = await delta(async () => {
    expect((await send(agent, app.url, 'GET', '/health-less-path')).status).toBe(404);
  });
  return { fresh, untouched, touched, anonymous };
}

describe('round trips per request', () => {
  it('Redis: a read is one command, no write until the touch threshold, then one touch', async (ctx) => {
    let server: ChildProcess | undefined;
    let client: Redis | undefined;
    try {
      const port = await freePort();
      server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      cleanups.push(() => server?.kill());
      client = new Redis({
        port,
        host: '127.0.0.1',
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        retryStrategy: (t) => (t > 20 ? null : 50),
      });
      client.on('error', () => {});
      for (let i = 0; i < 40; i++) {
        try {
          await client.connect();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await client.ping();
    } catch (error) {
      if (process.env.CI === 'true') throw error;
      return ctx.skip(`no private redis-server (${(error as Error).message})`);
    }
    const c = client;
    // As on a long-running server: the scripts are cached (EVALSHA, no NOSCRIPT + EVAL).
    for (const { source } of Object.values(REDIS_SCRIPTS)) await c.script('LOAD', source);
    cleanups.push(() => c.disconnect());
    const admin = new Redis({ port: c.options.port!, host: '127.0.0.1' });
    cleanups.push(() => admin.disconnect());
    const count = async (): Promise<Map<string, number>> => {
      const text = (await admin.info('commandstats')) as string;
      const calls = new Map<string, number>();
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
        calls.set(m[1]!, Number(m[2]));
      // The counting connection's own INFO calls are not the app's.
      calls.delete('info');
      return calls;
    };
    const { fresh, untouched, touched, anonymous } = await measure(
      redisStore({ client: c, prefix: 'rt:' }),
      count,
    );
    // One command per read; no EVALSHA (write/touch scripts) on an unmodified read.
    expect(fresh).toEqual({ get: 1 });
    expect(untouched).toEqual(fresh);
    // Past the threshold: the same read plus exactly one touch script (EVALSHA, preloaded).
    // commandstats also counts the commands the script runs inside Redis (GET, SET … PXAT):
    // no extra round trips.
    expect(touched).toEqual({ get: 2, evalsha: 1, set: 1 });
    expect(/'GET'[\s\S]*'SET'/.test(REDIS_SCRIPTS.touch.source)).toBe(true);
    expect(anonymous).toEqual({});
  });

  it('PostgreSQL: a read is one statement, no write until the touch threshold, then one UPDATE', async (ctx) => {
    const pool = postgresPool();
    cleanups.push(() => pool.end());
    const table = uniqueName();
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      if (process.env.CI === 'true') throw error;
      return ctx.skip(`postgres unreachable (${(error as Error).message})`);
    }
    cleanups.push(() => pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_locks`));
    const statements = new Map<string, number>();
    const counting: PgPoolLike = {
      query: (text, values) => {
        const sql = typeof text === 'string' ? text : text.text; // unnamed or named
        const verb = sql.trim().split(/\s+/)[0]!.toUpperCase();
        statements.set(verb, (statements.get(verb) ?? 0) + 1);
        return pool.query(text, values);
      },
    };
    const store = postgresStore({ pool: counting, table });
    await store.migrate();
    const { fresh, untouched, touched, anonymous } = await measure(
      store,
      async () => new Map(statements),
    );
    expect(fresh).toEqual({ SELECT: 1 });
    expect(untouched).toEqual({ SELECT: 1 });
    expect(touched).toEqual({ SELECT: 1, UPDATE: 1 });
    expect(anonymous).toEqual({});
  });
});
