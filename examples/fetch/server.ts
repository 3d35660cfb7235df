/**
 * Minimal fetch-handler app with sessionkit: a per-session counter on the memory store. The
 * handler is a plain `(Request) => Promise<Response>`, so it runs unchanged as a Next.js route
 * handler, under `Bun.serve({ fetch: handler })` or `Deno.serve(handler)`. On Node it is served
 * here by `@hono/node-server`, a standard Request/Response bridge for node:http.
 *
 *   npx tsx examples/fetch/server.ts     # http://127.0.0.1:3000 (PORT, HOST, SESSION_SECRET)
 *
 * Cookies are non-Secure here so plain-http localhost works; drop `secure: false` behind HTTPS.
 */

import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { withSession } from '../../src/adapters/fetch.js';
import { createSessionManager, generateSecret } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

/** What this app keeps in a session. */
export interface AppData {
  counter: number;
}

/** The app: `GET /health` (never touches the session), `GET /`, `POST /counter`. */
export function createApp(
  secret: string = process.env.SESSION_SECRET ?? generateSecret(),
): (request: Request) => Promise<Response> {
  const manager = createSessionManager<AppData>({
    store: memoryStore(),
    secrets: secret,
    cookie: { secure: false }, // explicit plain-http dev mode (SECURITY.md §8)
  });
  return withSession(manager, async (request, session) => {
    const route = `${request.method} ${new URL(request.url).pathname}`;
    switch (route) {
      case 'GET /health':
        return Response.json({ ok: true });
      case 'GET /':
        return new Response(`counter: ${(await session.get('counter')) ?? 0}\n`);
      case 'POST /counter':
        return Response.json({ counter: await session.update('counter', (n) => (n ?? 0) + 1) });
      default:
        return new Response('Not Found', { status: 404 });
    }
  });
}

/** A listening server. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serve {@link createApp} on `host:port` (port 0: any free port). */
export function start(port: number, host = '127.0.0.1'): Promise<RunningServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch: createApp(), port, hostname: host }, (info) =>
      resolve({
        url: `http://${host}:${info.port}`,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    );
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const running = await start(Number(process.env.PORT ?? 3000), process.env.HOST);
  console.log(`sessionkit + fetch handler on ${running.url}`);
}
