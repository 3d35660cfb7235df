/**
 * Minimal Fastify 5 app with sessionkit: a per-session counter on the memory store.
 *
 *   npx tsx examples/fastify/server.ts   # http://127.0.0.1:3000 (PORT, HOST, SESSION_SECRET)
 *
 * Cookies are non-Secure here so plain-http localhost works; drop `secure: false` behind HTTPS.
 */

import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { getSession, sessionPlugin } from '../../src/adapters/fastify.js';
import { createSessionManager, generateSecret } from '../../src/index.js';
import { memoryStore } from '../../src/stores/memory.js';

/** What this app keeps in a session. */
export interface AppData {
  counter: number;
}

/** The app: `GET /health` (never touches the session), `GET /`, `POST /counter`. */
export async function createApp(
  secret: string = process.env.SESSION_SECRET ?? generateSecret(),
): Promise<FastifyInstance> {
  const manager = createSessionManager<AppData>({
    store: memoryStore(),
    secrets: secret,
    cookie: { secure: false }, // explicit plain-http dev mode (SECURITY.md §8)
  });
  const app = Fastify();
  await app.register(sessionPlugin, { manager });
  app.get('/health', async () => ({ ok: true }));
  app.get('/', async (request, reply) => {
    const counter = (await getSession(request, manager).get('counter')) ?? 0;
    return reply.type('text/plain').send(`counter: ${counter}\n`);
  });
  app.post('/counter', async (request) => {
    const counter = await getSession(request, manager).update('counter', (n) => (n ?? 0) + 1);
    return { counter };
  });
  return app;
}

/** A listening server. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serve {@link createApp} on `host:port` (port 0: any free port). */
export async function start(port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const app = await createApp();
  const url = await app.listen({ port, host });
  return { url, close: () => app.close() };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const running = await start(Number(process.env.PORT ?? 3000), process.env.HOST);
  console.log(`sessionkit + Fastify on ${running.url}`);
}
