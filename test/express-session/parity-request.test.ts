/**
 * Parity with express-session 1.19, part 1: one request's lifecycle on plain node:http. Each test
 * pins a behaviour express-session's own suite pins (read there, restated here in our words):
 * when the middleware steps aside, where the id comes from, what a failing or odd store does,
 * what is enumerable on `req.session`, how every way of ending a response still commits first,
 * and that connect stores written in the pre-class style (`Store.call(this)`) work.
 */

import { inherits } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import session from '../../src/express-session/index.js';
import {
  type Browser,
  CountingStore,
  closeServers,
  cookieOf,
  facadeServer,
  type Loose,
  sidOf,
  signed,
} from './helpers.js';

afterEach(closeServers);

const count = (req: { session: Loose }): number => {
  req.session.n = (req.session.n ?? 0) + 1;
  return req.session.n;
};

describe('express-session parity: when the facade steps aside or refuses', () => {
  it('leaves a request alone when an earlier middleware already put a session on it', async () => {
    const s = await facadeServer(
      {},
      (req, res) => res.end(JSON.stringify(req.session)),
      (req) => {
        req.session = { upstream: true };
      },
    );
    const answer = await s.browser().fetch('/');
    expect(answer.body).toBe('{"upstream":true}');
    expect(answer.setCookie).toEqual([]);
  });

  it('without any secret the request fails with "secret option required for sessions"', async () => {
    const s = await facadeServer({ secret: undefined });
    const answer = await s.browser().fetch('/');
    expect(answer.status).toBe(500);
    expect(answer.body).toBe('secret option required for sessions');
  });

  it("falls back to req.secret (cookie-parser's secret) and signs with it", async () => {
    const s = await facadeServer(
      { secret: undefined, saveUninitialized: true, resave: false },
      undefined,
      (req) => {
        req.secret = 'parser secret';
      },
    );
    const answer = await s.browser().fetch('/');
    expect(answer.status).toBe(200);
    const id = sidOf(answer) as string;
    expect(cookieOf(answer)).toBe(`connect.sid=${signed(id, 'parser secret')}`);
  });

  it('a request whose handler replaced req.sessionID with a non-string is neither saved nor given a cookie', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, resave: false, saveUninitialized: true }, (req, res) => {
      req.sessionID = () => undefined;
      req.session.a = 1;
      res.end();
    });
    const answer = await s.browser().fetch('/');
    expect(answer.status).toBe(200);
    expect(answer.setCookie).toEqual([]);
    expect(store.calls.set).toBe(0);
  });
});

