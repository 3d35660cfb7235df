/**
 * The app of every contender with express-session's API on Express 5 — express-session itself
 * and sessionkit's facade (`sessionkit/express-session`) — so both run the very same handlers
 * (`req.session.counter++`, the routes of `_env.ts`) and only the middleware differs. The
 * middleware gets express-session's recommended options (`resave: false`,
 * `saveUninitialized: false`, a real secret; plain http, so `secure: false`).
 */

import express, { type Express, type RequestHandler } from 'express';
import { portOf, SECRET, serve } from './_env.js';

declare module 'express-session' {
  interface SessionData {
    name: string;
    counter: number;
  }
}

/** The options every express-session–API contender passes (besides its store). */
export const SESSION_OPTIONS = {
  secret: SECRET,
  resave: false,
  saveUninitialized: false,
  cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
} as const;

/** Serve the bench routes behind `middleware` and announce the port to the harness. */
export function serveExpressSessionApp(middleware: RequestHandler): void {
  const app = expressSessionApp(middleware);
  const server = app.listen(0, '127.0.0.1', () => serve(server, portOf(server)));
}

/** The bench routes behind `middleware`, not listening yet (also used by `bench/facade-measure.ts`). */
export function expressSessionApp(middleware: RequestHandler): Express {
  const app = express();
  app.use(middleware);
  app.get('/a', (_req, res) => {
    res.send('ok');
  });
  app.get('/b', (req, res) => {
    res.json({ name: req.session.name });
  });
  app.post('/c', (req, res) => {
    req.session.counter = (req.session.counter ?? 0) + 1;
    res.json({ counter: req.session.counter });
  });
  app.post('/init', (req, res) => {
    req.session.name = 'bench';
    req.session.counter = 0;
    res.send('ok');
  });
  app.get('/counter', (req, res) => {
    res.json({ counter: req.session.counter });
  });
  return app;
}
