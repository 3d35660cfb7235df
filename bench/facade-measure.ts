/**
 * `node --import tsx bench/facade-measure.ts <contender> [reads] [writes]` — one Express 5 server
 * and a minimal HTTP/1.1 client in one process, for deterministic per-request figures of the
 * express-session API over real HTTP and real Redis (not part of `npm run bench`):
 *
 * - `bare`: the bench routes behind a middleware that only sets `req.session` to a plain object;
 * - `facade`: `sessionkit/express-session` on sessionkit's Redis store (ioredis);
 * - `facade-connect`: the facade on connect-redis 9 (node-redis);
 * - `express-session`: express-session 1.19 on connect-redis 9 (node-redis);
 * - `native`: sessionkit's own Express adapter on its Redis store (its own routes, same work).
 *
 * It creates one session (`POST /init`), warms up with `BENCH_WARMUP` (default 2000) reads and as
 * many writes, then sends `reads` × `GET /b` and `writes` × `POST /c`, one at a time on one
 * keep-alive connection, and checks every answer. The client writes a prepared request and only
 * finds the end of the response, so it costs the same for every contender.
 *
 * Made for counts, not timings: run it with `--cpu-prof` (function shares of the server's CPU),
 * or under `valgrind --tool=callgrind` with `0 0`, `N 0` and `0 N` and subtract (not yet
 * validated: a first attempt gave implausibly small differences). Bundle it first
 * (`esbuild --bundle --platform=node --format=esm --packages=external`) to skip tsx's start-up.
 * Loads sessionkit from `BENCH_SESSIONKIT_DIR` (the `tsc` build, as the contenders do), else from
 * `src/`. Uses Redis at `BENCH_REDIS_URL` under a fresh key prefix and deletes its keys before
 * exiting.
 */

import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import type { RequestHandler } from 'express';

process.env.BENCH_SECRET ??= '5f0c8e2a9d41b7c3e6a18f4d2b90c57e31a6d8f4029bc7e5a1d3f6b8c0e2a4d9';
process.env.BENCH_STORE = 'redis';
process.env.BENCH_PREFIX ??= `facade-measure:${process.pid}:`;

const contender = process.argv[2] ?? 'facade';
const reads = Number(process.argv[3] ?? 2_000);
const writes = Number(process.argv[4] ?? reads);
const warmup = Number(process.env.BENCH_WARMUP ?? 2_000);

const env = await import('./contenders/_env.js');
const { expressSessionApp, SESSION_OPTIONS } = await import('./contenders/_express-session-app.js');
const { sessionkit } = await import('./contenders/_build.js');

/** The Express app of `contender`. */
async function appOf(
  name: string,
): Promise<{ listen: ReturnType<typeof expressSessionApp>['listen'] }> {
  if (name === 'bare') {
    const bare: RequestHandler = (req, _res, next) => {
      (req as unknown as { session: object }).session = { name: 'bench', counter: 0 };
      next();
    };
    return expressSessionApp(bare);
  }
  if (name === 'facade' || name === 'facade-connect') {
    const { default: session } = await sessionkit<typeof import('../src/express-session/index.js')>(
      'express-session/index.js',
    );
    const store = name === 'facade' ? await nativeRedis() : await connectRedis();
    return expressSessionApp(session({ ...SESSION_OPTIONS, store }) as unknown as RequestHandler);
  }
  if (name === 'express-session') {
    const { default: session } = await import('express-session');
    return expressSessionApp(session({ ...SESSION_OPTIONS, store: await connectRedis() }));
  }
  if (name === 'native') return nativeApp();
  throw new Error(`unknown contender ${name}`);
}

async function nativeRedis() {
  const { redisStore } =
    await sessionkit<typeof import('../src/stores/redis.js')>('stores/redis.js');
  return redisStore({ client: env.ioredisClient(), prefix: env.REDIS_PREFIX });
}

async function connectRedis() {
  const { RedisStore } = await import('connect-redis');
  return new RedisStore({ client: await env.nodeRedisClient(), prefix: env.REDIS_PREFIX });
}

async function nativeApp() {
  const express = (await import('express')).default;
  const { manager } = await import('./contenders/_sessionkit.js');
  const { sessionErrorHandler, sessionMiddleware } =
    await sessionkit<typeof import('../src/adapters/express.js')>('adapters/express.js');
  const sessions = sessionMiddleware(manager);
  const app = express();
  app.use(sessions);
  app.get('/b', async (req, res) => {
    res.json({ name: await sessions.get(req).get('name') });
  });
  app.post('/c', async (req, res) => {
    res.json({ counter: await sessions.get(req).update('counter', (n = 0) => n + 1) });
  });
  app.post('/init', (req, res) => {
    sessions.get(req).merge({ name: 'bench', counter: 0 });
    res.send('ok');
  });
  app.use(sessionErrorHandler());
  return app;
}

/** One keep-alive connection: send a prepared request, resolve with the whole response text. */
class Client {
  private buffered = '';
  private waiting: ((response: string) => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(this.buffered.slice(0, end));
      const total = end + 4 + Number(length?.[1] ?? 0);
      if (this.buffered.length < total) return;
      const response = this.buffered.slice(0, total);
      this.buffered = this.buffered.slice(total);
      const done = this.waiting;
      this.waiting = undefined;
      done?.(response);
    });
  }

  send(request: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(request);
    });
  }
}

function request(method: string, path: string, cookie: string): string {
  const body = method === 'POST' ? 'Content-Length: 0\r\n' : '';
  return `${method} ${path} HTTP/1.1\r\nHost: bench\r\n${cookie}${body}\r\n`;
}

const app = await appOf(contender);
const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
await new Promise((resolve) => socket.once('connect', resolve));
const client = new Client(socket);

const init = await client.send(request('POST', '/init', ''));
const setCookie = /\r\nset-cookie: *([^;\r]+)/i.exec(init)?.[1];
const cookie = setCookie === undefined ? '' : `Cookie: ${setCookie}\r\n`;
if (contender !== 'bare' && cookie === '') throw new Error(`no session cookie:\n${init}`);
const readRequest = request('GET', '/b', cookie);
const writeRequest = request('POST', '/c', cookie);

async function read(): Promise<void> {
  const response = await client.send(readRequest);
  if (!response.endsWith('{"name":"bench"}')) throw new Error(`read failed:\n${response}`);
}
async function write(): Promise<void> {
  const response = await client.send(writeRequest);
  if (!response.startsWith('HTTP/1.1 200')) throw new Error(`write failed:\n${response}`);
}

for (let i = 0; i < warmup; i++) {
  await read();
  await write();
}
const started = process.cpuUsage();
for (let i = 0; i < reads; i++) await read();
for (let i = 0; i < writes; i++) await write();
const cpu = process.cpuUsage(started);
const requests = reads + writes;
process.stdout.write(
  `${contender}: ${reads} reads, ${writes} writes` +
    (requests > 0 ? `, ${((cpu.user + cpu.system) / requests).toFixed(1)} µs CPU/request\n` : '\n'),
);

// Clean up: this run's keys, the connection, the server.
const { Redis } = await import('ioredis');
const redis = new Redis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379');
const keys = await redis.keys(`${env.REDIS_PREFIX}*`);
if (keys.length > 0) await redis.del(...keys);
await redis.quit();
socket.destroy();
server.close();
process.exit(0);
