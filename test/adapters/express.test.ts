import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import express4 from 'express4';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionErrorHandler, sessionMiddleware } from '../../src/adapters/express.js';
import { memoryStore } from '../../src/stores/memory.js';
import { type AdapterTarget, EXPRESS, EXPRESS_4 } from '../support/adapters.js';
import { testManager } from '../support/manager.js';
import { probeStore } from '../support/probe-store.js';
import { type AdapterServer, cookiesNamed, describeAdapter, listen, send } from './contract.js';

type ExpressFactory = typeof express;

const flavours: [string, ExpressFactory, AdapterTarget][] = [
  ['Express 5', express, EXPRESS],
  ['Express 4', express4 as ExpressFactory, EXPRESS_4],
];

for (const [name, factory, target] of flavours) {
  describeAdapter({ name, createServer: target.serve });

  describe(`${name} specifics`, () => {
    const servers: AdapterServer[] = [];
    afterEach(async () => {
      for (const server of servers.splice(0)) await server.close();
    });

    async function start(setup: (app: ReturnType<ExpressFactory>) => void): Promise<string> {
      const app = factory();
      setup(app);
      const server = await listen(http.createServer(app));
      servers.push(server);
      return server.url;
    }

    it('sessionErrorHandler turns a store outage in a handler into a generic 503; other errors pass on', async () => {
      const store = probeStore(memoryStore({ sweepInterval: 0 }));
      const m = testManager({ store });
      const sessions = sessionMiddleware(m);
      const seen: unknown[] = [];
      const url = await start((app) => {
        app.use(sessions);
        app.post('/seed', (req, res) => {
          sessions.get(req).set('a', 1);
          res.json({ ok: true });
        });
        app.get('/read', (req, res, next) => {
          sessions
            .get(req)
            .get('a')
            .then((value) => res.json({ value }))
            .catch(next);
        });
        app.get('/boom', (_req, _res, next) => next(new Error('not a session error')));
        app.use(sessionErrorHandler());
        app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
          seen.push(error);
          res.status(500).send('app error page');
        });
      });
      const seeded = await send(url, 'POST', '/seed');
      const [cookie] = cookiesNamed(seeded, m.cookieName);
      expect(cookie).toBeDefined();
      store.failing.add('get');
      for (const accept of ['application/json', 'text/html']) {
        const reply = await send(url, 'GET', '/read', {
          cookie: cookie?.pair,
          headers: { accept },
        });
        expect(reply.status).toBe(503);
        expect(reply.headers.get('cache-control')).toBe('no-store');
        expect(reply.setCookies).toEqual([]);
        expect(reply.text.length).toBeLessThan(100);
        for (const leak of [' at ', 'ECONNREFUSED', 'admin', 'StoreError', cookie!.value]) {
          expect(reply.text).not.toContain(leak);
        }
      }
      // The session error never reached the app's own error handler…
      expect(seen).toEqual([]);
      // …but other errors do.
      const other = await send(url, 'GET', '/boom');
      expect(other.status).toBe(500);
      expect(other.text).toBe('app error page');
      expect(seen).toHaveLength(1);
      store.failing.delete('get');
      expect((await send(url, 'GET', '/read', { cookie: cookie?.pair })).json).toEqual({
        value: 1,
      });
    });

    it('an error after the response was sent does not replace it', async () => {
      // Writes take 50 ms, so the commit is still running when the error reaches the handlers.
      const slow = probeStore(memoryStore({ sweepInterval: 0 }));
      slow.delays.set('set', 50);
      const m = testManager({ store: slow });
      const sessions = sessionMiddleware(m);
      const seen: unknown[] = [];
      const url = await start((app) => {
        app.use(sessions);
        app.post('/save', (req, res, next) => {
          sessions.get(req).set('a', 1);
          res.json({ saved: true });
          next(new Error('mailer failed after the response'));
        });
        app.use(sessionErrorHandler());
        // A typical app error handler: log, and answer only if nothing was sent yet.
        app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
          seen.push(error);
          if (!res.headersSent) res.status(500).send('app error page');
        });
      });
      const reply = await send(url, 'POST', '/save');
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ saved: true });
      expect(cookiesNamed(reply, m.cookieName)).toHaveLength(1);
      expect(seen).toHaveLength(1);
      expect((await send(url, 'GET', '/nowhere')).status).toBe(404);
    });

    it('a session written in a mounted app is committed before the parent app answers (Express swaps the response prototype on the way out)', async () => {
      const m = testManager();
      const sessions = sessionMiddleware(m);
      const url = await start((app) => {
        const admin = factory();
        admin.use(sessions);
        admin.use((req, _res, next) => {
          sessions.get(req).set('seen', 'admin');
          next();
        });
        app.use('/admin', admin);
        // The parent answers after the mounted app gave the response back its own prototype.
        app.post('/admin/visit', (_req, res) => {
          res.json({ answeredBy: 'parent' });
        });
        app.get('/admin/read', (req, res, next) => {
          sessions
            .get(req)
            .get('seen')
            .then((seen) => res.json({ seen }))
            .catch(next);
        });
      });
      const visit = await send(url, 'POST', '/admin/visit');
      expect([visit.status, visit.json]).toEqual([200, { answeredBy: 'parent' }]);
      const [cookie] = cookiesNamed(visit, m.cookieName);
      expect(cookie).toBeDefined();
      const read = await send(url, 'GET', '/admin/read', { cookie: cookie?.pair });
      expect(read.json).toEqual({ seen: 'admin' });
    });

    it("req.ip under Express's trust proxy is recorded as the session's ip", async () => {
      const m = testManager();
      const sessions = sessionMiddleware(m);
      const routes = (app: ReturnType<ExpressFactory>): void => {
        app.use(sessions);
        app.post('/login', (req, res, next) => {
          const session = sessions.get(req);
          session.login('alice');
          session
            .meta()
            .then((meta) => res.json({ ip: meta.ip, reqIp: req.ip }))
            .catch(next);
        });
        app.get('/meta', (req, res, next) => {
          sessions
            .get(req)
            .meta()
            .then((meta) => res.json({ ip: meta.ip }))
            .catch(next);
        });
      };
      const trusted = await start((app) => {
        app.set('trust proxy', 1);
        routes(app);
      });
      const forwarded = { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' };
      const login = await send(trusted, 'POST', '/login', { headers: forwarded });
      expect(login.status).toBe(200);
      expect(login.json).toEqual({ ip: '203.0.113.7', reqIp: '203.0.113.7' });
      const [cookie] = cookiesNamed(login, m.cookieName);
      const meta = await send(trusted, 'GET', '/meta', { cookie: cookie?.pair });
      expect(meta.json).toEqual({ ip: '203.0.113.7' });

      // Without trust proxy the spoofable header is ignored.
      const direct = await start(routes);
      const spoofed = await send(direct, 'POST', '/login', { headers: forwarded });
      const { ip } = spoofed.json as { ip: string };
      expect(ip).toMatch(/127\.0\.0\.1$/);
    });

    it("guess events carry the client address as Express's trust proxy resolves it", async () => {
      const m = testManager({ bruteForce: { threshold: 3 } });
      const { events } = m;
      const sessions = sessionMiddleware(m);
      const routes = (app: ReturnType<ExpressFactory>): void => {
        app.use(sessions);
        app.get('/read', (req, res, next) => {
          sessions
            .get(req)
            .all()
            .then((data) => res.json(data))
            .catch(next);
        });
      };
      const forged = `${m.cookieName}=${'A'.repeat(43)}.${'B'.repeat(43)}`;
      const forwarded = { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' };
      const trusted = await start((app) => {
        app.set('trust proxy', 1);
        routes(app);
      });
      for (let i = 0; i < 3; i++) {
        const reply = await send(trusted, 'GET', '/read', { cookie: forged, headers: forwarded });
        expect(reply.json).toEqual({});
      }
      expect(events.filter((e) => e.type === 'invalid-cookie')).toEqual(
        Array(3).fill({ type: 'invalid-cookie', reason: 'signature', ip: '203.0.113.7' }),
      );
      expect(events.filter((e) => e.type === 'brute-force')).toEqual([
        { type: 'brute-force', ip: '203.0.113.7', guesses: 3, window: 60_000 },
      ]);
      // Without trust proxy the spoofable header is ignored: the socket is the client.
      events.length = 0;
      const direct = await start(routes);
      await send(direct, 'GET', '/read', { cookie: forged, headers: forwarded });
      expect(events).toEqual([
        { type: 'invalid-cookie', reason: 'signature', ip: expect.stringMatching(/127\.0\.0\.1$/) },
      ]);
    });
  });
}
