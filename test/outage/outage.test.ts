/**
 * Store outages, for real: the store's client talks to Redis / PostgreSQL through a TCP proxy
 * the test cuts mid-run. While cut, every request that needs the store answers 503 with no
 * Set-Cookie (the client keeps its cookie); nothing crashes and no promise rejection goes
 * unhandled; once restored, service resumes and the session's data is intact.
 *
 * The tiered store's persistent-tier outage, where the answer depends on what the cache holds,
 * has its own file: `tiered-persistent.test.ts`.
 */

import type { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { type Backend, POSTGRES_URL, REDIS_URL, tryBackend } from '../support/backends.js';
import { proxiedUrl, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import {
  cookieOf,
  keepAliveAgent,
  type Reply,
  send,
  startTortureApp,
  type TortureApp,
} from '../support/torture-app.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

interface Case {
  kind: 'redis' | 'postgres' | 'tiered';
  /** Which proxies the cut affects. */
  cut: ('redis' | 'postgres')[];
  /** Whether requests keep working while cut (a tiered store's cache outage). */
  survives: boolean;
}

const CASES: Case[] = [
  { kind: 'redis', cut: ['redis'], survives: false },
  { kind: 'postgres', cut: ['postgres'], survives: false },
  { kind: 'tiered', cut: ['redis'], survives: true },
];

describe.each(CASES)('$kind store, $cut cut mid-run', ({ kind, cut, survives }) => {
  let backend: Backend | undefined;
  let skip: string | undefined;
  const proxies: Record<'redis' | 'postgres', TcpProxy | undefined> = {
    redis: undefined,
    postgres: undefined,
  };
  let app: TortureApp;
  let agent: Agent;

  beforeAll(async () => {
    proxies.redis = await startTcpProxy(Number(new URL(REDIS_URL).port || 6379));
    proxies.postgres = await startTcpProxy(Number(new URL(POSTGRES_URL).port || 5432));
    const opened = await tryBackend(kind, {
      redisUrl: proxiedUrl(REDIS_URL, proxies.redis),
      postgresUrl: proxiedUrl(POSTGRES_URL, proxies.postgres),
    });
    if (opened.backend === undefined) {
      skip = opened.reason;
      return;
    }
    backend = opened.backend;
    app = await startTortureApp(backend.store, generateSecret(), { storeTimeout: 2000 });
    agent = keepAliveAgent();
  });
  afterAll(async () => {
    agent?.destroy();
    await app?.close();
    proxies.redis?.restore();
    proxies.postgres?.restore();
    await backend?.cleanup();
    await proxies.redis?.close();
    await proxies.postgres?.close();
  });

  it(survives
    ? 'keeps serving from the persistent tier while the cache is cut'
    : 'answers 503 without Set-Cookie while cut, then resumes with the data intact', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const post = (path: string, cookie?: string): Promise<Reply> =>
      send(agent, app.url, 'POST', path, cookie);
    const get = (path: string, cookie?: string): Promise<Reply> =>
      send(agent, app.url, 'GET', path, cookie);
    const cookie = cookieOf(await post('/seed'))!;
    for (let i = 0; i < 5; i++) expect((await post('/update', cookie)).status).toBe(200);
    const before = (await get('/state', cookie)).body;
    const errorsBefore = app.errors.length;

    for (const name of cut) proxies[name]!.cut();
    // Mixed load while cut: reads, writes, lock mode, and new visitors creating sessions.
    const during = await Promise.all([
      ...Array.from({ length: 10 }, () => post('/update', cookie)),
      ...Array.from({ length: 5 }, () => get('/read', cookie)),
      ...Array.from({ length: 5 }, () => post('/lock/incr', cookie)),
      ...Array.from({ length: 5 }, () => post('/seed')),
    ]);
    if (survives) {
      // No 5xx. (A lock-mode get-then-set racing merge-mode updates of the same session may
      // lose its read-then-write check: a correct 409, not an outage.)
      expect(during.filter((r) => r.status !== 200 && r.status !== 409)).toEqual([]);
      expect(during.slice(0, 15).filter((r) => r.status !== 200)).toEqual([]);
      expect(during.slice(20).filter((r) => r.status !== 200)).toEqual([]);
      expect(during.slice(0, 20).flatMap((r) => r.setCookie)).toEqual([]);
    } else {
      expect(during.map((r) => r.status)).toEqual(Array(25).fill(503));
      // No cookie is set or cleared: the client keeps its session for when the store is back.
      expect(during.flatMap((r) => r.setCookie)).toEqual([]);
      for (const r of during) expect(r.body).not.toHaveProperty('counter');
      expect(app.errors.length).toBeGreaterThan(errorsBefore);
    }

    for (const name of cut) proxies[name]!.restore();
    // Service resumes once the clients reconnect (bounded: fails the test, never hangs it).
    let resumed: Reply | undefined;
    for (let i = 0; i < 100 && resumed?.status !== 200; i++) {
      resumed = await get('/read', cookie);
      if (resumed.status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(resumed?.status).toBe(200);
    // Nothing half-written: exactly what was committed before the cut (plus, for a cache
    // outage, the writes that succeeded through the persistent tier).
    const after = (await get('/state', cookie)).body as { data: { counter: number } };
    if (survives) {
      const increments = [...during.slice(0, 10), ...during.slice(15, 20)];
      expect(after.data.counter).toBe(5 + increments.filter((r) => r.status === 200).length);
    } else {
      expect(after).toEqual(before);
    }
    const next = await post('/update', cookie);
    expect(next.status).toBe(200);
    expect(next.setCookie).toEqual([]);
    expect(next.body.counter).toBe(after.data.counter + 1);
    expect(unhandled).toEqual([]);
  }, 30_000);
});
