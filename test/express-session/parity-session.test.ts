/**
 * Parity with express-session 1.19, part 3: `req.session`'s methods and `req.session.cookie`, on
 * plain node:http, as express-session's own suite pins them (restated in our words): when a
 * Set-Cookie goes out, destroy/reload/save/touch, the cookie attributes a handler can change,
 * `originalMaxAge`, `maxAge`/`expires` and `partitioned`, and the `Cookie` class itself.
 */

import { afterEach, describe, expect, it, vi } from 'vitest';
import session from '../../src/express-session/index.js';
import {
  type Answer,
  CountingStore,
  closeServers,
  cookieOf,
  facadeServer,
  type Handler,
} from './helpers.js';

afterEach(closeServers);

const expiresOf = (answer: Answer): string | undefined =>
  /Expires=([^;]+)/.exec(answer.setCookie[0] ?? '')?.[1];
const keep = { resave: false, saveUninitialized: false } as const;

describe('express-session parity: when Set-Cookie is sent', () => {
  it('a persistent cookie is re-sent only on responses that changed the session', async () => {
    let modify = true;
    const s = await facadeServer({ ...keep }, (req, res) => {
      if (modify) req.session.count = (req.session.count ?? 0) + 1;
      res.end(String(req.session.count));
    });
    const browser = s.browser();
    expect((await browser.fetch('/')).setCookie).toHaveLength(1);
    expect((await browser.fetch('/')).setCookie).toHaveLength(1);
    modify = false;
    const still = await browser.fetch('/');
    expect([still.body, still.setCookie]).toEqual(['2', []]);
    modify = true;
    const changed = await browser.fetch('/');
    expect([changed.body, changed.setCookie.length]).toEqual(['3', 1]);
  });

  it('a browser-session cookie (no maxAge) has no Expires and is sent once', async () => {
    const s = await facadeServer({ saveUninitialized: true, cookie: { path: '/admin' } });
    const browser = s.browser();
    const first = await browser.fetch('/admin/foo');
    expect(first.setCookie).toHaveLength(1);
    expect(expiresOf(first)).toBeUndefined();
    expect((await browser.fetch('/admin')).setCookie).toEqual([]);
  });

  it('rolling re-sends the cookie with a later expiry even when the body is streamed slowly', async () => {
    const s = await facadeServer({ rolling: true, ...keep }, (req, res) => {
      req.session.user = 'bob';
      res.write('hello, ');
      setTimeout(() => res.end('world!'), 50);
    });
    const browser = s.browser();
    const first = await browser.fetch('/');
    // Expires has a resolution of one second: wait into the next one.
    await new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() % 1000)));
    const second = await browser.fetch('/');
    expect(second.body).toBe('hello, world!');
    expect(Date.parse(expiresOf(second) as string)).toBeGreaterThan(
      Date.parse(expiresOf(first) as string),
    );
  });

  it('the stored expiry matches the cookie and moves forward on the next request (resave)', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, saveUninitialized: false }, (req, res) => {
      req.session.user = 'bob';
      res.end(req.session.id);
    });
    const browser = s.browser();
    const first = await browser.fetch('/');
    const stored = new Date(store.record(first.body)?.cookie.expires);
    expect(stored.toUTCString()).toBe(expiresOf(first));
    await new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() % 1000)));
    await browser.fetch('/');
    const later = new Date(store.record(first.body)?.cookie.expires);
    expect(later.toUTCString()).not.toBe(stored.toUTCString());
  });
});

