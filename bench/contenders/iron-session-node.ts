/**
 * iron-session 8.0.4 (the last version for Node 20) on plain `node:http`: the session sealed in the
 * cookie, the peer of sessionkit's sealed cookie (`sessionkit-node-cookie`). Its defaults, a
 * plain-http cookie; `save()` after every write, as its documentation shows.
 */

import { createServer } from 'node:http';
import { getIronSession } from 'iron-session';
import { type BenchData, portOf, SECRET, serve } from './_env.js';

const options = {
  password: SECRET,
  cookieName: 'iron',
  cookieOptions: { secure: false },
};
const json = { 'content-type': 'application/json' };

const server = createServer((req, res) => {
  const handle = async (): Promise<void> => {
    if (req.method === 'GET' && req.url === '/a') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const session = await getIronSession<Partial<BenchData>>(req, res, options);
    if (req.method === 'GET' && req.url === '/b') {
      res.writeHead(200, json).end(JSON.stringify({ name: session.name }));
    } else if (req.method === 'POST' && req.url === '/c') {
      session.counter = (session.counter ?? 0) + 1;
      await session.save();
      res.writeHead(200, json).end(JSON.stringify({ counter: session.counter }));
    } else if (req.method === 'POST' && req.url === '/init') {
      session.name = 'bench';
      session.counter = 0;
      await session.save();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (req.method === 'GET' && req.url === '/counter') {
      res.writeHead(200, json).end(JSON.stringify({ counter: session.counter }));
    } else {
      res.writeHead(404).end();
    }
  };
  handle().catch(() => {
    if (!res.headersSent) res.writeHead(500).end();
  });
});
server.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
