/**
 * The express-session facade over real HTTP, on Express 5 and Express 4, with express-session's
 * own MemoryStore class (ours) and options: the wire format, the option rules express-session
 * pins (resave, saveUninitialized, rolling, unset, cookie attributes, secrets), `req.session`'s
 * methods in callback and promise form, and what the facade does better (commit before the
 * first header byte, destroy expires the cookie, strict mode).
 */

import type { Request, Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import session, { type SessionOptions } from '../../src/express-session/index.js';
import {
  Browser,
  EXPRESSES,
  type ExpressFactory,
  idOf,
  SECRET,
  type Served,
  serve,
  signed,
} from './helpers.js';

const servers: Served[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

type Sess = Record<string, unknown> & {
  id: string;
  cookie: { maxAge: number | null; originalMaxAge: number | null; expires: Date | null };
  save(cb?: (e?: unknown) => void): unknown;
  destroy(cb?: (e?: unknown) => void): unknown;
  regenerate(cb?: (e?: unknown) => void): unknown;
  reload(cb?: (e?: unknown) => void): unknown;
};
const sess = (req: Request): Sess => (req as unknown as { session: Sess }).session;

/** An app with a few routes over the facade; `extra` may add routes before them. */
async function app(
  make: ExpressFactory,
  options: SessionOptions,
  extra?: (a: ReturnType<ExpressFactory>) => void,
): Promise<Browser> {
  const a = make();
  a.use(session({ resave: false, saveUninitialized: false, ...options }));
  extra?.(a);
  a.get('/count', (req: Request, res: Response) => {
    const s = sess(req);
    s.count = ((s.count as number | undefined) ?? 0) + 1;
    res.json({ count: s.count, id: req.sessionID });
  });
  a.get('/peek', (req: Request, res: Response) => {
    res.json({ count: sess(req)?.count ?? null, id: req.sessionID, has: sess(req) !== undefined });
  });
  a.post('/logout', async (req: Request, res: Response) => {
    await sess(req).destroy();
    res.send('bye');
  });
  a.post('/regenerate', (req: Request, res: Response) => {
    const before = req.sessionID;
    sess(req).regenerate((error) => {
      if (error) {
        res.status(500).end();
        return;
      }
      sess(req).count = 100;
      res.json({ before, after: req.sessionID });
    });
  });
  a.use((error: Error, _req: Request, res: Response, _next: unknown) => {
    res.status(500).send(`handled: ${error.message}`);
  });
  const served = await serve(a);
  servers.push(served);
  return new Browser(served.url);
}

for (const [label, make] of EXPRESSES) {
  describe(`express-session facade on ${label}`, () => {
    it('issues s:<id>.<HMAC-SHA256> under the raw secret, URI-encoded, Path=/ and HttpOnly', async () => {
      const browser = await app(make, { secret: SECRET });
      const first = await browser.fetch('/count');
      expect(first.status).toBe(200);
      expect(first.setCookie).toHaveLength(1);
      const line = first.setCookie[0] as string;
      const value = browser.jar.get('connect.sid') as string;
      const id = idOf(value);
      expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(JSON.parse(first.body).id).toBe(id);
      expect(value).toBe(signed(id, SECRET));
      expect(line).toBe(`connect.sid=${value}; Path=/; HttpOnly`);
    });

    it('keeps data between requests and answers a tampered or foreign cookie with a new session', async () => {
      const browser = await app(make, { secret: SECRET });
      await browser.fetch('/count');
      const second = await browser.fetch('/count');
      expect(JSON.parse(second.body).count).toBe(2);
      const id = idOf(browser.jar.get('connect.sid') as string);
      for (const forged of [
        signed(id, 'another-secret'),
        `s%3A${id}.AAAA`,
        id,
        signed('x'.repeat(32), SECRET),
      ]) {
        const answer = await browser.fetch('/peek', {
          headers: { cookie: `connect.sid=${forged}` },
        });
        expect(JSON.parse(answer.body)).toMatchObject({ count: null });
        expect(JSON.parse(answer.body).id).not.toBe(id);
      }
    });

    it('matches the cookie name byte for byte: a name padded with NBSP is another cookie', async () => {
      const browser = await app(make, { secret: SECRET });
      await browser.fetch('/count');
      const value = browser.jar.get('connect.sid') as string;
      const id = idOf(value);
      for (const name of ['\u00a0connect.sid', 'connect.sid\u00a0', '\u0085connect.sid']) {
        const answer = await browser.fetch('/peek', { headers: { cookie: `${name}=${value}` } });
        expect(JSON.parse(answer.body), JSON.stringify(name)).toMatchObject({ count: null });
        expect(JSON.parse(answer.body).id).not.toBe(id);
      }
      // SP and HTAB around the name are trimmed (RFC 6265 §5.2): the same cookie.
      const spaced = await browser.fetch('/peek', {
        headers: { cookie: `\tconnect.sid =${value}` },
      });
      expect(JSON.parse(spaced.body)).toMatchObject({ count: 1, id });
    });

    it('verifies with every secret of an array and signs with the first', async () => {
      const old = await app(make, { secret: 'an-old-secret-of-more-than-32-bytes-xx' });
      await old.fetch('/count');
      const store = new session.MemoryStore();
      const before = await app(make, { secret: 'an-old-secret-of-more-than-32-bytes-xx', store });
      await before.fetch('/count');
      const rotated = await app(make, {
        secret: [SECRET, 'an-old-secret-of-more-than-32-bytes-xx'],
        store,
        rolling: true,
      });
      rotated.jar.set('connect.sid', before.jar.get('connect.sid') as string);
      const answer = await rotated.fetch('/count');
      expect(JSON.parse(answer.body).count).toBe(2);
      const id = idOf(rotated.jar.get('connect.sid') as string);
      expect(rotated.jar.get('connect.sid')).toBe(signed(id, SECRET));
    });

    it('saveUninitialized false: an untouched new session sets no cookie and stores nothing', async () => {
      const store = new session.MemoryStore();
      const browser = await app(make, { secret: SECRET, store });
      const answer = await browser.fetch('/peek');
      expect(answer.setCookie).toEqual([]);
      expect(Object.keys(store.sessions)).toEqual([]);
    });

    it('saveUninitialized true: a new session is stored and its cookie set', async () => {
      const store = new session.MemoryStore();
      const browser = await app(make, { secret: SECRET, store, saveUninitialized: true });
      const answer = await browser.fetch('/peek');
      expect(answer.setCookie).toHaveLength(1);
      expect(Object.keys(store.sessions)).toEqual([JSON.parse(answer.body).id]);
    });

    it('stores { cookie, ...data } under the raw id, as express-session does', async () => {
      const store = new session.MemoryStore();
      const browser = await app(make, { secret: SECRET, store, cookie: { maxAge: 60_000 } });
      const { id } = JSON.parse((await browser.fetch('/count')).body);
      const stored = JSON.parse(store.sessions[id] as string);
      expect(stored).toMatchObject({
        count: 1,
        cookie: { originalMaxAge: 60_000, httpOnly: true, path: '/' },
      });
      expect(new Date(stored.cookie.expires).valueOf()).toBeGreaterThan(Date.now());
    });

    it('rolling re-sends the cookie on every response; without it an unmodified session gets none', async () => {
      const plain = await app(make, { secret: SECRET });
      await plain.fetch('/count');
      expect((await plain.fetch('/peek')).setCookie).toEqual([]);
      const rolling = await app(make, { secret: SECRET, rolling: true });
      await rolling.fetch('/count');
      expect((await rolling.fetch('/peek')).setCookie).toHaveLength(1);
    });

    it('cookie.maxAge: Expires attribute, maxAge counts down, originalMaxAge stays', async () => {
      const browser = await app(make, { secret: SECRET, cookie: { maxAge: 3_600_000 } }, (a) => {
        a.get('/cookie', (req: Request, res: Response) => {
          const c = sess(req).cookie;
          sess(req).seen = true;
          res.json({ maxAge: c.maxAge, original: c.originalMaxAge, expires: c.expires });
        });
      });
      const answer = await browser.fetch('/cookie');
      const body = JSON.parse(answer.body);
      expect(body.original).toBe(3_600_000);
      expect(body.maxAge).toBeLessThanOrEqual(3_600_000);
      expect(body.maxAge).toBeGreaterThan(3_500_000);
      const expires = /Expires=([^;]+)/.exec(answer.setCookie[0] as string)?.[1] as string;
      expect(Math.abs(new Date(expires).valueOf() - Date.now() - 3_600_000)).toBeLessThan(120_000);
    });

    it('destroy() deletes the record and expires the cookie (promise form)', async () => {
      const store = new session.MemoryStore();
      const browser = await app(make, { secret: SECRET, store });
      const { id } = JSON.parse((await browser.fetch('/count')).body);
      const bye = await browser.fetch('/logout', { method: 'POST' });
      expect(bye.body).toBe('bye');
      expect(store.sessions[id]).toBeUndefined();
      expect(bye.setCookie).toHaveLength(1);
      expect(bye.setCookie[0]).toMatch(
        /^connect\.sid=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly$/,
      );
      expect(browser.jar.has('connect.sid')).toBe(false);
    });

    it('regenerate() issues a new id, deletes the old record and keeps writing to the new one', async () => {
      const store = new session.MemoryStore();
      const browser = await app(make, { secret: SECRET, store });
      await browser.fetch('/count');
      const answer = await browser.fetch('/regenerate', { method: 'POST' });
      const { before, after } = JSON.parse(answer.body);
      expect(after).not.toBe(before);
      expect(store.sessions[before]).toBeUndefined();
      expect(JSON.parse(store.sessions[after] as string).count).toBe(100);
      expect(idOf(browser.jar.get('connect.sid') as string)).toBe(after);
    });

    it('reload() and save() work with callbacks and as promises', async () => {
      const store = new session.MemoryStore();
      const browser = await app(make, { secret: SECRET, store }, (a) => {
        a.get('/methods', async (req: Request, res: Response) => {
          const s = sess(req);
          s.a = 1;
          await s.save();
          store.sessions[s.id] = JSON.stringify({
            ...JSON.parse(store.sessions[s.id] as string),
            a: 2,
          });
          await new Promise<void>((resolve, reject) =>
            s.reload((e) => (e ? reject(e) : resolve())),
          );
          const reloaded = sess(req);
          reloaded.b = 3;
          res.json({ a: reloaded.a, sameId: reloaded.id === s.id });
        });
      });
      const answer = await browser.fetch('/methods');
      expect(JSON.parse(answer.body)).toEqual({ a: 2, sameId: true });
      const id = idOf(browser.jar.get('connect.sid') as string);
      expect(JSON.parse(store.sessions[id] as string)).toMatchObject({ a: 2, b: 3 });
    });

    it("unset 'destroy': setting req.session to null deletes the record", async () => {
      const store = new session.MemoryStore();
      const browser = await app(make, { secret: SECRET, store, unset: 'destroy' }, (a) => {
        a.get('/unset', (req: Request, res: Response) => {
          (req as unknown as { session: unknown }).session = null;
          res.send('unset');
        });
      });
      const { id } = JSON.parse((await browser.fetch('/count')).body);
      await browser.fetch('/unset');
      expect(store.sessions[id]).toBeUndefined();
    });

    it('skips requests outside cookie.path and does not set a Secure cookie over plain http', async () => {
      const scoped = await app(make, { secret: SECRET, cookie: { path: '/admin' } });
      expect(JSON.parse((await scoped.fetch('/peek')).body).has).toBe(false);
      const secure = await app(make, { secret: SECRET, cookie: { secure: true } });
      expect((await secure.fetch('/count')).setCookie).toEqual([]);
    });

    it('a failing save is an error response, never a success with a cookie (commit before headers)', async () => {
      class FailingStore extends session.MemoryStore {
        override set(_sid: string, _s: unknown, cb?: (e?: unknown) => void): void {
          setImmediate(() => cb?.(new Error('disk full')));
        }
      }
      const browser = await app(make, { secret: SECRET, store: new FailingStore() });
      const compat = await browser.fetch('/count');
      expect(compat.status).toBe(500);
      expect(compat.body).toBe('handled: disk full');
      expect(compat.setCookie).toEqual([]);
      const strict = await app(make, { secret: SECRET, store: new FailingStore(), strict: true });
      const answer = await strict.fetch('/count');
      expect(answer.status).toBe(503);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.setCookie).toEqual([]);
    });

    it("a store's 'disconnect': compat goes on without req.session, strict answers 503", async () => {
      const store = new session.MemoryStore();
      const compat = await app(make, { secret: SECRET, store });
      const strictStore = new session.MemoryStore();
      const strict = await app(make, { secret: SECRET, store: strictStore, strict: true });
      store.emit('disconnect');
      strictStore.emit('disconnect');
      expect(JSON.parse((await compat.fetch('/peek')).body).has).toBe(false);
      expect((await strict.fetch('/peek')).status).toBe(503);
      store.emit('connect');
      expect(JSON.parse((await compat.fetch('/peek')).body).has).toBe(true);
    });
  });
}

describe('express-session facade options', () => {
  it('throws express-session’s TypeErrors for genid, unset and an empty secret array', () => {
    expect(() => session({ genid: 'x' as never })).toThrow(
      new TypeError('genid option must be a function'),
    );
    expect(() => session({ secret: SECRET, unset: 'drop' as never })).toThrow(
      new TypeError('unset option must be "destroy" or "keep"'),
    );
    expect(() => session({ secret: [] })).toThrow(
      new TypeError('secret option array must contain one or more strings'),
    );
  });

  it('accepts a weak secret in compat mode with an event, refuses it in strict mode', () => {
    const events: string[] = [];
    session({
      secret: 'keyboard cat',
      resave: false,
      saveUninitialized: false,
      onEvent: (e) => events.push(e.type),
    });
    expect(events).toEqual(['weak-secret']);
    expect(() => session({ secret: 'keyboard cat', strict: true })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it('refuses something that is no store with ERR_SESSION_CONFIG', () => {
    expect(() => session({ secret: SECRET, store: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_CONFIG' }),
    );
  });

  it('has Store, MemoryStore, Cookie and Session attached; MemoryStore is a Store', () => {
    expect(new session.MemoryStore()).toBeInstanceOf(session.Store);
    const cookie = new session.Cookie({ maxAge: 1000 });
    expect(cookie.originalMaxAge).toBe(1000);
    expect(() => new session.Cookie({ maxAge: 'soon' as never })).toThrow(TypeError);
    expect(typeof session.Session).toBe('function');
  });
});