describe('express-session parity: destroy, reload, save, touch', () => {
  it('destroy() on a new session leaves req.session undefined and sends no cookie', async () => {
    const s = await facadeServer({ saveUninitialized: true }, (req, res) => {
      req.session.destroy((error?: unknown) => {
        if (error) res.statusCode = 500;
        res.end(String(req.session));
      });
    });
    const answer = await s.browser().fetch('/');
    expect([answer.status, answer.body, answer.setCookie]).toEqual([200, 'undefined', []]);
  });

  /** A session created on "/", then any other path clears the store and runs `then`. */
  async function clearedThen(then: Handler): Promise<Answer> {
    const store = new CountingStore();
    const s = await facadeServer({ store, ...keep }, (req, res) => {
      if (req.url !== '/') return store.clear(() => then(req, res));
      req.session.active = true;
      res.end('created');
    });
    const browser = s.browser();
    await browser.fetch('/');
    return browser.fetch('/again');
  }

  it('reload() of a session whose record is gone fails with "failed to load session"', async () => {
    const answer = await clearedThen((req, res) =>
      req.session.reload((error?: Error) => {
        res.statusCode = error ? 500 : 200;
        res.end(error?.message ?? '');
      }),
    );
    expect([answer.status, answer.body]).toEqual([500, 'failed to load session']);
  });

  it('reload() called again from its own failing callback, 20 deep, neither throws nor recurses', async () => {
    const answer = await clearedThen((req, res) => {
      let left = 20;
      const again = (): void => {
        if (--left === 0) return void res.end('ok');
        try {
          req.session.reload(again);
        } catch (error) {
          res.statusCode = 500;
          res.end((error as Error).message);
        }
      };
      again();
    });
    expect(answer.body).toBe('ok');
  });

  const saveInHandler: [string, Handler, object][] = [
    [
      'save()',
      (req, res) => {
        req.session.hit = true;
        req.session.save(() => res.end('saved'));
      },
      {},
    ],
    [
      'reload() then save()',
      (req, res) => {
        req.session.hit = true;
        req.session.reload(() => req.session.save(() => res.end('saved')));
      },
      {},
    ],
    [
      'save() with saveUninitialized: false',
      (req, res) => {
        req.session.hit = true;
        req.session.save(() => res.end('saved'));
      },
      { saveUninitialized: false },
    ],
  ];
  for (const [label, handler, options] of saveInHandler) {
    it(`${label} in the handler is the request's only write (no second save at the end)`, async () => {
      const store = new CountingStore();
      const s = await facadeServer({ store, ...options }, handler);
      const browser = s.browser();
      await browser.fetch('/');
      expect(store.calls.set).toBe(1);
      await browser.fetch('/');
      expect(store.calls.set).toBe(2);
    });
  }

  it('save() has written the record by the time its callback runs', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store }, (req, res) => {
      req.session.hit = true;
      req.session.save(() => res.end(store.record(req.session.id) ? 'stored' : 'empty'));
    });
    expect((await s.browser().fetch('/')).body).toBe('stored');
  });

  it('touch() resets the expiry, and the store is told on the next unmodified request', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, ...keep }, (req, res) => {
      req.session.hit = true;
      req.session.touch();
      res.end(req.session.id);
    });
    const browser = s.browser();
    const id = (await browser.fetch('/')).body;
    const before = Date.parse(store.record(id)?.cookie.expires);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await browser.fetch('/');
    expect(store.calls.touch).toBe(1);
    expect(Date.parse(store.record(id)?.cookie.expires)).toBeGreaterThan(before);
  });
});

describe('express-session parity: req.session.cookie', () => {
  it('attributes changed by the handler are serialized (httpOnly off, secure on behind a proxy)', async () => {
    const s = await facadeServer({ proxy: true, saveUninitialized: true }, (req, res) => {
      req.session.cookie.httpOnly = false;
      req.session.cookie.secure = true;
      res.end();
    });
    const answer = await s.browser().fetch('/', { headers: { 'x-forwarded-proto': 'https' } });
    expect(answer.setCookie[0]).toMatch(/; Secure/);
    expect(answer.setCookie[0]).not.toMatch(/HttpOnly/);
  });

  it('cookie options replace the defaults (priority too), and the handler can still turn secure off', async () => {
    const cookie = {
      httpOnly: false,
      maxAge: 5000,
      path: '/admin',
      priority: 'high',
      secure: true,
    } as const;
    const s = await facadeServer({ saveUninitialized: true, cookie }, (req, res) => {
      req.session.cookie.secure = false;
      res.end();
    });
    const line = (await s.browser().fetch('/admin')).setCookie[0] as string;
    expect(line).toMatch(/; Path=\/admin; Expires=[^;]+; Priority=High$/);
  });

  it('deviation: a cookie that cannot be serialized fails the request before any byte (express-session: 200, error after)', async () => {
    const s = await facadeServer({ saveUninitialized: true, cookie: { expires: new Date(NaN) } });
    const answer = await s.browser().fetch('/');
    expect([answer.status, answer.body, answer.setCookie]).toEqual([
      500,
      'option expires is invalid',
      [],
    ]);
  });

  it('keeps Set-Cookie headers set by the handler with setHeader or writeHead', async () => {
    const serialized = new session.Cookie().serialize('previous', 'cookieValue');
    for (const how of ['setHeader', 'writeHead'] as const) {
      const s = await facadeServer({ saveUninitialized: true }, (_req, res) => {
        if (how === 'setHeader') res.setHeader('Set-Cookie', serialized);
        else res.writeHead(200, { 'Set-Cookie': serialized });
        res.end();
      });
      const answer = await s.browser().fetch('/');
      expect(answer.setCookie).toContain('previous=cookieValue; Path=/; HttpOnly');
      expect(answer.setCookie.some((line) => line.startsWith('connect.sid='))).toBe(true);
    }
  });

  it('originalMaxAge stays the configured maxAge on later requests, whatever type the store gives expires back as', async () => {
    class DateStore extends session.MemoryStore {
      override get(sid: string, cb: (e: unknown, v?: unknown) => void): void {
        super.get(sid, (error, value) => {
          const v = value as { cookie?: { expires?: unknown } } | undefined;
          if (typeof v?.cookie?.expires === 'string') v.cookie.expires = new Date(v.cookie.expires);
          cb(error, v);
        });
      }
    }
    for (const store of [new session.MemoryStore(), new DateStore()]) {
      const s = await facadeServer(
        { store, saveUninitialized: true, cookie: { maxAge: 2000 } },
        (req, res) => res.end(JSON.stringify(req.session.cookie.originalMaxAge)),
      );
      const browser = s.browser();
      expect((await browser.fetch('/')).body).toBe('2000');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await browser.fetch('/')).body).toBe('2000');
    }
  });

  it('a maxAge changed by the handler moves Expires by that much, up to ~95 years', async () => {
    const s = await facadeServer(
      { saveUninitialized: true, cookie: { maxAge: 60_000 } },
      (req, res) => {
        const set = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('maxAge'));
        if (set) req.session.cookie.maxAge = set;
        res.end();
      },
    );
    for (const maxAge of [60_000, 5_000_000, 3_000_000_000]) {
      const answer = await s.browser().fetch(`/?maxAge=${maxAge}`);
      const ahead =
        Date.parse(expiresOf(answer) as string) - Date.parse(answer.headers.get('date') as string);
      // Whole seconds on both headers; the commit may cross a second boundary on a loaded machine.
      expect(Math.abs(ahead - maxAge)).toBeLessThanOrEqual(10_000);
    }
  });

  it('expires set to a Date is absolute; set to null it makes a browser-session cookie that is not re-sent', async () => {
    const epoch = await facadeServer({ saveUninitialized: true }, (req, res) => {
      req.session.cookie.expires = new Date(0);
      res.end();
    });
    expect(expiresOf(await epoch.browser().fetch('/'))).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    for (const modify of [false, true]) {
      const s = await facadeServer({ saveUninitialized: true }, (req, res) => {
        req.session.cookie.expires = null;
        if (modify) req.session.hit = (req.session.hit ?? 0) + 1;
        res.end();
      });
      const browser = s.browser();
      const first = await browser.fetch('/');
      expect([first.setCookie.length, expiresOf(first)]).toEqual([1, undefined]);
      expect((await browser.fetch('/')).setCookie).toEqual([]);
    }
  });

  it('partitioned: absent by default and when false, present when true', async () => {
    for (const [partitioned, present] of [
      [undefined, false],
      [false, false],
      [true, true],
    ] as const) {
      const s = await facadeServer({ saveUninitialized: true, cookie: { partitioned } });
      const line = (await s.browser().fetch('/')).setCookie[0] as string;
      expect(line.includes('; Partitioned')).toBe(present);
    }
  });

  it('the cookie header a browser sends back is the one the facade set', async () => {
    const s = await facadeServer({ ...keep }, (req, res) => {
      req.session.n = (req.session.n ?? 0) + 1;
      res.end(String(req.session.n));
    });
    const first = await s.browser().fetch('/');
    const again = await s.browser().fetch('/', { headers: { cookie: cookieOf(first) } });
    expect(again.body).toBe('2');
  });
});

