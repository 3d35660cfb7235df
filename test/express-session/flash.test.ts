/**
 * connect-flash users on the facade: `flash()` from `sessionkit/express-session` gives `req.flash`
 * with connect-flash's API and storage (`req.session.flash`). Ported connect-flash usage over
 * real HTTP on Express 5: a message set before a redirect is read once on the next request;
 * printf-style formatting, arrays, counts, read-all; messages stored in connect-flash's shape are
 * read; no session → the same error as connect-flash; on a connect store and a sessionkit store.
 */

import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionStore } from '../../src/core/store.js';
import session, { type Flash, flash } from '../../src/express-session/index.js';
import { memoryStore } from '../../src/stores/memory.js';
import { Browser, idOf, SECRET, type Served, serve } from './helpers.js';

const servers: Served[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const flashOf = (req: Request): Flash => (req as unknown as { flash: Flash }).flash;

/** A login form in the connect-flash style: errors flashed before a redirect, shown once. */
async function loginApp(store: InstanceType<typeof session.MemoryStore> | SessionStore) {
  const app = express();
  app.use(
    session({
      secret: SECRET,
      store,
      resave: false,
      saveUninitialized: false,
      cookie: { path: '/app' },
    }),
  );
  app.use(flash());
  app.post('/app/login', (req: Request, res: Response) => {
    flashOf(req)('error', 'Invalid %s for %s', 'password', 'bob');
    res.redirect('/app/login');
  });
  app.get('/app/login', (req: Request, res: Response) => {
    res.json({ error: flashOf(req)('error'), info: flashOf(req)('info') });
  });
  app.post('/app/many', (req: Request, res: Response) => {
    const f = flashOf(req);
    res.json([f('info', ['a', 'b']), f('info', 'c'), f('warn', 'careful')]);
  });
  app.get('/app/all', (req: Request, res: Response) => {
    res.json(flashOf(req)());
  });
  app.get('/outside', (req: Request, res: Response) => {
    res.json(flashOf(req)('error'));
  });
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(error.message);
  });
  const served = await serve(app);
  servers.push(served);
  return new Browser(served.url);
}

const stores: [string, () => InstanceType<typeof session.MemoryStore> | SessionStore][] = [
  ["a connect store (the facade's MemoryStore)", () => new session.MemoryStore()],
  ['a sessionkit store (memory)', () => memoryStore()],
];

for (const [label, make] of stores) {
  describe(`req.flash on ${label}`, () => {
    it('a message flashed before a redirect is shown on the next request, and only once', async () => {
      const browser = await loginApp(make());
      const posted = await browser.fetch('/app/login', { method: 'POST' });
      expect(posted.status).toBe(302);
      const shown = await browser.fetch('/app/login');
      expect(JSON.parse(shown.body)).toEqual({ error: ['Invalid password for bob'], info: [] });
      const again = await browser.fetch('/app/login');
      expect(JSON.parse(again.body)).toEqual({ error: [], info: [] });
    });

    it('arrays add every element, each call returns the count, and req.flash() takes them all', async () => {
      const browser = await loginApp(make());
      expect(JSON.parse((await browser.fetch('/app/many', { method: 'POST' })).body)).toEqual([
        2, 3, 1,
      ]);
      expect(JSON.parse((await browser.fetch('/app/all')).body)).toEqual({
        info: ['a', 'b', 'c'],
        warn: ['careful'],
      });
      expect(JSON.parse((await browser.fetch('/app/all')).body)).toEqual({});
    });

    it('without a session req.flash throws connect-flash’s error', async () => {
      const browser = await loginApp(make());
      const answer = await browser.fetch('/outside');
      expect([answer.status, answer.body]).toEqual([500, 'req.flash() requires sessions']);
    });
  });
}

describe('req.flash and connect-flash’s storage', () => {
  it('keeps messages in req.session.flash, so messages stored by connect-flash are read after the switch', async () => {
    const store = new session.MemoryStore();
    const browser = await loginApp(store);
    await browser.fetch('/app/login', { method: 'POST' });
    const id = idOf(browser.jar.get('connect.sid') as string);
    const record = JSON.parse(store.sessions[id] as string);
    expect(record.flash).toEqual({ error: ['Invalid password for bob'] });
    // What connect-flash leaves in a session: the same shape, another type.
    store.sessions[id] = JSON.stringify({ ...record, flash: { info: ['Welcome back'] } });
    expect(JSON.parse((await browser.fetch('/app/login')).body)).toEqual({
      error: [],
      info: ['Welcome back'],
    });
  });

  it('does not replace a req.flash set earlier unless unsafe is set', async () => {
    for (const [unsafe, expected] of [
      [false, 'theirs'],
      [true, 'ours'],
    ] as const) {
      const app = express();
      app.use(session({ secret: SECRET, resave: false, saveUninitialized: false }));
      app.use((req, _res, next) => {
        (req as unknown as { flash: () => string }).flash = () => 'theirs';
        next();
      });
      app.use(flash({ unsafe }));
      app.get('/', (req: Request, res: Response) => {
        const result = flashOf(req)('x', 'y');
        res.send(result === 1 ? 'ours' : String(result));
      });
      const served = await serve(app);
      servers.push(served);
      expect((await new Browser(served.url).fetch('/')).body).toBe(expected);
    }
  });
});
