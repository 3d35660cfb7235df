/**
 * `sessionkit/otel` over real HTTP requests, with the real `@opentelemetry/api` and
 * `@opentelemetry/sdk-metrics` and an in-memory metric reader: every metric the bridge promises
 * is produced by the request that should produce it, with only small attributes. And the raw
 * diagnostics channels carry handles, never ids, user ids or data.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { type DataPoint, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession } from '../../src/adapters/node.js';
import { EVENT_CHANNEL, STORE_CHANNEL } from '../../src/core/diagnostics.js';
import type { Session } from '../../src/core/session.js';
import type { SessionManagerOptions, SessionStore } from '../../src/index.js';
import { createSessionMetrics, SESSION_METRICS } from '../../src/otel/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { clock } from '../core/helpers.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';

/** A pull reader: `collect()` hands back what the SDK aggregated so far. */
class InMemoryReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type Data = Record<string, unknown>;
type Handler = (session: Session<Data, Data>, req: IncomingMessage) => Promise<unknown>;

/** A manager on `store` behind a real node:http server; `get(path, cookie)` sends one request. */
async function serve(
  store: SessionStore,
  routes: Record<string, Handler>,
  options: Partial<SessionManagerOptions> = {},
) {
  const manager = testManager<Data, Data>({ store, ...options });
  const server = http.createServer(
    withSession(manager, async (req: IncomingMessage, res: ServerResponse, session) => {
      const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
      const body = JSON.stringify((await route?.(session, req)) ?? null);
      res.setHeader('content-type', 'application/json');
      res.end(body);
    }),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return async (path: string, cookie?: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      headers: cookie === undefined ? {} : { cookie },
    });
    const set = response.headers.get('set-cookie')?.split(';')[0];
    return { status: response.status, body: await response.text(), cookie: set ?? cookie };
  };
}
const servers: http.Server[] = [];

/** A promise and its resolver. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

const reader = new InMemoryReader();
const provider = new MeterProvider({ readers: [reader] });
let bridge: ReturnType<typeof createSessionMetrics>;
beforeAll(() => {
  metrics.setGlobalMeterProvider(provider);
  bridge = createSessionMetrics({ meter: metrics.getMeter('sessionkit-test') });
});
afterAll(async () => {
  bridge.close();
  for (const server of servers) server.close();
  await provider.shutdown();
  metrics.disable();
});

/** Every data point of `name` in the reader, as [attributes, value]. */
async function points(name: string): Promise<[Record<string, unknown>, unknown][]> {
  const { resourceMetrics } = await reader.collect();
  const found = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return (found?.dataPoints ?? []).map((p: DataPoint<unknown>) => [p.attributes, p.value]);
}
/** The counter value of `name` at exactly `attributes` (0 if never recorded). */
async function count(name: string, attributes: Record<string, unknown>): Promise<number> {
  const match = (await points(name)).find(
    ([a]) => JSON.stringify(a) === JSON.stringify(attributes),
  );
  return (match?.[1] as number | undefined) ?? 0;
}
/** The number of values recorded into histogram `name` at `attributes`. */
async function recorded(name: string, attributes: Record<string, unknown>): Promise<number> {
  const match = (await points(name)).find(
    ([a]) => JSON.stringify(a) === JSON.stringify(attributes),
  );
  return (match?.[1] as { count: number } | undefined)?.count ?? 0;
}

