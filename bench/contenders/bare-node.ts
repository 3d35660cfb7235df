/** Bare `node:http`: the same routes with no session library (the baseline). */

import { createServer } from 'node:http';
import { portOf, serve } from './_env.js';

let counter = 0;
const json = { 'content-type': 'application/json' };

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/a') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  } else if (req.method === 'GET' && req.url === '/b') {
    res.writeHead(200, json).end(JSON.stringify({ name: 'bench' }));
  } else if (req.method === 'POST' && req.url === '/c') {
    counter++;
    res.writeHead(200, json).end(JSON.stringify({ counter }));
  } else if (req.method === 'POST' && req.url === '/init') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  } else if (req.method === 'GET' && req.url === '/counter') {
    res.writeHead(200, json).end(JSON.stringify({ counter }));
  } else {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
