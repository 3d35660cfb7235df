/**
 * The floor on node:http: a hand-written server doing only the session work of
 * `_floor-session.ts` on the backend named by `BENCH_STORE`. Every sessionkit figure on node:http
 * is read against it.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { portOf, serve } from './_env.js';
import { create, increment, load, sessionKey } from './_floor-session.js';

const json = { 'content-type': 'application/json' };

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/a') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  } else if (req.method === 'GET' && req.url === '/b') {
    const data = await load(sessionKey(req.headers.cookie));
    res.writeHead(200, json).end(JSON.stringify({ name: data === undefined ? null : data.name }));
  } else if (req.method === 'POST' && req.url === '/c') {
    const key = sessionKey(req.headers.cookie);
    const counter = key === undefined ? undefined : await increment(key);
    if (counter === undefined) res.writeHead(401).end();
    else res.writeHead(200, json).end(JSON.stringify({ counter }));
  } else if (req.method === 'POST' && req.url === '/init') {
    const cookie = await create();
    res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': cookie }).end('ok');
  } else if (req.method === 'GET' && req.url === '/counter') {
    const data = await load(sessionKey(req.headers.cookie));
    const counter = data === undefined ? null : data.counter;
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