describe('sessionkit/otel over HTTP', () => {
  it('counts loads, creates, commits, destroys, expiries, store errors and store latency', async () => {
    const time = clock(Date.now());
    const store = probeStore(memoryStore());
    const get = await serve(
      store,
      {
        '/visit': async (s) => {
          const n = ((await s.get('n')) as number | undefined) ?? 0;
          s.set('n', n + 1);
          return n + 1;
        },
        '/logout': async (s) => s.destroy(),
      },
      { now: time.now },
    );
    const first = await get('/visit');
    expect(first.body).toBe('1');
    expect((await get('/visit', first.cookie)).body).toBe('2');
    store.failing.add('get');
    expect((await get('/visit', first.cookie)).status).toBe(503);
    store.failing.delete('get');
    time.advance(31 * 60_000); // past the 30 min idle timeout
    const expired = await get('/visit', first.cookie);
    expect(expired.body).toBe('1');
    await get('/logout', expired.cookie);

    const memory = { store: 'memory' };
    expect(await count('sessionkit.sessions.created', { ...memory, authenticated: false })).toBe(2);
    expect(await count('sessionkit.sessions.expired', { ...memory, reason: 'idle' })).toBe(1);
    expect(await count('sessionkit.sessions.destroyed', memory)).toBe(1);
    expect(await count('sessionkit.session.loads', { ...memory, found: true })).toBe(2);
    expect(await count('sessionkit.session.loads', { ...memory, found: false })).toBe(2);
    expect(await count('sessionkit.session.commits', { ...memory, kind: 'create' })).toBe(2);
    expect(await count('sessionkit.session.commits', { ...memory, kind: 'update' })).toBe(1);
    expect(await count('sessionkit.store.errors', { ...memory, operation: 'get' })).toBe(1);
    const latency = { ...memory, operation: 'get' };
    expect(await recorded('sessionkit.store.duration', { ...latency, outcome: 'error' })).toBe(1);
    expect(await recorded('sessionkit.store.duration', { ...latency, outcome: 'ok' })).toBe(3);
    expect(
      await recorded('sessionkit.store.duration', { ...memory, operation: 'set', outcome: 'ok' }),
    ).toBe(3);
  });

  it('counts merge retries: a commit that lost a compare-and-set to another process retries', async () => {
    const store = memoryStore();
    const held = gate();
    const reached = gate();
    const routes: Record<string, Handler> = {
      '/start': async (s) => s.set('start', true),
      '/slow': async (s) => {
        await s.get('x'); // loads at the current version
        reached.open();
        await held.wait;
        s.set('a', 1);
      },
      '/other': async (s) => s.set('b', 2),
    };
    const one = await serve(store, routes); // two managers on one store: two "processes"
    const two = await serve(store, routes);
    const { cookie } = await one('/start');
    const before = await count('sessionkit.session.merge_retries', { store: 'memory' });
    const slow = one('/slow', cookie);
    await reached.wait;
    expect((await two('/other', cookie)).status).toBe(200);
    held.open();
    expect((await slow).status).toBe(200);
    expect(await count('sessionkit.session.merge_retries', { store: 'memory' })).toBe(before + 1);
  });

  it('counts lock timeouts and lock waits (with their duration) in lock mode', async () => {
    const store = memoryStore();
    const held = gate();
    const reached = gate();
    const routes: Record<string, Handler> = {
      '/start': async (s) => s.set('n', 0),
      '/hold': async (s) => {
        await s.get('n');
        reached.open();
        await held.wait;
        s.set('n', 1);
      },
      '/read': async (s) => s.get('n'),
    };
    const holder = await serve(store, routes, { concurrency: 'lock' });
    const impatient = await serve(store, routes, { concurrency: 'lock', lock: { wait: 0 } });
    const patient = await serve(store, routes, { concurrency: 'lock', lock: { wait: 60_000 } });
    const { cookie } = await holder('/start');
    const memory = { store: 'memory' };
    const [timeouts, waits] = [
      await count('sessionkit.lock.timeouts', memory),
      await count('sessionkit.lock.waits', memory),
    ];
    const holding = holder('/hold', cookie);
    await reached.wait;
    expect((await impatient('/read', cookie)).status).toBe(503);
    expect(await count('sessionkit.lock.timeouts', memory)).toBe(timeouts + 1);

    // Release the holder once the patient request has been refused the lock at least once.
    const refused = gate();
    const onLock = (message: unknown) => {
      const call = message as { operation: string; result?: unknown };
      if (call.operation === 'lock' && call.result === false) refused.open();
    };
    subscribe(`tracing:${STORE_CHANNEL}:asyncEnd`, onLock);
    try {
      const waiting = patient('/read', cookie);
      await refused.wait;
      held.open();
      expect((await waiting).status).toBe(200);
    } finally {
      unsubscribe(`tracing:${STORE_CHANNEL}:asyncEnd`, onLock);
    }
    expect((await holding).status).toBe(200);
    expect(await count('sessionkit.lock.waits', memory)).toBe(waits + 1);
    expect(await recorded('sessionkit.lock.wait.duration', memory)).toBe(waits + 1);
  });

  it('counts brute-force signals, without the address as an attribute', async () => {
    const get = await serve(
      memoryStore(),
      { '/read': async (s) => s.get('a') },
      {
        bruteForce: { threshold: 3 },
      },
    );
    const before = await count('sessionkit.session.brute_force', { store: 'memory' });
    const forged = `sid=${'A'.repeat(43)}.${'B'.repeat(43)}`;
    for (let i = 0; i < 5; i++) expect((await get('/read', forged)).status).toBe(200);
    expect(await count('sessionkit.session.brute_force', { store: 'memory' })).toBe(before + 1);
  });

  it('uses only small attributes, declares every metric it creates, and stops on close()', async () => {
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const allowed = new Set([
      'store',
      'operation',
      'outcome',
      'found',
      'reason',
      'authenticated',
      'kind',
    ]);
    for (const metric of all) {
      expect(Object.keys(SESSION_METRICS)).toContain(metric.descriptor.name);
      for (const point of metric.dataPoints as DataPoint<unknown>[]) {
        for (const [key, value] of Object.entries(point.attributes)) {
          expect(allowed, `${metric.descriptor.name}: ${key}`).toContain(key);
          expect(String(value).length).toBeLessThan(20);
        }
      }
    }
    const other = createSessionMetrics({ meter: provider.getMeter('closed') });
    other.close();
    other.close();
    const get = await serve(memoryStore(), { '/': async (s) => s.set('a', 1) });
    const created = await count('sessionkit.sessions.created', {
      store: 'memory',
      authenticated: false,
    });
    bridge.close();
    await get('/');
    expect(
      await count('sessionkit.sessions.created', { store: 'memory', authenticated: false }),
    ).toBe(created);
    bridge = createSessionMetrics({ meter: metrics.getMeter('sessionkit-test') });
    await get('/');
    expect(
      await count('sessionkit.sessions.created', { store: 'memory', authenticated: false }),
    ).toBe(created + 1);
    expect(() => createSessionMetrics({ meter: {} as never })).toThrow(TypeError);
  });
});

