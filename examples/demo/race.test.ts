/**
 * The counter API behind the dashboard's race button (`race.ts`, `race-script.ts`), over real
 * HTTP: every increment arrives, and each response counts the conflicts the core resolved for it.
 * With sealed cookies the burst keeps only the last response's cookie, and the page says so.
 */

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/core/keys.js';
import type { SessionEvent } from '../../src/core/manager.js';
import type { SessionStore } from '../../src/core/store.js';
import { cookieStore } from '../../src/stores/cookie.js';
import { probeStore } from '../../test/support/probe-store.js';
import {
  Client,
  createTestStore,
  type StartedDemo,
  startDemo,
  type TestStore,
} from './test-support.js';

interface Counted {
  counter: number;
  conflictsResolved: number;
}

/**
 * A store whose writes wait, once armed, until `reads` reads have returned: requests that load
 * the session then all see the same version before the first of them commits.
 */
function readBarrier(store: SessionStore): { store: SessionStore; arm(reads: number): void } {
  let gate: { left: number; open(): void; opened: Promise<void> } | undefined;
  const proxy: SessionStore = {
    ...store,
    get: async (key, options) => {
      const record = await store.get(key, options);
      if (gate !== undefined && --gate.left === 0) {
        gate.open();
        gate = undefined;
      }
      return record;
    },
    set: async (key, record, options) => {
      await gate?.opened;
      return store.set(key, record, options);
    },
  };
  return {
    store: proxy,
    arm(reads) {
      let open: () => void = () => undefined;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { left: reads, opened, open: () => open() };
    },
  };
}

describe('the counter API and the race', () => {
  let store: TestStore;
  let demo: StartedDemo;
  let barrier: ReturnType<typeof readBarrier>;
  let replays = 0;

  beforeAll(async () => {
    store = await createTestStore('memory');
    // Jitter makes the burst below interleave; the barrier forces one exact overlap.
    barrier = readBarrier(probeStore(store.store, { jitter: 2 }));
    demo = await startDemo({
      store: barrier.store,
      secrets: generateSecret(),
      manager: {
        // The demo's own listener must still pass every event on to this one.
        onEvent(event: SessionEvent) {
          if (event.type === 'commit') replays += event.attempts - 1;
        },
      },
    });
  });
  afterAll(async () => {
    await demo?.close();
    await store?.cleanup();
  });

  async function signedIn(): Promise<Client> {
    const client = new Client(demo.url);
    const res = await client.request('POST', '/login', {
      json: { username: 'alice', password: 'demo-password' },
    });
    expect(res.status).toBe(200);
    return client;
  }

  function increment(client: Client): Promise<Counted> {
    return client
      .request('POST', '/api/counter', { headers: { accept: 'application/json' } })
      .then((res) => {
        expect(res.status).toBe(200);
        return res.json<Counted>();
      });
  }

  it('GET /api/counter reads the counter and never creates a session', async () => {
    const anonymous = new Client(demo.url);
    const res = await anonymous.request('GET', '/api/counter');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ counter: 0 });
    expect(res.setCookies).toEqual([]);

    const client = await signedIn();
    expect(await increment(client)).toEqual({ counter: 1, conflictsResolved: 0 });
    expect(await client.getJson('/api/counter')).toEqual({ counter: 1 });
  });

  it('two overlapping increments both arrive; the one that lost the race reports 1 conflict', async () => {
    const client = await signedIn();
    await client.token();
    // Both requests read version v before either writes: the second commit loses its
    // compare-and-set, and the core replays its increment on the first one's record.
    barrier.arm(2);
    const results = await Promise.all([increment(client), increment(client)]);
    expect(results.map((r) => r.counter).sort()).toEqual([1, 2]);
    expect(results.map((r) => r.conflictsResolved).sort()).toEqual([0, 1]);
    // The one that committed second saw the other's increment.
    expect(results.find((r) => r.conflictsResolved === 1)?.counter).toBe(2);
    expect(await client.getJson('/api/counter')).toEqual({ counter: 2 });
  });

  it('100 parallel increments (the race button’s burst): +100, every conflict accounted for', async () => {
    const client = await signedIn();
    await client.token();
    const before = replays;
    const results = await Promise.all(Array.from({ length: 100 }, () => increment(client)));
    const counters = results.map((r) => r.counter).sort((a, b) => a - b);
    expect(counters).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await client.getJson('/api/counter')).toEqual({ counter: 100 });
    // Each resolved conflict is reported once, by the request whose commit was replayed.
    const reported = results.reduce((sum, r) => sum + r.conflictsResolved, 0);
    expect(reported).toBe(replays - before);
    expect(results.every((r) => Number.isInteger(r.conflictsResolved))).toBe(true);
  });

  it('the dashboard carries the race button, and the CSP allows exactly its script', async () => {
    const client = await signedIn();
    const page = await client.request('GET', '/');
    expect(page.text).toMatch(
      /<button type="button" id="race" data-csrf-token="[A-Za-z0-9_-]{86}" data-mode="server">Fire 100 parallel increments<\/button>/,
    );
    expect(page.text).toContain('<p id="race-result" role="status" aria-live="polite"></p>');
    const scripts = [...page.text.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(scripts).toHaveLength(1);
    const hash = createHash('sha256').update(scripts[0]!).digest('base64');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("default-src 'none'");
    // No script on the pages of anonymous visitors and no other inline code anywhere.
    const home = await new Client(demo.url).request('GET', '/');
    expect(home.text).not.toContain('<script');
    expect(page.text).not.toMatch(/\son[a-z]+=/);
  });
});

describe('the race with sealed cookies (stateless mode)', () => {
  let demo: StartedDemo;

  beforeAll(async () => {
    demo = await startDemo({ store: cookieStore(), secrets: generateSecret() });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('100 parallel increments from one cookie each answer +1 on it: the last cookie keeps one', async () => {
    const client = new Client(demo.url);
    expect(
      (
        await client.request('POST', '/login', {
          json: { username: 'bob', password: 'demo-password' },
        })
      ).status,
    ).toBe(200);
    const cookie = client.cookie!;
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        client.request('POST', '/api/counter', { headers: { accept: 'application/json', cookie } }),
      ),
    );
    // Every request started from the same cookie (counter 0) and sealed its own answer.
    expect(results.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(results.map((r) => r.json<Counted>())).toEqual(
      Array(100).fill({ counter: 1, conflictsResolved: 0 }),
    );
    const cookies = new Set(results.map((r) => r.setCookies[0]?.split(';')[0]));
    expect(cookies.size).toBe(100); // a fresh IV per seal: 100 different cookies
    client.cookie = results[99]!.setCookies[0]!.split(';')[0];
    expect(await client.getJson('/api/counter')).toEqual({ counter: 1 });
  });

  it('the dashboard explains it: the race script reports what was kept, not 100 of 100', async () => {
    const client = new Client(demo.url);
    await client.request('POST', '/login', {
      json: { username: 'alice', password: 'demo-password' },
    });
    const page = await client.request('GET', '/');
    expect(page.text).toMatch(
      /id="race" data-csrf-token="[A-Za-z0-9_-]{86}" data-mode="stateless"/,
    );
    expect(page.text).toContain('the browser keeps the last cookie it receives');
    expect(page.text).toContain('Last writer wins in stateless mode: ');
    // Without a revocation store there is no devices page, and the dashboard says why.
    expect(page.text).not.toContain('href="/sessions"');
    const devices = await client.request('GET', '/sessions', {
      headers: { accept: 'application/json' },
    });
    expect(devices.status).toBe(501);
    expect(devices.json()).toEqual({ error: expect.stringContaining('revocation store') });
  });
});
