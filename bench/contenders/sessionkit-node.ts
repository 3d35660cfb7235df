/** sessionkit on plain `node:http` (`withSession`), store from `BENCH_STORE`. */

import { createServer } from 'node:http';
import { portOf, serve } from './_env.js';
import { manager, sessionkit } from './_sessionkit.js';

const { withSession } =
  await sessionkit<typeof import('../../src/adapters/node.js')>('adapters/node.js');

const json = { 'content-type': 'application/json' };

const server = createServer(
  withSession(manager, async (req, res, session) => {
    if (req.method === 'GET' && req.url === '/a') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (req.method === 'GET' && req.url === '/b') {
      // Read before writing: a session first used after the headers went out is too late to
      // hold the response for (no Vary: Cookie, no Cache-Control).
      const name = await session.get('name');
      res.writeHead(200, json).end(JSON.stringify({ name }));
    } else if (req.method === 'POST' && req.url === '/c') {
      const counter = await session.update('counter', (n = 0) => n + 1);
      res.writeHead(200, json).end(JSON.stringify({ counter }));
    } else if (req.method === 'POST' && req.url === '/init') {
      session.merge({ name: 'bench', counter: 0 });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (req.method === 'GET' && req.url === '/counter') {
      const counter = await session.get('counter');
      res.writeHead(200, json).end(JSON.stringify({ counter }));
    } else {
      res.writeHead(404).end();
    }
  }),
);
server.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