describe('diagnostics channels', () => {
  it('carry handles and the store name, never a session id, a user id or session data', async () => {
    const seen: unknown[] = [];
    const record = (message: unknown) => seen.push(structuredClone(message));
    const names = [
      EVENT_CHANNEL,
      ...['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map(
        (e) => `tracing:${STORE_CHANNEL}:${e}`,
      ),
    ];
    for (const name of names) subscribe(name, record);
    try {
      const get = await serve(memoryStore(), {
        '/login': async (s) => {
          s.login('alice@example.com');
          s.set('secret', 'top-secret-data');
        },
        '/read': async (s) => s.get('secret'),
      });
      const { cookie } = await get('/login');
      expect((await get('/read', cookie)).body).toBe('"top-secret-data"');
      const id = decodeURIComponent(cookie!.split('=')[1]!).split('.')[0]!;
      const text = JSON.stringify(seen);
      expect(text).not.toContain('alice@example.com');
      expect(text).not.toContain('top-secret-data');
      expect(text).not.toContain(id);
      const types = seen.map((m) => (m as { type?: string }).type).filter(Boolean);
      expect(types).toEqual(['load', 'create', 'load']);
      expect(seen).toContainEqual({
        store: 'memory',
        type: 'create',
        handle: expect.stringMatching(/^[\w-]{12}$/),
        authenticated: true,
      });
      expect(seen).toContainEqual(
        expect.objectContaining({
          operation: 'get',
          store: 'memory',
          result: true,
          handle: expect.stringMatching(/^[\w-]{12}$/),
        }),
      );
    } finally {
      for (const name of names) unsubscribe(name, record);
    }
  });
});
