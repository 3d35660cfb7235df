/**
 * Minimal Hono app with sessionkit: a per-session counter on the memory store, served by
 * `@hono/node-server` (the same `createApp()` runs on Bun, Deno or workers via `app.fetch`).
 *
 *   npx tsx examples/hono/server.ts      # http://127.0.0.1:3000 (PORT, HOST, SESSION_SECRET)
 *
 * Cookies are non-Secure here so plain-http localhost works; drop `secure: false` behind HTTPS.
 */

import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type SessionEnv, sessionMiddleware } from '../../src/adapters/hono.js';
import { createSessionManager, generateSecret } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

/** What this app keeps in a session. */
export interface AppData {
  counter: number;
}

/** The app: `GET /health` (never touches the session), `GET /`, `POST /counter`. */
export function createApp(
  secret: string = process.env.SESSION_SECRET ?? generateSecret(),
): Hono<SessionEnv<AppData>> {
  const manager = createSessionManager<AppData>({
    store: memoryStore(),
    secrets: secret,
    cookie: { secure: false }, // explicit plain-http dev mode (SECURITY.md §8)
  });
  const app = new Hono<SessionEnv<AppData>>();
  app.use(sessionMiddleware(manager));
  app.get('/health', (c) => c.json({ ok: true }));
  app.get('/', async (c) => {
    const counter = (await c.get('session').get('counter')) ?? 0;
    return c.text(`counter: ${counter}\n`);
  });
  app.post('/counter', async (c) => {
    const counter = await c.get('session').update('counter', (n) => (n ?? 0) + 1);
    return c.json({ counter });
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
  return new Promise((resolve) => {
    const server = serve({ fetch: createApp().fetch, port, hostname: host }, (info) =>
      resolve({
        url: `http://${host}:${info.port}`,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    );
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const running = await start(Number(process.env.PORT ?? 3000), process.env.HOST);
  console.log(`sessionkit + Hono on ${running.url}`);
}
