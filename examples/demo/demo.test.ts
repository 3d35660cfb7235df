/**
 * The demo app over real HTTP (port 0), on every store it supports.
 */

import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing, generateSecret, generateSessionId } from '../../src/core/keys.js';
import { probeStore } from '../../test/support/probe-store.js';
import type { DemoContext } from './app.js';
import {
  Client,
  createTestStore,
  type RequestOptions,
  type StartedDemo,
  type StoreKind,
  startDemo,
  type TestStore,
} from './test-support.js';

const PASSWORD = 'demo-password';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

interface SessionJson {
  authenticated: boolean;
  user: string | null;
  counter: number;
  flash: { success: string[]; info: string[]; error: string[] };
  csrfToken: string;
}

interface SessionsJson {
  sessions: { handle: string; current: boolean; userAgent: string | null; ip: string | null }[];
}

/** Test-only routes: write any key, read everything, and a writer that waits at a gate. */
function testRoutes(slow: { arrived: () => void; gate: () => Promise<void> }) {
  return (app: Express, ctx: DemoContext) => {
    app.post('/test/set', async (req, res) => {
      const { key, value } = req.body as { key: string; value: number };
      ctx.sessions.get(req).set(`k${key}`, value);
      res.json({ ok: true });
    });
    app.get('/test/all', async (req, res) => {
      res.json(await ctx.sessions.get(req).all());
    });
    app.post('/test/slow', async (req, res) => {
      const session = ctx.sessions.get(req);
      await session.get('counter'); // loaded before the logout happens
      slow.arrived();
      await slow.gate();
      if ((req.body as { mode?: string }).mode === 'update') {
        await session.update('counter', (n) => (n ?? 0) + 1);
      } else {
        session.set('late', true);
      }
      res.json({ ok: true });
    });
  };
}

async function login(client: Client, user = 'alice'): Promise<void> {
  const res = await client.request('POST', '/login', {
    json: { username: user, password: PASSWORD },
  });
  expect(res.status).toBe(200);
  // login() rotated the CSRF token; the response hands out the new one (the client keeps it).
  expect(res.json()).toEqual({ authenticated: true, user, csrfToken: expect.any(String) });
  expect(client.csrfToken).toBe(res.json<SessionJson>().csrfToken);
}