describe('express-session parity: the Cookie class', () => {
  it('better than express-session: originalMaxAge is the maxAge given even when the clock ticks meanwhile', () => {
    let clock = 1_000_000;
    const now = vi.spyOn(Date, 'now').mockImplementation(() => clock++);
    try {
      const cookie = new session.Cookie({ maxAge: 2000 });
      expect(cookie.originalMaxAge).toBe(2000);
      cookie.maxAge = 5000;
      expect(cookie.originalMaxAge).toBe(5000);
    } finally {
      now.mockRestore();
    }
  });

  it('defaults: path "/", httpOnly, no expiry, maxAge null', () => {
    const cookie = new session.Cookie();
    expect([cookie.path, cookie.httpOnly, cookie.expires ?? null, cookie.maxAge]).toEqual([
      '/',
      true,
      null,
      null,
    ]);
  });

  it('takes its options, refuses a non-object and ignores a "data" option', () => {
    const cookie = new session.Cookie({
      path: '/foo',
      httpOnly: false,
      partitioned: true,
      priority: 'high',
    });
    expect(cookie).toMatchObject({
      path: '/foo',
      httpOnly: false,
      partitioned: true,
      priority: 'high',
    });
    expect(() => new session.Cookie(42 as never)).toThrow(
      new TypeError('argument options must be a object'),
    );
    const ignored = new session.Cookie({ data: { path: '/evil' } } as never);
    expect(ignored.path).toBe('/');
  });

  it('expires sets maxAge; maxAge sets expires; a Date maxAge is an expiry; other types are refused', () => {
    const at = new Date(Date.now() + 60_000);
    const byDate = new session.Cookie({ expires: at });
    expect(byDate.expires).toBe(at);
    expect(byDate.maxAge).toBeGreaterThan(50_000);
    const byAge = new session.Cookie({ maxAge: 60_000 });
    expect((byAge.expires as Date).valueOf()).toBeGreaterThan(Date.now() + 50_000);
    expect(byAge.originalMaxAge).toBe(60_000);
    const ageAsDate = new session.Cookie({ maxAge: at as never });
    expect(ageAsDate.expires).toBe(at);
    expect(() => new session.Cookie({ maxAge: '1' as never })).toThrow(
      new TypeError('maxAge must be a number or Date'),
    );
  });
});