describe('express-session parity: where the session comes from', () => {
  it('a store read failure reaches the error handler; ENOENT from the store means "no session"', async () => {
    const store = new session.MemoryStore();
    let failure: Error | undefined;
    store.get = (_sid, cb) => cb(failure);
    const s = await facadeServer({ store, resave: false, saveUninitialized: false }, (req, res) =>
      res.end(String(count(req as never))),
    );
    const browser = s.browser();
    expect((await browser.fetch('/')).body).toBe('1');
    failure = Object.assign(new Error('backend down'), { code: 'ECONNREFUSED' });
    const down = await browser.fetch('/');
    expect([down.status, down.body]).toEqual([500, 'backend down']);
    failure = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    const missing = await browser.fetch('/');
    expect([missing.status, missing.body]).toEqual([200, '1']);
  });

  it('two cookie-less requests at once get two separate stored sessions', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, resave: false, saveUninitialized: false }, (req, res) =>
      res.end(String(count(req as never))),
    );
    const [a, b] = await Promise.all([s.browser().fetch('/'), s.browser().fetch('/')]);
    expect([a.body, b.body]).toEqual(['1', '1']);
    expect(sidOf(a)).not.toBe(sidOf(b));
    expect(Object.keys(store.sessions).sort()).toEqual([sidOf(a), sidOf(b)].sort());
  });

  it('a valid cookie whose record is gone starts over with a new id', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, resave: false, saveUninitialized: false }, (req, res) =>
      res.end(String(count(req as never))),
    );
    const browser = s.browser();
    const first = await browser.fetch('/');
    await new Promise<void>((resolve) => store.clear(() => resolve()));
    const again = await browser.fetch('/');
    expect(again.body).toBe('1');
    expect(sidOf(again)).toBeDefined();
    expect(sidOf(again)).not.toBe(sidOf(first));
  });

  it('a cookie with a broken signature is never looked up in the store', async () => {
    const store = new CountingStore();
    const s = await facadeServer(
      { store, name: 'sessid', resave: false, saveUninitialized: false },
      (req, res) => res.end(String(count(req as never))),
    );
    const first = await s.browser().fetch('/');
    const broken = cookieOf(first).replace(/...\./, '.');
    const reads = store.calls.get;
    const answer = await s.browser().fetch('/', { headers: { cookie: broken } });
    expect(answer.body).toBe('1');
    expect(store.calls.get).toBe(reads);
    expect(sidOf(answer)).not.toBe(sidOf(first));
  });

  it('an expired record is a new session with a new id, and MemoryStore no longer lists it', async () => {
    const store = new CountingStore();
    const s = await facadeServer(
      { store, resave: false, saveUninitialized: false, cookie: { maxAge: 5 } },
      (req, res) => res.end(String(count(req as never))),
    );
    const first = await s.browser().fetch('/');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const all = await new Promise<object>((resolve) => store.all((_e, x) => resolve(x ?? {})));
    expect(Object.keys(all)).toEqual([]);
    const again = await s.browser().fetch('/', { headers: { cookie: cookieOf(first) } });
    expect(again.body).toBe('1');
    expect(sidOf(again)).not.toBe(sidOf(first));
  });

  it('a stored key named like a Session method ("save") does not break the session', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, resave: false, saveUninitialized: false }, (req, res) => {
      count(req as never);
      req.session.save((error?: unknown) => res.end(error ? 'failed' : `saved ${req.session.n}`));
    });
    const browser = s.browser();
    const first = await browser.fetch('/');
    const id = sidOf(first) as string;
    store.sessions[id] = JSON.stringify({ ...store.record(id), save: 'nope' });
    expect((await browser.fetch('/')).body).toBe('saved 2');
  });

  it('deviation: a record without a cookie is served with the configured cookie (express-session fails with a TypeError)', async () => {
    const store = new CountingStore();
    const s = await facadeServer(
      { store, resave: false, saveUninitialized: false, cookie: { maxAge: 90_000 } },
      (req, res) => res.end(`${count(req as never)} ${req.session.cookie.originalMaxAge}`),
    );
    const browser = s.browser();
    const id = sidOf(await browser.fetch('/')) as string;
    store.sessions[id] = JSON.stringify({ n: 41 });
    const answer = await browser.fetch('/');
    expect([answer.status, answer.body]).toEqual([200, '42 90000']);
    expect(store.record(id)).toMatchObject({ n: 42, cookie: { originalMaxAge: 90_000 } });
  });
});

describe('express-session parity: the shape of req.session', () => {
  it('only data and cookie are enumerable; methods stay on the prototype', async () => {
    const s = await facadeServer({ resave: false, saveUninitialized: false }, (req, res) => {
      req.session.zeta = 1;
      req.session.alpha = 'a';
      const forIn: string[] = [];
      for (const key in req.session) forIn.push(key);
      res.end(`${Object.keys(req.session).sort()}|${forIn.sort()}`);
    });
    expect((await s.browser().fetch('/')).body).toBe('alpha,cookie,zeta|alpha,cookie,zeta');
  });
});