describe.each<StoreKind>(['memory', 'file', 'sqlite'])('demo on the %s store', (kind) => {
  let store: TestStore;
  let demo: StartedDemo;
  let slowArrived = 0;
  let onArrive: () => void = () => undefined;
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    store = await createTestStore(kind);
    demo = await startDemo({
      // Jitter makes the concurrent requests below really interleave on every store.
      store: probeStore(store.store, { jitter: 2 }),
      secrets: generateSecret(),
      extend: testRoutes({
        arrived: () => {
          slowArrived++;
          onArrive();
        },
        gate: () => gate,
      }),
    });
  });
  afterAll(async () => {
    await demo?.close();
    await store?.cleanup();
  });

  it('logs in with the form: 303 to /, flash shown once, new cookie', async () => {
    const client = new Client(demo.url);
    const home = await client.request('GET', '/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('id="login-form"');
    expect(home.text).toContain('<code>alice</code>');
    expect(home.text).toContain('<code>bob</code>');
    expect(home.text).toContain('<code>demo-password</code>');
    // The login form carries a CSRF token, kept in an anonymous pre-session.
    const token = /name="_csrf" value="([A-Za-z0-9_-]+)"/.exec(home.text)?.[1];
    expect(token).toBeDefined();
    expect(home.setCookies).toHaveLength(1);
    const preSession = client.cookie;

    const res = await client.request('POST', '/login', {
      form: { username: 'alice', password: PASSWORD, _csrf: token! },
      csrf: false,
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect(client.cookie).toMatch(/^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(client.cookie).not.toBe(preSession);

    const dashboard = await client.request('GET', '/');
    // "Welcome" or "Welcome back" depending on earlier tests: see the 'greeting' suite.
    expect(dashboard.text).toMatch(/role="status">Welcome(?: back)?, alice<\/p>/);
    expect(dashboard.text).toContain('id="user">alice<');
    expect(dashboard.text).toContain('id="counter">0<');
    const again = await client.request('GET', '/');
    expect(again.text).not.toContain('Welcome');
    expect(again.text).toContain('id="user">alice<');
  });

  it('logs in with JSON; /api/session reports it and hands the flash out once', async () => {
    const client = new Client(demo.url);
    await login(client, 'bob');
    const first = await client.getJson<SessionJson>('/api/session');
    expect(first).toEqual({
      authenticated: true,
      user: 'bob',
      counter: 0,
      flash: { success: [expect.stringMatching(/^Welcome(?: back)?, bob$/)], info: [], error: [] },
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{86}$/),
    });
    const second = await client.getJson<SessionJson>('/api/session');
    expect(second.flash.success).toEqual([]);
    expect(second.user).toBe('bob');
  });

  it('regenerates the id at login: the pre-login cookie is dead, the data is kept', async () => {
    const client = new Client(demo.url);
    const counted = await client.request('POST', '/api/counter', {
      headers: { accept: 'application/json' },
    });
    expect(counted.json()).toEqual({ counter: 1, conflictsResolved: 0 });
    const anonymousCookie = client.cookie;
    expect(anonymousCookie).toBeDefined();
    await login(client);
    expect(client.cookie).toBeDefined();
    expect(client.cookie).not.toBe(anonymousCookie);
    expect((await client.getJson<SessionJson>('/api/session')).counter).toBe(1);

    const stale = new Client(demo.url);
    stale.cookie = anonymousCookie;
    const old = await stale.getJson<SessionJson>('/api/session');
    expect(old.authenticated).toBe(false);
    expect(old.counter).toBe(0);
  });

  it('a different user signing in does not inherit the previous user’s data', async () => {
    const client = new Client(demo.url);
    await login(client, 'alice');
    await client.request('POST', '/api/counter', { headers: { accept: 'application/json' } });
    await login(client, 'bob');
    const state = await client.getJson<SessionJson>('/api/session');
    expect(state.user).toBe('bob');
    expect(state.counter).toBe(0);
  });

  it('rejects a wrong password with 401, identically for unknown users, without a new cookie', async () => {
    const client = new Client(demo.url);
    await client.token(); // the anonymous pre-session a login page comes with
    const preSession = client.cookie;
    expect(preSession).toBeDefined();
    const wrong = await client.request('POST', '/login', {
      form: { username: 'alice', password: 'nope' },
    });
    const unknown = await client.request('POST', '/login', {
      form: { username: 'mallory', password: PASSWORD },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toContain('Invalid username or password.');
    expect(wrong.text).toContain('id="login-form"');
    // Same page but for the echoed username and the per-response masking of the CSRF token.
    const strip = (text: string, user: string) =>
      text.replace(`value="${user}"`, '').replace(/name="_csrf" value="[^"]+"/, '');
    expect(strip(wrong.text, 'alice')).toBe(strip(unknown.text, 'mallory'));
    expect(wrong.setCookies).toEqual([]);
    expect(unknown.setCookies).toEqual([]);

    const json = await client.request('POST', '/login', {
      json: { username: 'bob', password: 'x' },
    });
    expect(json.status).toBe(401);
    expect(json.json()).toEqual({ error: 'Invalid username or password.' });
    const missing = await client.request('POST', '/login', { json: { username: ['alice'] } });
    expect(missing.status).toBe(401);
    expect(client.cookie).toBe(preSession);
    expect((await client.getJson<SessionJson>('/api/session')).authenticated).toBe(false);
  });

  it('escapes what it echoes back into HTML', async () => {
    const client = new Client(demo.url);
    const res = await client.request('POST', '/login', {
      form: { username: '"><script>alert(1)</script>', password: 'x' },
    });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain('<script>');
    expect(res.text).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('logs out with the form: 303, a new anonymous session says "You are signed out" once', async () => {
    const client = new Client(demo.url);
    await login(client);
    const cookie = client.cookie;
    const res = await client.request('POST', '/logout', { form: {} });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    // The signed-in record is gone; the flash lives in a fresh anonymous session.
    expect(client.cookie).toMatch(/^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(client.cookie).not.toBe(cookie);
    const next = await client.request('GET', '/');
    expect(next.text).toContain('id="login-form"');
    expect(next.text).toContain('<p class="flash info" role="status">You are signed out.</p>');
    expect((await client.request('GET', '/')).text).not.toContain('signed out');
    expect((await client.getJson<SessionJson>('/api/session')).authenticated).toBe(false);
    const replay = new Client(demo.url);
    replay.cookie = cookie;
    expect((await replay.getJson<SessionJson>('/api/session')).authenticated).toBe(false);
    expect((await replay.request('GET', '/')).text).toContain('id="login-form"');
  });

  it('logs out with JSON: cookie expired, nothing left behind, the old cookie is anonymous', async () => {
    const client = new Client(demo.url);
    await login(client);
    const cookie = client.cookie;
    const res = await client.request('POST', '/logout', { json: {} });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ authenticated: false });
    expect(res.setCookies.join('\n')).toMatch(/^sid=; .*Max-Age=0/m);
    expect(client.cookie).toBeUndefined();
    const replay = new Client(demo.url);
    replay.cookie = cookie;
    expect((await replay.getJson<SessionJson>('/api/session')).authenticated).toBe(false);
  });

  it('200 concurrent POST /api/counter on one session: all succeed, counter is 200', async () => {
    const client = new Client(demo.url);
    await login(client);
    const cookie = client.cookie;
    const responses = await Promise.all(
      Array.from({ length: 200 }, () =>
        client.request('POST', '/api/counter', { headers: { accept: 'application/json' } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200));
    // Every request committed its own increment, so each saw a different count.
    const seen = responses.map((r) => r.json<{ counter: number }>().counter).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(client.cookie).toBe(cookie);
    expect((await client.getJson<SessionJson>('/api/session')).counter).toBe(200);
  });

  it('200 concurrent requests each setting a different key: all 200 keys are kept', async () => {
    const client = new Client(demo.url);
    await login(client);
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        client.request('POST', '/test/set', { json: { key: String(i), value: i * 7 } }),
      ),
    );
    expect(responses.filter((r) => r.status !== 200)).toEqual([]);
    const data = await client.getJson<Record<string, unknown>>('/test/all');
    for (let i = 0; i < 200; i++) expect(data[`k${i}`]).toBe(i * 7);
    expect(Object.keys(data).filter((k) => k.startsWith('k'))).toHaveLength(200);
  });

  it('logout racing slow writers: the session stays destroyed', async () => {
    const client = new Client(demo.url);
    await login(client);
    const { sessions } = await client.getJson<SessionsJson>('/sessions');
    const handle = sessions.find((s) => s.current)?.handle;
    expect(handle).toBeDefined();

    const writers = 8;
    slowArrived = 0;
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const allArrived = new Promise<void>((resolve) => {
      onArrive = () => {
        if (slowArrived === writers) resolve();
      };
    });
    const pending = Array.from({ length: writers }, (_, i) =>
      client.request('POST', '/test/slow', { json: { mode: i % 2 === 0 ? 'update' : 'set' } }),
    );
    await allArrived; // every writer has loaded the session
    const cookie = client.cookie;
    const out = await client.request('POST', '/logout', { json: {} });
    expect(out.status).toBe(200);
    release();
    const results = await Promise.all(pending);
    // Each slow commit finds the record gone: a typed conflict (409), never a resurrection.
    expect(results.map((r) => r.status)).toEqual(Array(writers).fill(409));
    expect(results.flatMap((r) => r.setCookies)).toEqual([]);

    expect(
      await demo.manager.listSessions('alice').then((l) => l.map((s) => s.handle)),
    ).not.toContain(handle);
    expect(await store.store.get(handle!)).toBeUndefined();
    const replay = new Client(demo.url);
    replay.cookie = cookie;
    expect((await replay.getJson<SessionJson>('/api/session')).authenticated).toBe(false);
  });

  it('lists a user’s devices and revokes one or all others', async () => {
    const user = 'bob';
    await demo.manager.revokeAll(user);
    const laptop = new Client(demo.url, FIREFOX);
    const phone = new Client(demo.url, IPHONE);
    await login(laptop, user);
    await login(phone, user);

    const page = await laptop.request('GET', '/sessions');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Firefox on Linux');
    expect(page.text).toContain('Safari on iOS');
    expect(page.text).toContain('This device');
    expect(page.text.match(/<tr data-handle=/g)).toHaveLength(2);
    expect(page.text.match(/name="handle"/g)).toHaveLength(1);

    const listed = await laptop.getJson<SessionsJson>('/sessions');
    expect(listed.sessions).toHaveLength(2);
    const mine = listed.sessions.find((s) => s.current);
    const other = listed.sessions.find((s) => !s.current);
    expect(mine?.userAgent).toBe(FIREFOX);
    expect(other?.userAgent).toBe(IPHONE);
    expect(other?.ip).toMatch(/127\.0\.0\.1/);

    // Someone else cannot revoke bob's session by its handle.
    const mallory = new Client(demo.url);
    await login(mallory, 'alice');
    const foreign = await mallory.request('POST', '/sessions/revoke', {
      json: { handle: other!.handle },
    });
    expect(foreign.json()).toEqual({ revoked: 0 });
    expect((await phone.getJson<SessionJson>('/api/session')).authenticated).toBe(true);

    // Revoke one, by handle.
    const one = await laptop.request('POST', '/sessions/revoke', {
      form: { handle: other!.handle },
    });
    expect(one.status).toBe(303);
    expect(one.headers.get('location')).toBe('/sessions');
    expect((await phone.getJson<SessionJson>('/api/session')).authenticated).toBe(false);
    expect((await laptop.request('GET', '/sessions')).text).toContain('Signed out that session.');

    // Revoke all others.
    await login(phone, user);
    const third = new Client(demo.url, 'curl/8.5.0');
    await login(third, user);
    expect((await laptop.getJson<SessionsJson>('/sessions')).sessions).toHaveLength(3);
    const all = await laptop.request('POST', '/sessions/revoke', { form: { all: '1' } });
    expect(all.status).toBe(303);
    expect((await phone.getJson<SessionJson>('/api/session')).authenticated).toBe(false);
    expect((await third.getJson<SessionJson>('/api/session')).authenticated).toBe(false);
    const after = await laptop.request('GET', '/sessions');
    expect(after.text).toContain('Signed out 2 other sessions.');
    expect(after.text.match(/<tr data-handle=/g)).toHaveLength(1);
    expect((await laptop.getJson<SessionJson>('/api/session')).user).toBe(user);
  });

  it('sends anonymous visitors of /sessions back home', async () => {
    const client = new Client(demo.url);
    const page = await client.request('GET', '/sessions');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/');
    const revoke = await client.request('POST', '/sessions/revoke', { json: { all: 1 } });
    expect(revoke.status).toBe(401);
  });
});

describe('CSRF', () => {
  let store: TestStore;
  let demo: StartedDemo;
  let handlerRuns = 0;

  beforeAll(async () => {
    store = await createTestStore('memory');
    demo = await startDemo({
      store: store.store,
      secrets: generateSecret(),
      extend: (app, ctx) => {
        app.post('/test/write', (req, res) => {
          handlerRuns++;
          ctx.sessions.get(req).set('written', true);
          res.json({ ok: true });
        });
        app.get('/test/written', async (req, res) => {
          res.json({ written: (await ctx.sessions.get(req).get('written')) ?? false });
        });
      },
    });
  });
  afterAll(async () => {
    await demo?.close();
    await store?.cleanup();
  });

  /** A signed-in client that has counted once. */
  async function signedIn(): Promise<Client> {
    const client = new Client(demo.url);
    await login(client);
    await client.request('POST', '/api/counter', { headers: { accept: 'application/json' } });
    return client;
  }

  async function expectUnchanged(client: Client, cookie: string | undefined): Promise<void> {
    expect(client.cookie).toBe(cookie);
    const state = await client.getJson<SessionJson>('/api/session');
    expect(state).toMatchObject({ authenticated: true, user: 'alice', counter: 1 });
    expect(await client.getJson('/test/written')).toEqual({ written: false });
  }

  it.each<[string, RequestOptions]>([
    ['JSON without a token', { json: {}, csrf: false }],
    ['a form without a token', { form: { x: '1' }, csrf: false }],
    ['no body and no token', { csrf: false }],
    ['a forged token', { headers: { 'x-csrf-token': 'A'.repeat(86) } }],
    ['the token in the query string', { json: {}, csrf: false }],
  ])('POST /api/counter with %s → 403, nothing changed', async (name, options) => {
    const client = await signedIn();
    const cookie = client.cookie;
    const query = name.includes('query')
      ? `?_csrf=${encodeURIComponent(await client.token())}`
      : '';
    const res = await client.request('POST', `/api/counter${query}`, options);
    expect(res.status).toBe(403);
    expect(['Forbidden', '{"error":"Forbidden"}']).toContain(res.text);
    expect(res.headers.get('cache-control')).toMatch(/no-store/);
    expect(res.setCookies).toEqual([]);
    await expectUnchanged(client, cookie);
  });

  it('Sec-Fetch-Site: cross-site → 403 even with a valid token', async () => {
    const client = await signedIn();
    const cookie = client.cookie;
    for (const path of ['/api/counter', '/logout', '/sessions/revoke']) {
      const res = await client.request('POST', path, {
        form: { all: '1' },
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expect(res.status).toBe(403);
    }
    await expectUnchanged(client, cookie);
  });

  it('Origin: null or a foreign Origin → 403 even with a valid token', async () => {
    const client = await signedIn();
    const cookie = client.cookie;
    for (const origin of ['null', 'https://evil.example']) {
      const res = await client.request('POST', '/logout', { json: {}, headers: { origin } });
      expect(res.status).toBe(403);
    }
    await expectUnchanged(client, cookie);
  });

  it('a token from another session → 403', async () => {
    const client = await signedIn();
    const cookie = client.cookie;
    const mallory = new Client(demo.url);
    const foreign = await mallory.token();
    const res = await client.request('POST', '/api/counter', {
      headers: { 'x-csrf-token': foreign },
    });
    expect(res.status).toBe(403);
    await expectUnchanged(client, cookie);
  });

  it('routes added by extend are protected too: the handler does not run', async () => {
    const client = await signedIn();
    const runs = handlerRuns;
    const res = await client.request('POST', '/test/write', { json: {}, csrf: false });
    expect(res.status).toBe(403);
    expect(handlerRuns).toBe(runs);
    const ok = await client.request('POST', '/test/write', { json: {} });
    expect(ok.status).toBe(200);
    expect(handlerRuns).toBe(runs + 1);
    expect(await client.getJson('/test/written')).toEqual({ written: true });
  });

  it('login rotates the token: the pre-login token is dead, the new one works', async () => {
    const client = new Client(demo.url);
    const anonymous = await client.token();
    const preSession = client.cookie;
    const res = await client.request('POST', '/login', {
      json: { username: 'alice', password: PASSWORD },
      headers: { 'x-csrf-token': anonymous },
    });
    expect(res.status).toBe(200);
    expect(client.cookie).not.toBe(preSession);
    const rotated = res.json<{ csrfToken: string }>().csrfToken;
    const stale = await client.request('POST', '/api/counter', {
      headers: { 'x-csrf-token': anonymous, accept: 'application/json' },
    });
    expect(stale.status).toBe(403);
    const fromApi = (await client.getJson<SessionJson>('/api/session')).csrfToken;
    for (const token of [rotated, fromApi]) {
      const ok = await client.request('POST', '/api/counter', {
        headers: { 'x-csrf-token': token, accept: 'application/json' },
      });
      expect(ok.status).toBe(200);
    }
    expect((await client.getJson<SessionJson>('/api/session')).counter).toBe(2);
  });

  it('every form of the pages carries a _csrf field', async () => {
    const client = await signedIn();
    for (const path of ['/', '/sessions']) {
      const page = await client.request('GET', path);
      const forms = page.text.match(/<form [^>]*method="post"[\s\S]*?<\/form>/g) ?? [];
      expect(forms.length).toBeGreaterThan(0);
      for (const form of forms) expect(form).toMatch(/name="_csrf" value="[A-Za-z0-9_-]{86}"/);
    }
  });
});

describe('GET /health', () => {
  it('never touches the session: no store calls, no Set-Cookie', async () => {
    const backing = await createTestStore('memory');
    const counting = probeStore(backing.store);
    const demo = await startDemo({ store: counting, secrets: generateSecret() });
    try {
      const client = new Client(demo.url);
      const anonymous = await client.request('GET', '/health');
      expect(anonymous.status).toBe(200);
      expect(anonymous.json()).toEqual({ ok: true });
      expect(anonymous.setCookies).toEqual([]);

      await login(client);
      counting.calls.clear();
      const withCookie = await client.request('GET', '/health');
      expect(withCookie.json()).toEqual({ ok: true });
      expect(withCookie.setCookies).toEqual([]);
      expect(withCookie.headers.get('vary') ?? '').not.toMatch(/cookie/i);
      expect(counting.total()).toBe(0);

      // The counter is live: a request that reads the session is counted.
      await client.getJson('/api/session');
      expect(counting.total()).toBeGreaterThan(0);
    } finally {
      await demo.close();
      await backing.cleanup();
    }
  });
});

describe('bad cookies are anonymous', () => {
  let store: TestStore;
  let demo: StartedDemo;
  let clock = Date.now();
  const secret = generateSecret();

  beforeAll(async () => {
    store = await createTestStore('sqlite', () => clock);
    demo = await startDemo({
      store: store.store,
      secrets: secret,
      manager: { now: () => clock, idleTimeout: 30 * 60_000, absoluteTimeout: 60 * 60_000 },
    });
  });
  afterAll(async () => {
    await demo?.close();
    await store?.cleanup();
  });

  async function expectAnonymous(cookie: string): Promise<void> {
    const client = new Client(demo.url);
    const home = await client.request('GET', '/', { headers: { cookie } });
    expect(home.status).toBe(200);
    expect(home.text).toContain('id="login-form"');
    const api = await client.request('GET', '/api/session', { headers: { cookie } });
    expect(api.status).toBe(200);
    expect(api.json()).toMatchObject({ authenticated: false, user: null, counter: 0 });
    // The login form's CSRF token lives in a pre-session: a brand-new one, never the cookie sent.
    for (const line of [...home.setCookies, ...api.setCookies]) {
      expect(line.split(';')[0]).toMatch(/^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
      expect(line.split(';')[0]).not.toBe(cookie);
    }
  }

  async function validCookie(): Promise<string> {
    const client = new Client(demo.url);
    await login(client);
    expect((await client.getJson<SessionJson>('/api/session')).authenticated).toBe(true);
    return client.cookie!;
  }

  it.each([
    ['garbage', 'sid=garbage'],
    ['empty', 'sid='],
    ['binary-ish', 'sid=%00%ff%fe;;;==; sid="'],
    ['oversized', `sid=${'a'.repeat(8000)}`],
    ['id without signature', `sid=${generateSessionId()}`],
    ['proto-ish', 'sid=__proto__.constructor'],
  ])('%s cookie → anonymous 200', async (_name, cookie) => {
    await expectAnonymous(cookie);
  });

  it('a truncated cookie → anonymous', async () => {
    const cookie = await validCookie();
    await expectAnonymous(cookie.slice(0, -1));
    await expectAnonymous(cookie.slice(0, 30));
  });

  it('a live session id signed with another key → anonymous', async () => {
    const cookie = await validCookie();
    const id = cookie.slice('sid='.length, cookie.indexOf('.'));
    const forged = `sid=${id}.${createKeyRing(generateSecret()).sign('cookie-sign', id)}`;
    await expectAnonymous(forged);
  });

  it('an unknown id signed with the right key → anonymous', async () => {
    const id = generateSessionId();
    await expectAnonymous(`sid=${id}.${createKeyRing(secret).sign('cookie-sign', id)}`);
  });

  it('an idle-expired and an absolutely expired session → anonymous', async () => {
    const idle = await validCookie();
    clock += 31 * 60_000;
    await expectAnonymous(idle);

    const busy = await validCookie();
    const client = new Client(demo.url);
    client.cookie = busy;
    // Active every 20 minutes: idle never lapses, the absolute deadline (60 min) still does.
    for (let i = 0; i < 2; i++) {
      clock += 20 * 60_000;
      expect((await client.getJson<SessionJson>('/api/session')).authenticated).toBe(true);
    }
    clock += 21 * 60_000;
    await expectAnonymous(busy);
  });
});

describe('greeting and sign-out flash', () => {
  let store: TestStore;
  const running: StartedDemo[] = [];

  beforeAll(async () => {
    store = await createTestStore('memory');
  });
  afterAll(async () => {
    for (const demo of running) await demo.close();
    await store?.cleanup();
  });

  async function start(): Promise<StartedDemo> {
    const demo = await startDemo({ store: store.store, secrets: generateSecret() });
    running.push(demo);
    return demo;
  }

  async function greeting(client: Client, user: string): Promise<string[]> {
    await login(client, user);
    return (await client.getJson<SessionJson>('/api/session')).flash.success;
  }

  it('"Welcome" on a user’s first sign-in on this server, "Welcome back" afterwards', async () => {
    const demo = await start();
    expect(await greeting(new Client(demo.url), 'alice')).toEqual(['Welcome, alice']);
    expect(await greeting(new Client(demo.url), 'alice')).toEqual(['Welcome back, alice']);
    expect(await greeting(new Client(demo.url), 'bob')).toEqual(['Welcome, bob']);
    const phone = new Client(demo.url, IPHONE);
    expect(await greeting(phone, 'bob')).toEqual(['Welcome back, bob']);
    // Signing in again while signed in on the same browser.
    expect(await greeting(phone, 'bob')).toEqual(['Welcome back, bob']);
    // With every session of bob gone, the server still remembers him.
    await demo.manager.revokeAll('bob');
    expect(await greeting(new Client(demo.url), 'bob')).toEqual(['Welcome back, bob']);

    // A restarted server (same store): alice still has sessions, so she is back.
    const restarted = await start();
    expect(await greeting(new Client(restarted.url), 'alice')).toEqual(['Welcome back, alice']);
  });

  it('revoking this very session from the devices page signs out like logout', async () => {
    const demo = await start();
    const form = new Client(demo.url);
    await login(form, 'alice');
    const own = (await form.getJson<SessionsJson>('/sessions')).sessions.find((s) => s.current);
    const res = await form.request('POST', '/sessions/revoke', { form: { handle: own!.handle } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const home = await form.request('GET', '/');
    expect(home.text).toContain('id="login-form"');
    expect(home.text).toContain('<p class="flash info" role="status">You are signed out.</p>');

    const json = new Client(demo.url);
    await login(json, 'alice');
    const mine = (await json.getJson<SessionsJson>('/sessions')).sessions.find((s) => s.current);
    const out = await json.request('POST', '/sessions/revoke', { json: { handle: mine!.handle } });
    expect(out.json()).toEqual({ revoked: 1, current: true });
    expect(json.cookie).toBeUndefined();
    const names = (await demo.manager.listSessions('alice')).map((s) => s.handle);
    expect(names).not.toContain(own!.handle);
    expect(names).not.toContain(mine!.handle);
  });
});
