/**
 * Parity with express-session 1.19, part 2: the options, on plain node:http, as express-session's
 * own suite pins them (restated in our words): `proxy` and `req.secure`, `secure: 'auto'` and
 * `sameSite: 'auto'` together, `cookie` as a function, `cookie.path` under a mount point,
 * `genid`, `name`/`key`, `rolling`, `resave`, `saveUninitialized`, string/Buffer/array secrets
 * and `unset`.
 */

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionOptions } from '../../src/express-session/index.js';
import {
  type Answer,
  CountingStore,
  closeServers,
  cookieOf,
  facadeServer,
  type Handler,
  type Loose,
  sidOf,
} from './helpers.js';

afterEach(closeServers);

/** The attributes of the first Set-Cookie line, lower-cased names (value `true` when bare). */
function attributes(answer: Answer): Record<string, string | true> | undefined {
  const line = answer.setCookie[0];
  if (line === undefined) return undefined;
  const out: Record<string, string | true> = {};
  for (const part of line.split(';').slice(1)) {
    const [name = '', value] = part.trim().split('=');
    out[name.toLowerCase()] = value ?? true;
  }
  return out;
}

/** `req.secure` taken from an X-Secure test header, as a reverse proxy setup would set it. */
const secureFromHeader: Handler = (req) => {
  const given = req.headers['x-secure'];
  req.secure = typeof given === 'string' ? JSON.parse(given) : undefined;
};

/** Sets the same value every time: modified on the first request only. */
const bob: Handler = (req, res) => {
  req.session.user = 'bob';
  res.end();
};

const hit: Handler = (req, res) => {
  req.session.n = (req.session.n ?? 0) + 1;
  res.end(String(req.session.n));
};

describe('express-session parity: proxy and secure cookies', () => {
  const cases: [string, SessionOptions['proxy'], Record<string, string>, boolean][] = [
    ['proxy: true trusts X-Forwarded-Proto: https', true, { 'x-forwarded-proto': 'https' }, true],
    ['proxy: true reads the first of a list', true, { 'x-forwarded-proto': 'https,http' }, true],
    ['proxy: true without the header is plain http', true, {}, false],
    ['proxy: false ignores X-Forwarded-Proto', false, { 'x-forwarded-proto': 'https' }, false],
    ['proxy: false ignores req.secure', false, { 'x-secure': 'true' }, false],
    ['proxy unset ignores X-Forwarded-Proto', undefined, { 'x-forwarded-proto': 'https' }, false],
    ['proxy unset uses req.secure', undefined, { 'x-secure': 'true' }, true],
  ];
  for (const [label, proxy, headers, secure] of cases) {
    it(`${label}: a secure-only cookie is ${secure ? '' : 'not '}sent`, async () => {
      const s = await facadeServer(
        { proxy, cookie: { secure: true, maxAge: 60_000 }, resave: false, saveUninitialized: true },
        undefined,
        secureFromHeader,
      );
      const answer = await s.browser().fetch('/', { headers });
      expect(answer.setCookie.length).toBe(secure ? 1 : 0);
      if (secure) expect(attributes(answer)).toHaveProperty('secure', true);
    });
  }

  const auto: [SessionOptions['cookie'], boolean, boolean | 'none', string | false][] = [
    // cookie options, request secure?, expect Secure attribute, expected SameSite (false: none)
    [{ secure: 'auto' }, true, true, false],
    [{ secure: 'auto' }, false, false, false],
    [{ sameSite: 'auto' }, true, false, 'None'],
    [{ sameSite: 'auto' }, false, false, 'Lax'],
    [{ secure: 'auto', sameSite: 'auto' }, true, true, 'None'],
    [{ secure: 'auto', sameSite: 'auto' }, false, false, 'Lax'],
    [{ secure: false, sameSite: 'auto' }, true, false, 'None'],
    [{ secure: false, sameSite: 'auto' }, false, false, 'Lax'],
    [{ secure: true, sameSite: 'auto' }, true, true, 'None'],
    [{ secure: true, sameSite: 'auto' }, false, 'none', false],
  ];
  for (const [cookie, secure, expectSecure, sameSite] of auto) {
    it(`${JSON.stringify(cookie)} on a ${secure ? 'secure' : 'plain'} request`, async () => {
      const s = await facadeServer(
        { cookie, resave: false, saveUninitialized: true },
        undefined,
        secureFromHeader,
      );
      const answer = await s.browser().fetch('/', { headers: { 'x-secure': String(secure) } });
      if (expectSecure === 'none') {
        expect(answer.setCookie).toEqual([]);
        return;
      }
      const attrs = attributes(answer);
      expect(attrs?.secure === true).toBe(expectSecure);
      expect(attrs?.samesite ?? false).toBe(sameSite);
    });
  }

  it('secure and sameSite "auto" follow X-Forwarded-Proto only when proxy is true', async () => {
    const options = { cookie: { secure: 'auto', sameSite: 'auto' }, saveUninitialized: true };
    const trusted = await facadeServer({ ...options, proxy: true } as SessionOptions);
    const https = await trusted.browser().fetch('/', { headers: { 'x-forwarded-proto': 'https' } });
    expect(attributes(https)).toMatchObject({ secure: true, samesite: 'None' });
    const http = await trusted.browser().fetch('/', { headers: { 'x-forwarded-proto': 'http' } });
    expect(attributes(http)).toMatchObject({ samesite: 'Lax' });
    const untrusted = await facadeServer({ ...options, proxy: false } as SessionOptions);
    const ignored = await untrusted
      .browser()
      .fetch('/', { headers: { 'x-forwarded-proto': 'https' } });
    expect(attributes(ignored)).toEqual({ path: '/', httponly: true, samesite: 'Lax' });
  });
});

