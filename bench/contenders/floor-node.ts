/**
 * The floor: a hand-written `node:http` server doing only the work a secure server-side session
 * cannot avoid, on the backend named by `BENCH_STORE` (memory, redis, postgres;
 * `_floor-stores.ts`). Every sessionkit figure is read against it.
 *
 * Per request with a cookie: find the cookie, check its HMAC-SHA256 signature in constant time
 * (`timingSafeEqual`), derive the store key as SHA-256 of the id (a store dump yields no
 * cookie), one read, `JSON.parse`; on a write one compare-and-set on the record's version
 * (retried on a conflict, so the burst loses nothing). Anything malformed is an anonymous
 * request, never an error. No framework, no options, no rotation, no flash: that is the point.
 */

import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type BenchData, portOf, SECRET, STORE, serve } from './_env.js';
import { type FloorRecord, floorStore } from './_floor-stores.js';

const COOKIE = 'floor';
const IDLE_MS = 30 * 60_000;
/** Compare-and-set attempts before a write gives up with 503 (the burst needs ~200 at most). */
const ATTEMPTS = 1_000;
/** `<43 chars of id>.<43 chars of signature>`, both base64url. */
const VALUE_LENGTH = 87;
const KEY = Buffer.from(hkdfSync('sha256', SECRET, 'floor', 'cookie signing', 32));
const json = { 'content-type': 'application/json' };
const store = await floorStore(STORE);

function sign(id: string): string {
  return createHmac('sha256', KEY).update(id).digest('base64url');
}

/** The store key of the request's session, or `undefined` (no, or a forged, cookie). */
function sessionKey(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  const at = header.indexOf(`${COOKIE}=`);
  if (at === -1 || (at > 0 && header[at - 1] !== ' ' && header[at - 1] !== ';')) return undefined;
  const start = at + COOKIE.length + 1;
  const end = header.indexOf(';', start);
  const value = header.slice(start, end === -1 ? undefined : end);
  if (value.length !== VALUE_LENGTH || value[43] !== '.') return undefined;
  const id = value.slice(0, 43);
  // Both sides are 43 ASCII characters here, so the comparison itself leaks nothing.
  if (!timingSafeEqual(Buffer.from(sign(id)), Buffer.from(value.slice(44)))) return undefined;
  return createHash('sha256').update(id).digest('base64url');
}

async function load(key: string | undefined): Promise<FloorRecord | undefined> {
  return key === undefined ? undefined : store.read(key);
}

/** `counter + 1` with compare-and-set; the new counter, or `undefined` if there is no session. */
async function increment(key: string): Promise<number | undefined> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const record = await store.read(key);
    if (record === undefined) return undefined;
    const data = JSON.parse(record.data) as BenchData;
    data.counter++;
    if (await store.cas(key, record.version, JSON.stringify(data), Date.now() + IDLE_MS)) {
      return data.counter;
    }
  }
  throw new Error('compare-and-set: too many conflicts');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/a') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  } else if (req.method === 'GET' && req.url === '/b') {
    const record = await load(sessionKey(req));
    const name = record === undefined ? null : (JSON.parse(record.data) as BenchData).name;
    res.writeHead(200, json).end(JSON.stringify({ name }));
  } else if (req.method === 'POST' && req.url === '/c') {
    const key = sessionKey(req);
    const counter = key === undefined ? undefined : await increment(key);
    if (counter === undefined) res.writeHead(401).end();
    else res.writeHead(200, json).end(JSON.stringify({ counter }));
  } else if (req.method === 'POST' && req.url === '/init') {
    const id = randomBytes(32).toString('base64url');
    const key = createHash('sha256').update(id).digest('base64url');
    const data: BenchData = { name: 'bench', counter: 0 };
    await store.create(key, JSON.stringify(data), Date.now() + IDLE_MS);
    res
      .writeHead(200, {
        'content-type': 'text/plain',
        'set-cookie': `${COOKIE}=${id}.${sign(id)}; Path=/; HttpOnly; SameSite=Lax`,
      })
      .end('ok');
  } else if (req.method === 'GET' && req.url === '/counter') {
    const record = await load(sessionKey(req));
    const counter = record === undefined ? null : (JSON.parse(record.data) as BenchData).counter;
    res.writeHead(200, json).end(JSON.stringify({ counter }));
  } else {
    res.writeHead(404).end();
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => {
    // A store outage or a hopeless conflict: 503, as sessionkit answers it.
    if (!res.headersSent) res.writeHead(503).end();
  });
});
server.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
