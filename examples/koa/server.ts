/**
 * Minimal Koa app with sessionkit: a per-session counter on the memory store.
 *
 *   npx tsx examples/koa/server.ts       # http://127.0.0.1:3000 (PORT, HOST, SESSION_SECRET)
 *
 * Cookies are non-Secure here so plain-http localhost works; drop `secure: false` behind HTTPS.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import Koa from 'koa';
import { type KoaSessionContext, sessionMiddleware } from '../../src/adapters/koa.js';
import { createSessionManager, generateSecret } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

/** What this app keeps in a session. */
export interface AppData {
  counter: number;
}

/** The app: `GET /health` (never touches the session), `GET /`, `POST /counter`. */
export function createApp(
  secret: string = process.env.SESSION_SECRET ?? generateSecret(),
): Koa<Koa.DefaultState, KoaSessionContext<AppData>> {
  const manager = createSessionManager<AppData>({
    store: memoryStore(),
    secrets: secret,
    cookie: { secure: false }, // explicit plain-http dev mode (SECURITY.md §8)
  });
  // The context type parameter types `ctx.session` in every middleware of this app.
  const app = new Koa<Koa.DefaultState, KoaSessionContext<AppData>>();
  app.use(sessionMiddleware(manager));
  app.use(async (ctx) => {
    const route = `${ctx.method} ${ctx.path}`;
    if (route === 'GET /health') {
      ctx.body = { ok: true };
    } else if (route === 'GET /') {
      ctx.body = `counter: ${(await ctx.session.get('counter')) ?? 0}\n`;
    } else if (route === 'POST /counter') {
      ctx.body = { counter: await ctx.session.update('counter', (n) => (n ?? 0) + 1) };
    }
  });
  return app;
}

/** A listening server. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serve {@link createApp} on `host:port` (port 0: any free port). */
export function start(port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const server = http.createServer(createApp().callback());
  return new Promise((resolve) => {
    server.listen(port, host, () => {
      const { port: bound } = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${bound}`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const running = await start(Number(process.env.PORT ?? 3000), process.env.HOST);
  console.log(`sessionkit + Koa on ${running.url}`);
}