describe('express-session parity: cookie, path and naming options', () => {
  it('cookie as a function is called with the request and its options are used', async () => {
    const seen: string[] = [];
    const s = await facadeServer({
      saveUninitialized: true,
      cookie: (req) => {
        seen.push(req.url ?? '');
        return { path: req.url, httpOnly: true, secure: false };
      },
    });
    const answer = await s.browser().fetch('/test');
    expect(seen).toContain('/test');
    expect(attributes(answer)).toEqual({ path: '/test', httponly: true });
  });

  it('cookie.path: only requests under it get a session, judged on the original URL when mounted', async () => {
    const s = await facadeServer({ saveUninitialized: true, cookie: { path: '/foo/bar' } });
    expect((await s.browser().fetch('/')).setCookie).toEqual([]);
    expect((await s.browser().fetch('/', { headers: { host: 'foo' } })).setCookie).toEqual([]);
    expect((await s.browser().fetch('/foo/bar')).setCookie).toHaveLength(1);
    expect((await s.browser().fetch('/foo/bar/baz')).setCookie).toHaveLength(1);
    const mounted = await facadeServer(
      { saveUninitialized: true, cookie: { path: '/foo/bar' } },
      undefined,
      (req) => {
        // What a router mounted at /foo does: strip the mount point, keep originalUrl.
        if (req.url?.startsWith('/foo')) {
          req.originalUrl = req.url;
          req.url = req.url.slice(4);
        }
      },
    );
    expect((await mounted.browser().fetch('/foo/bar')).setCookie).toHaveLength(1);
    expect((await mounted.browser().fetch('/foo/foo/bar')).setCookie).toEqual([]);
  });

  it('an empty req.url is treated as "/"', async () => {
    const s = await facadeServer({ saveUninitialized: true }, undefined, (req) => {
      req.url = '';
    });
    expect((await s.browser().fetch('/')).setCookie).toHaveLength(1);
  });

  it('genid: its id is signed and URI-encoded as is, and it is given the request', async () => {
    const fixed = await facadeServer({ saveUninitialized: true, genid: () => 'apple' });
    expect(cookieOf(await fixed.browser().fetch('/'))).toBe(
      'connect.sid=s%3Aapple.D8Y%2BpkTAmeR0PobOhY4G97PRW%2Bj7bUnP%2F5m6%2FOn1MCU',
    );
    const unsafe = await facadeServer({ saveUninitialized: true, genid: () => '%' });
    expect(cookieOf(await unsafe.browser().fetch('/'))).toMatch(/^connect\.sid=s%3A%25\./);
    const byUrl = await facadeServer({ saveUninitialized: true, genid: (req) => req.url ?? '' });
    expect(sidOf(await byUrl.browser().fetch('/foo'))).toBe('/foo');
  });

  it('name sets the cookie name, key is its old alias, both default to connect.sid', async () => {
    for (const [options, name] of [
      [{}, 'connect.sid'],
      [{ name: 'session_id' }, 'session_id'],
      [{ key: 'legacy_id' }, 'legacy_id'],
    ] as const) {
      const s = await facadeServer({ saveUninitialized: true, ...options });
      expect(cookieOf(await s.browser().fetch('/'))).toMatch(new RegExp(`^${name}=s%3A`));
    }
  });
});

