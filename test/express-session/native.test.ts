/**
 * No lost updates behind express-session's API: the facade on sessionkit stores (memory and
 * Redis) diffs each request's `req.session` against what it loaded and commits with
 * compare-and-set. 200 parallel `count++` end at 200, parallel writes to different keys all
 * survive, and a logout racing writers stays final. Over a connect store the facade loses
 * updates exactly like express-session (shown, so the docs' claim is tested).
 */

import type { Request, Response } from 'express';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SessionStore } from '../../src/core/store.js';
import session, { type SessionOptions } from '../../src/express-session/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { redisStore } from '../../src/stores/redis.js';
import { connectRedis, uniqueName } from '../support/backends.js';
import { probeStore } from '../support/probe-store.js';
import { Browser, SECRET, type Served, serve } from './helpers.js';

const servers: Served[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
const redis = await connectRedis().catch((error: unknown) => {
  if (process.env.CI === 'true') throw error;
  return undefined;
});
afterAll(() => redis?.disconnect());

type Data = Record<string, unknown> & { destroy(): Promise<void> };
const data = (req: Request): Data | undefined => (req as unknown as { session?: Data }).session;

async function start(
  store: SessionStore | InstanceType<typeof session.MemoryStore>,
  extra: SessionOptions = {},
): Promise<Browser> {
  const app = express();
  app.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false, ...extra }));
  app.post('/inc', (req: Request, res: Response) => {
    const s = data(req) as Data;
    s.count = ((s.count as number | undefined) ?? 0) + 1;
    res.json({ count: s.count });
  });
  app.post('/key/:name', (req: Request, res: Response) => {
    const s = data(req) as Data;
    s.keys ??= {};
    const keys = s.keys as Record<string, boolean>;
    keys[String(req.params.name)] = true;
    res.send('ok');
  });
  app.post('/logout', async (req: Request, res: Response) => {
    await (data(req) as Data).destroy();
    res.send('bye');
  });
  app.get('/peek', (req: Request, res: Response) => {
    const s = data(req);
    res.json({
      count: s?.count ?? null,
      keys: Object.keys((s?.keys as object) ?? {}).length,
      id: req.sessionID,
    });
  });
  const served = await serve(app);
  servers.push(served);
  return new Browser(served.url);
}

const stores: [string, () => SessionStore | undefined][] = [
  ['memory', () => memoryStore()],
  ['redis', () => (redis ? redisStore({ client: redis, prefix: `${uniqueName()}:` }) : undefined)],
];

for (const [name, make] of stores) {
  describe(`facade on the sessionkit ${name} store`, () => {
    // A correctness test: on a loaded 2-core machine 200 contending writers can take a while.
    it('200 parallel req.session.count++ end at 200', { timeout: 120_000 }, async (ctx) => {
      const store = make();
      if (store === undefined) return ctx.skip('redis unreachable');
      const browser = await start(store);
      await browser.fetch('/inc', { method: 'POST' });
      const answers = await Promise.all(
        Array.from({ length: 199 }, () => browser.fetch('/inc', { method: 'POST' })),
      );
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(JSON.parse((await browser.fetch('/peek')).body).count).toBe(200);
    });

    it('parallel writes to 50 different keys all survive', async (ctx) => {
      const store = make();
      if (store === undefined) return ctx.skip('redis unreachable');
      const browser = await start(store);
      await browser.fetch('/inc', { method: 'POST' });
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => browser.fetch(`/key/k${i}`, { method: 'POST' })),
      );
      expect(JSON.parse((await browser.fetch('/peek')).body)).toMatchObject({ count: 1, keys: 50 });
    });

    it('a logout racing writers is final: no writer brings the session back', async (ctx) => {
      const store = make();
      if (store === undefined) return ctx.skip('redis unreachable');
      const browser = await start(store);
      await browser.fetch('/inc', { method: 'POST' });
      const cookie = `connect.sid=${browser.jar.get('connect.sid')}`;
      const writers = Array.from({ length: 40 }, () =>
        browser.fetch('/inc', { method: 'POST', headers: { cookie } }),
      );
      const logout = browser.fetch('/logout', { method: 'POST', headers: { cookie } });
      await Promise.all([...writers, logout]);
      // Every writer that loaded the session before the logout either committed before it or
      // found it gone; afterwards the old cookie finds nothing.
      const after = await browser.fetch('/peek', { headers: { cookie } });
      expect(JSON.parse(after.body).count).toBeNull();
    });
  });
}

