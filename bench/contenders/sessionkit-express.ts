/** sessionkit on Express 5 (`sessionMiddleware` + `sessionErrorHandler`), store from `BENCH_STORE`. */

import express from 'express';
import { portOf, serve } from './_env.js';
import { manager, sessionkit } from './_sessionkit.js';

const { sessionErrorHandler, sessionMiddleware } =
  await sessionkit<typeof import('../../src/adapters/express.js')>('adapters/express.js');

const sessions = sessionMiddleware(manager);
const app = express();
app.use(sessions);
app.get('/a', (_req, res) => {
  res.send('ok');
});
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
app.get('/counter', async (req, res) => {
  res.json({ counter: await sessions.get(req).get('counter') });
});
app.use(sessionErrorHandler());
const server = app.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