describe('express-session parity: every way of ending a response commits first', () => {
  const endings: [string, (res: import('node:http').ServerResponse) => void, string][] = [
    ['end(body)', (res) => res.end('saved'), 'saved'],
    [
      'an empty body with Content-Length: 0',
      (res) => {
        res.setHeader('Content-Length', '0');
        res.end();
      },
      '',
    ],
    [
      'write + end with Content-Length',
      (res) => {
        res.setHeader('Content-Length', '12');
        res.write('hello, ');
        res.end('world');
      },
      'hello, world',
    ],
    ['end(null)', (res) => res.end(null), ''],
    [
      'end() twice',
      (res) => {
        res.end('once');
        res.end();
      },
      'once',
    ],
  ];
  for (const [label, finish, body] of endings) {
    it(`${label}: the record is in the store before the client has the response`, async () => {
      const store = new CountingStore();
      store.setDelay = 200;
      const s = await facadeServer(
        { store, resave: false, saveUninitialized: false },
        (req, res) => {
          req.session.hit = true;
          finish(res);
        },
      );
      const answer = await s.browser().fetch('/');
      expect([answer.status, answer.body]).toEqual([200, body]);
      expect(store.record(sidOf(answer) as string)).toMatchObject({ hit: true });
    });
  }

  for (const when of ['before', 'after'] as const) {
    it(`res.write/res.end wrapped by other code ${when} the facade still deliver the whole body`, async () => {
      const wrap = (res: import('node:http').ServerResponse): void => {
        const { end, write } = res;
        let ended = false;
        res.end = function (this: typeof res, ...args: unknown[]) {
          ended = true;
          return (end as (...a: unknown[]) => typeof res).apply(this, args);
        } as never;
        res.write = function (this: typeof res, ...args: unknown[]) {
          if (ended) throw new Error('write after end');
          return (write as (...a: unknown[]) => boolean).apply(this, args);
        } as never;
      };
      const s = await facadeServer(
        { resave: false, saveUninitialized: false },
        (req, res) => {
          if (when === 'after') wrap(res);
          req.session.hit = true;
          res.write('hello, ');
          res.end('world');
        },
        when === 'before' ? (_req, res) => wrap(res) : undefined,
      );
      expect((await s.browser().fetch('/')).body).toBe('hello, world');
    });
  }

  it('res.write/res.end wrapped after the facade (as compression is) stay wrapped once the hold is released', async () => {
    const s = await facadeServer({ resave: false, saveUninitialized: false }, (req, res) => {
      // A middleware mounted after the facade: every chunk goes through its wrapper.
      const { end, write } = res;
      const upper = (chunk: unknown): unknown =>
        typeof chunk === 'string' ? chunk.toUpperCase() : chunk;
      res.write = function (this: typeof res, chunk: unknown, ...rest: unknown[]) {
        return (write as (...a: unknown[]) => boolean).call(this, upper(chunk), ...rest);
      } as never;
      res.end = function (this: typeof res, chunk?: unknown, ...rest: unknown[]) {
        return (end as (...a: unknown[]) => typeof res).call(this, upper(chunk), ...rest);
      } as never;
      req.session.hit = true;
      // Held until the save: the rest is written after 'drain', once the hold let go.
      if (res.write('hello, ')) throw new Error('the first write was not held');
      res.once('drain', () => res.end('world'));
    });
    expect((await s.browser().fetch('/')).body).toBe('HELLO, WORLD');
  });

  it('a header set after res.end() throws ERR_HTTP_HEADERS_SENT as without the facade (no crash on replay)', async () => {
    const s = await facadeServer({ resave: true, saveUninitialized: true }, (_req, res) => {
      res.end();
      try {
        res.setHeader('Content-Length', '3');
        res.end('foo');
      } catch (error) {
        (res as unknown as { caught: unknown }).caught = error;
      }
      setImmediate(() => {
        const caught = (res as unknown as { caught?: { code?: string } }).caught;
        s.errors.push(caught?.code ?? 'nothing thrown');
      });
    });
    const answer = await s.browser().fetch('/');
    expect([answer.status, answer.body]).toEqual([200, '']);
    await expect.poll(() => s.errors).toEqual(['ERR_HTTP_HEADERS_SENT']);
  });
});