describe('express-session parity: rolling, resave and saveUninitialized', () => {
  it('rolling: false sends the cookie once; rolling: true on every response', async () => {
    for (const rolling of [false, true]) {
      const s = await facadeServer({ rolling, resave: false, saveUninitialized: false }, bob);
      const browser = s.browser();
      expect((await browser.fetch('/')).setCookie).toHaveLength(1);
      expect((await browser.fetch('/')).setCookie).toHaveLength(rolling ? 1 : 0);
    }
  });

  it('rolling does not make an untouched new session stick unless saveUninitialized is on', async () => {
    for (const [saveUninitialized, modify, stored] of [
      [false, false, false],
      [true, false, true],
      [false, true, true],
    ] as const) {
      const store = new CountingStore();
      const s = await facadeServer(
        { store, rolling: true, resave: false, saveUninitialized },
        modify ? hit : undefined,
      );
      const answer = await s.browser().fetch('/');
      expect([answer.setCookie.length, store.calls.set]).toEqual(stored ? [1, 1] : [0, 0]);
    }
  });

  it('resave defaults to true: an unmodified loaded session is written again', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, saveUninitialized: false }, bob);
    const browser = s.browser();
    await browser.fetch('/');
    await browser.fetch('/');
    expect(store.calls.set).toBe(2);
  });

  it('resave: false writes only when the data changed, including a nested key named "cookie"', async () => {
    const store = new CountingStore();
    const s = await facadeServer({ store, resave: false, saveUninitialized: false }, (req, res) => {
      if (req.method === 'PUT') req.session.token = req.url?.slice(1);
      if (req.url === '/nested') {
        req.session.user ??= {};
        req.session.user.cookie = (req.session.user.cookie ?? 0) + 1;
      }
      res.end(`token=${req.session.token ?? ''}`);
    });
    const browser = s.browser();
    expect((await browser.fetch('/w6RH', { method: 'PUT' })).body).toBe('token=w6RH');
    expect(store.calls.set).toBe(1);
    expect((await browser.fetch('/')).body).toBe('token=w6RH');
    expect(store.calls.set).toBe(1);
    expect((await browser.fetch('/zfQ3', { method: 'PUT' })).body).toBe('token=zfQ3');
    expect(store.calls.set).toBe(2);
    await browser.fetch('/nested');
    await browser.fetch('/nested');
    expect(store.calls.set).toBe(4);
  });

  it('saveUninitialized defaults to true; when false an untouched session is neither saved nor touched', async () => {
    const byDefault = new CountingStore();
    const s = await facadeServer({ store: byDefault, resave: false });
    expect((await s.browser().fetch('/')).setCookie).toHaveLength(1);
    expect(byDefault.calls.set).toBe(1);
    const off = new CountingStore();
    const quiet = await facadeServer({ store: off, resave: false, saveUninitialized: false });
    expect((await quiet.browser().fetch('/')).setCookie).toEqual([]);
    expect(off.calls).toMatchObject({ set: 0, touch: 0 });
  });
});

describe('express-session parity: secrets', () => {
  const greet: Handler = (req, res) => {
    if (req.session.user) res.end(`get:${JSON.stringify(req.session.user)}`);
    else {
      req.session.user = 'bob';
      res.end('set');
    }
  };

  it('signs and verifies with a string or a Buffer secret', async () => {
    for (const secret of ['awesome cat', randomBytes(32)]) {
      const s = await facadeServer({ secret, resave: false, saveUninitialized: false }, greet);
      const browser = s.browser();
      expect((await browser.fetch('/')).body).toBe('set');
      expect((await browser.fetch('/')).body).toBe('get:"bob"');
    }
  });

  it('an array signs with its first secret only; every secret verifies', async () => {
    const store = new CountingStore();
    const read: Handler = (req, res) => res.end(String(req.session.user));
    const options = { store, resave: false, saveUninitialized: false };
    const both = await facadeServer({ ...options, secret: ['keyboard cat', 'nyan cat'] }, greet);
    const second = await facadeServer({ ...options, secret: 'nyan cat' }, read);
    const signedByFirst = cookieOf(await both.browser().fetch('/'));
    const other = await second.browser().fetch('/', { headers: { cookie: signedByFirst } });
    expect(other.body).toBe('undefined');
    const signedBySecond = cookieOf(
      await (await facadeServer({ ...options, secret: 'nyan cat' }, greet)).browser().fetch('/'),
    );
    const reader = await facadeServer({ ...options, secret: ['keyboard cat', 'nyan cat'] }, read);
    expect((await reader.browser().fetch('/', { headers: { cookie: signedBySecond } })).body).toBe(
      'bob',
    );
  });
});

describe("express-session parity: unset ('keep' by default, or 'destroy')", () => {
  const dropOnSecond: Handler = (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    if (req.session.n === 2) req.session = null;
    res.end();
  };

  for (const unset of ['keep', 'destroy'] as const) {
    it(`unset '${unset}': req.session = null ${unset === 'keep' ? 'leaves' : 'deletes'} the record`, async () => {
      const store = new CountingStore();
      const s = await facadeServer(
        { store, unset, resave: false, saveUninitialized: false },
        dropOnSecond,
      );
      const browser = s.browser();
      await browser.fetch('/');
      expect(Object.keys(store.sessions)).toHaveLength(1);
      await browser.fetch('/');
      expect(Object.keys(store.sessions)).toHaveLength(unset === 'keep' ? 1 : 0);
    });
  }

  it("unset 'destroy' on a brand-new session stores nothing and sets no cookie", async () => {
    const store = new CountingStore();
    const s = await facadeServer(
      { store, unset: 'destroy', resave: false, saveUninitialized: true },
      (req: Loose, res) => {
        req.session = null;
        res.end();
      },
    );
    const answer = await s.browser().fetch('/');
    expect(answer.setCookie).toEqual([]);
    expect(Object.keys(store.sessions)).toEqual([]);
  });
});