describe('facade on a sessionkit store: expiry refresh of unmodified sessions', () => {
  it('touches the store only once the expiry would move by a minute or a tenth of the lifetime', async () => {
    for (const [maxAge, pause, touches] of [
      [3_600_000, 0, 0],
      [2_000, 400, 1],
    ] as const) {
      const store = probeStore(memoryStore());
      const browser = await start(store, { cookie: { maxAge } });
      await browser.fetch('/inc', { method: 'POST' });
      store.reset();
      await new Promise((resolve) => setTimeout(resolve, pause));
      expect(JSON.parse((await browser.fetch('/peek')).body).count).toBe(1);
      await browser.fetch('/peek');
      expect(store.calls.get('set') ?? 0).toBe(0);
      // Long lifetime: no touch at all. Short one: the pause moved it past a tenth (a loaded
      // machine may make the second read late enough for one more).
      if (touches === 0) expect(store.calls.get('touch') ?? 0).toBe(0);
      else expect(store.calls.get('touch')).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('facade on a sessionkit store: an unmodified read is not held', () => {
  it('with no save and no expiry refresh due, the response goes out at once (write returns true)', async () => {
    const app = express();
    app.use(
      session({
        secret: SECRET,
        store: memoryStore(),
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: 3_600_000 },
      }),
    );
    app.all('/write', (req: Request, res: Response) => {
      if (req.method === 'POST') (data(req) as Data).count = 1;
      const sent = res.write('[');
      res.end(`${sent}]`);
    });
    const served = await serve(app);
    servers.push(served);
    const browser = new Browser(served.url);
    // A save: held until the store answered, so the write was held too.
    expect((await browser.fetch('/write', { method: 'POST' })).body).toBe('[false]');
    // Unmodified, expiry moved by less than the touch threshold: no store call, nothing held.
    expect((await browser.fetch('/write')).body).toBe('[true]');
  });
});

describe('facade on a sessionkit store: store deadlines', () => {
  // A store that never answers (a dead TCP peer, an offline queue) must not hang the request:
  // every call ends at storeTimeout, as the native API's calls do.
  const hungCall = (hung: 'get' | 'set') => async () => {
    for (const strict of [true, false]) {
      const store = probeStore(memoryStore());
      const errors: string[] = [];
      const browser = await start(store, {
        storeTimeout: 100,
        ...(strict ? { strict: true, secret: 'x'.repeat(32) } : {}),
        onEvent: (event) => {
          if (event.type === 'store-error') errors.push(event.operation);
        },
      });
      await browser.fetch('/inc', { method: 'POST' });
      store.hanging.add(hung);
      const answer = await browser.fetch('/inc', { method: 'POST' });
      expect(answer.status).toBe(503);
      expect(answer.setCookie).toEqual([]);
      expect(errors).toEqual([hung === 'get' ? 'load' : 'save']);
    }
  };
  it(
    "a get that never answers fails at storeTimeout with a 503 (strict, and compat through Express's error handler)",
    hungCall('get'),
  );
  it(
    "a set that never answers fails at storeTimeout with a 503 (strict, and compat through Express's error handler)",
    hungCall('set'),
  );
});

describe('facade on a connect store (no compare-and-set)', () => {
  it('keeps express-session whole-record writes: no merge, the count never exceeds the requests', async () => {
    const browser = await start(new session.MemoryStore());
    await browser.fetch('/inc', { method: 'POST' });
    await Promise.all(Array.from({ length: 20 }, () => browser.fetch('/inc', { method: 'POST' })));
    const count = JSON.parse((await browser.fetch('/peek')).body).count as number;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(21);
  });
});