describe('express-session parity: stores written before ES classes', () => {
  /** A store in the util.inherits style, answering every callback synchronously. */
  function SyncStore(this: { sessions: Record<string, string> }) {
    session.Store.call(this);
    this.sessions = {};
  }
  inherits(SyncStore, session.Store);
  Object.assign(SyncStore.prototype, {
    get(
      this: { sessions: Record<string, string> },
      sid: string,
      cb: (e: unknown, v?: unknown) => void,
    ) {
      const text = this.sessions[sid];
      cb(null, text === undefined ? undefined : JSON.parse(text));
    },
    set(this: { sessions: Record<string, string> }, sid: string, value: unknown, cb: () => void) {
      this.sessions[sid] = JSON.stringify(value);
      cb();
    },
    destroy(this: { sessions: Record<string, string> }, sid: string, cb: () => void) {
      delete this.sessions[sid];
      cb();
    },
  });

  it('Store.call(this) + util.inherits works, and synchronous callbacks save and destroy', async () => {
    const store = new (SyncStore as unknown as new () => { sessions: Record<string, string> })();
    expect(store).toBeInstanceOf(session.Store);
    const s = await facadeServer(
      { store: store as never, unset: 'destroy', resave: false, saveUninitialized: false },
      (req, res) => {
        const n = count(req as never);
        if (n > 1) {
          req.session = null;
          res.write('destroyed\n');
        }
        res.end(`hits: ${n}`);
      },
    );
    const browser = s.browser();
    const first = await browser.fetch('/');
    expect(first.body).toBe('hits: 1');
    expect(Object.keys(store.sessions)).toEqual([sidOf(first)]);
    expect((await browser.fetch('/')).body).toBe('destroyed\nhits: 2');
    expect(store.sessions).toEqual({});
  });
});

describe('express-session parity: cookies already parsed by cookie-parser', () => {
  // cookie-parser's contract: req.cookies holds raw values ("s:…" still signed), and
  // req.signedCookies the values it verified with its own secret (the header may be gone).
  const parsed = (browser: Browser, signedToo: boolean) => (req: Loose) => {
    const value = decodeURIComponent(browser.jar.get('sessid') ?? '');
    req.cookies = { sessid: value };
    req.signedCookies =
      signedToo && value ? { sessid: value.slice(2, value.lastIndexOf('.')) } : {};
    req.headers.cookie = 'foo=bar';
  };

  it('reads a signed "s:" value from req.cookies and an already verified one from req.signedCookies', async () => {
    for (const signedToo of [false, true]) {
      const holder: { browser?: Browser } = {};
      const s = await facadeServer(
        { name: 'sessid', resave: false, saveUninitialized: false },
        (req, res) => res.end(String(count(req as never))),
        (req) => parsed(holder.browser as Browser, signedToo)(req),
      );
      holder.browser = s.browser();
      expect((await holder.browser.fetch('/')).body).toBe('1');
      expect((await holder.browser.fetch('/')).body).toBe('2');
    }
  });

  it('refuses an unsigned id or a wrong signature in req.cookies', async () => {
    let cookieValue = '';
    const s = await facadeServer(
      { name: 'sessid', resave: false, saveUninitialized: false },
      (req, res) => res.end(String(count(req as never))),
      (req) => {
        req.cookies = { sessid: cookieValue };
        req.headers.cookie = 'foo=bar';
      },
    );
    const first = await s.browser().fetch('/');
    const id = sidOf(first) as string;
    for (const forged of [id, `s:${id}.AAAAAAAA`]) {
      cookieValue = forged;
      expect((await s.browser().fetch('/')).body).toBe('1');
    }
  });
});
