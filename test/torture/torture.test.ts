/**
 * Torture: 200 concurrent HTTP requests on one session, per store, against the real backends,
 * through the real node adapter over keep-alive sockets. Synchronous stores (memory, SQLite) get
 * a 0–2 ms jitter per call so requests really interleave.
 *
 * Each store prints one `torture <store> …` line with its figures (docs/concurrency.md).
 */

import type { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { ALL_KINDS, type Backend, SYNCHRONOUS, tryBackend } from '../support/backends.js';
import { probeStore } from '../support/probe-store.js';
import {
  BURST_TIMEOUT,
  cookieOf,
  keepAliveAgent,
  type Reply,
  send,
  startTortureApp,
  type TortureApp,
} from '../support/torture-app.js';

const N = 200;

describe.each(ALL_KINDS)('torture on %s', (kind) => {
  let backend: Backend | undefined;
  let skip: string | undefined;
  let app: TortureApp;
  let agent: Agent;
  const figures: string[] = [];

  beforeAll(async () => {
    const opened = await tryBackend(kind);
    if (opened.backend === undefined) {
      skip = opened.reason;
      return;
    }
    backend = opened.backend;
    const store = SYNCHRONOUS.has(kind) ? probeStore(backend.store, { jitter: 2 }) : backend.store;
    app = await startTortureApp(store, generateSecret());
    agent = keepAliveAgent();
  });
  afterAll(async () => {
    agent?.destroy();
    await app?.close();
    await backend?.cleanup();
    if (figures.length > 0) console.log(`torture ${kind}: ${figures.join('; ')}`);
  });

  const post = (path: string, cookie?: string): Promise<Reply> =>
    send(agent, app.url, 'POST', path, cookie);
  const get = (path: string, cookie?: string): Promise<Reply> =>
    send(agent, app.url, 'GET', path, cookie);
  async function seed(): Promise<string> {
    const reply = await post('/seed');
    expect(reply.status).toBe(200);
    return cookieOf(reply)!;
  }
  async function burst(paths: (i: number) => [string, string], cookie: string) {
    const started = performance.now();
    const replies = await Promise.all(
      Array.from({ length: N }, (_, i) => {
        const [method, path] = paths(i);
        return send(agent, app.url, method, path, cookie);
      }),
    );
    return { replies, ms: Math.round(performance.now() - started) };
  }
  const statuses = (replies: Reply[]) => replies.map((r) => r.status);
  /** What went wrong server-side, for failure messages. */
  const why = (): string => {
    const counts = new Map<string, number>();
    const add = (key: string): void => {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    };
    for (const e of app.errors as { code?: string; message?: string; cause?: Error }[]) {
      add(`${e.code} ${e.cause?.message ?? e.message}`);
    }
    // Store errors and lock timeouts answer 503 without reaching the adapter's onError.
    for (const e of app.events) {
      if (e.type === 'store-error') add(`event store-error ${e.operation} ${e.code}`);
      else if (e.type === 'lock-timeout' || e.type === 'conflict') add(`event ${e.type}`);
    }
    return JSON.stringify([...counts]);
  };

  it(
    `merge mode: ${N} concurrent update() → counter ${N}, all 2xx`,
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const cookie = await seed();
      const { replies, ms } = await burst(() => ['POST', '/update'], cookie);
      expect(statuses(replies), why()).toEqual(Array(N).fill(200));
      // Every request computed a distinct value: 1..N, no increment lost or duplicated.
      const seen = replies.map((r) => r.body.counter as number).sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect((await get('/read', cookie)).body.counter).toBe(N);
      const retries = app.events.filter((e) => e.type === 'commit' && e.attempts > 1).length;
      figures.push(`merge ${N}/${N} in ${ms} ms (${retries} replayed)`);
    },
    BURST_TIMEOUT,
  );

  it(
    `lock mode: ${N} concurrent get-then-set → counter ${N}, all 2xx`,
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const cookie = await seed();
      const { replies, ms } = await burst(() => ['POST', '/lock/incr'], cookie);
      expect(statuses(replies), why()).toEqual(Array(N).fill(200));
      const seen = replies.map((r) => r.body.counter as number).sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect((await get('/read', cookie)).body.counter).toBe(N);
      figures.push(`lock ${N}/${N} in ${ms} ms`);
    },
    BURST_TIMEOUT,
  );

  it(
    `${N} concurrent writes of distinct keys → all ${N} present`,
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const cookie = await seed();
      const { replies, ms } = await burst((i) => ['POST', `/key?i=${i}`], cookie);
      expect(statuses(replies), why()).toEqual(Array(N).fill(200));
      const { data } = (await get('/state', cookie)).body as { data: { keys: object } };
      expect(Object.keys(data.keys)).toHaveLength(N);
      for (let i = 0; i < N; i++) expect(data.keys).toHaveProperty(`k${i}`, i);
      figures.push(`keys ${N}/${N} in ${ms} ms`);
    },
    BURST_TIMEOUT,
  );

  it(
    'logout racing writers → the session is never resurrected',
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const cookie = await seed();
      const { handle } = (await get('/state', cookie)).body as { handle: string };
      const { replies } = await burst(
        (i) => (i === N / 4 ? ['POST', '/logout'] : ['POST', `/write?i=${i}`]),
        cookie,
      );
      // Writers commit before the logout (200) or lose to it with a `destroyed` conflict (409).
      expect(replies.filter((r) => r.status !== 200 && r.status !== 409)).toEqual([]);
      expect(replies[N / 4]?.status).toBe(200);
      // The old id stays dead: nothing under its key, and the cookie is anonymous.
      await expect(backend!.store.get(handle)).resolves.toBeUndefined();
      expect((await get('/state', cookie)).body).toEqual({ handle: null, data: null });
      // A writer that loaded after the logout got a brand-new session, never the old id back.
      for (const r of replies) {
        const next = cookieOf(r);
        if (next !== undefined && next !== 'sid=') expect(next).not.toBe(cookie);
      }
      const lost = replies.filter((r) => r.status === 409).length;
      figures.push(`logout: ${lost} writers refused (409), 0 resurrected`);
    },
    BURST_TIMEOUT,
  );

  it(
    `a flash read by ${N} parallel requests is delivered exactly once`,
    async (ctx) => {
      if (skip) return ctx.skip(skip);
      const cookie = await seed();
      const { replies } = await burst(() => ['GET', '/flash'], cookie);
      expect(statuses(replies), why()).toEqual(Array(N).fill(200));
      expect(replies.filter((r) => r.body.msg === 'hello')).toHaveLength(1);
      expect(replies.filter((r) => r.body.msg !== null && r.body.msg !== 'hello')).toEqual([]);
      figures.push('flash delivered 1×');
    },
    BURST_TIMEOUT,
  );
});
