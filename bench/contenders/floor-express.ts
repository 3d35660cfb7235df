/**
 * The floor on Express 5: bare Express's routes (`bare-express.ts`) doing the session work of
 * `_floor-session.ts` on the backend named by `BENCH_STORE`, inline in each handler (no
 * middleware, nothing added to `req`). What a hand-written Express server that keeps a secure
 * server-side session cannot avoid — the ceiling for any session library on Express.
 */

import express, { type NextFunction, type Request, type Response } from 'express';
import { portOf, serve } from './_env.js';
import { create, increment, load, sessionKey } from './_floor-session.js';

const app = express();
app.get('/a', (_req, res) => {
  res.send('ok');
});
app.get('/b', async (req, res) => {
  const data = await load(sessionKey(req.headers.cookie));
  res.json({ name: data === undefined ? null : data.name });
});
app.post('/c', async (req, res) => {
  const key = sessionKey(req.headers.cookie);
  const counter = key === undefined ? undefined : await increment(key);
  if (counter === undefined) res.status(401).end();
  else res.json({ counter });
});
app.post('/init', async (_req, res) => {
  res.set('set-cookie', await create()).send('ok');
});
app.get('/counter', async (req, res) => {
  const data = await load(sessionKey(req.headers.cookie));
  res.json({ counter: data === undefined ? null : data.counter });
});
// A store outage or a hopeless conflict (Express 5 routes a rejected handler here): 503.
app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
  if (!res.headersSent) res.status(503).end();
});
const server = app.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
