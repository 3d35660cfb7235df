/**
 * Helpers for the express-session facade tests: serve an Express app (5 or 4) on 127.0.0.1 over
 * real HTTP, and a tiny client that keeps one session cookie between requests like a browser.
 */

import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import express4 from 'express4';
import session, { type SessionOptions } from '../../src/express-session/index.js';

/** The two Express majors the facade is tested on. */
export const EXPRESSES = [
  ['express 5', express],
  ['express 4', express4],
] as const;

/** An Express app factory (either major). */
export type ExpressFactory = typeof express;

/** A listening server and how to stop it. */
export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Listen on an ephemeral port of 127.0.0.1 (an Express app, a request listener or a server). */
export async function serve(app: ((req: never, res: never) => void) | Server): Promise<Served> {
  const server = app instanceof Server ? app : createServer(app as never);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a request gave back. */
export interface Answer {
  status: number;
  body: string;
  /** Every Set-Cookie header line. */
  setCookie: string[];
  headers: Headers;
}

/** A client holding the cookies it was given (name → value), sent back on every request. */
export class Browser {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Answer> {
    const headers = new Headers(init.headers);
    if (this.jar.size > 0 && !headers.has('cookie')) {
      headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const response = await fetch(this.base + path, { ...init, headers, redirect: 'manual' });
    const setCookie = response.headers.getSetCookie();
    for (const line of setCookie) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      if (/expires=thu, 01 jan 1970/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, pair.slice(eq + 1));
    }
    return {
      status: response.status,
      body: await response.text(),
      setCookie,
      headers: response.headers,
    };
  }
}

/** The raw session id inside a signed cookie value `s%3A<id>.<sig>` (URI-encoded). */
export function idOf(cookieValue: string): string {
  const decoded = decodeURIComponent(cookieValue);
  return decoded.slice(2, decoded.lastIndexOf('.'));
}

/** Our own HMAC-SHA256 signature of `id` under `secret` (base64, no padding), to check the wire format. */
export function signed(id: string, secret: string): string {
  const mac = createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '');
  return encodeURIComponent(`s:${id}.${mac}`);
}

/** A strong test secret (32+ bytes). */
export const SECRET = 'test-secret-that-is-long-enough-0123456789';

/** An object as a handler sees `req`/`req.session`: anything goes, as in express-session apps. */
// biome-ignore lint/suspicious/noExplicitAny: tests poke at req and req.session like JS apps do
export type Loose = { [key: string]: any };

/** A node:http handler run after the facade (the session is on `req`). */
export type Handler = (req: IncomingMessage & Loose, res: ServerResponse) => void;

/**
 * Serve the facade on plain node:http, as express-session's users without Express do: `setup`
 * runs first (to play an upstream middleware), then the facade, then `handler` (default: an
 * empty 200). An error from the facade before the headers answers `status || 500` with the
 * error's message; one after them is recorded in `errors`.
 */
export async function serveFacade(
  middleware: (req: never, res: never, next: (error?: unknown) => void) => void,
  handler: Handler = (_req, res) => res.end(),
  setup?: Handler,
): Promise<Served & { errors: unknown[] }> {
  const errors: unknown[] = [];
  const server = createServer((req, res) => {
    setup?.(req as never, res);
    middleware(req as never, res as never, (error?: unknown) => {
      if (error && !res.headersSent) {
        res.statusCode = (error as { status?: number }).status ?? 500;
        res.end((error as Error).message);
      } else if (error) errors.push(error);
      else handler(req as never, res);
    });
  });
  return { ...(await serve(server)), errors };
}

/** express-session's MemoryStore (the facade's) counting its calls; `setDelay` slows every write. */
export class CountingStore extends session.MemoryStore {
  readonly calls = { get: 0, set: 0, touch: 0, destroy: 0 };
  setDelay = 0;
  override get(sid: string, cb: (error: unknown, value?: unknown) => void): void {
    this.calls.get++;
    super.get(sid, cb);
  }
  override set(sid: string, value: unknown, cb?: (error?: unknown) => void): void {
    this.calls.set++;
    setTimeout(() => super.set(sid, value, cb), this.setDelay);
  }
  override touch(sid: string, value: { cookie: unknown }, cb?: (error?: unknown) => void): void {
    this.calls.touch++;
    super.touch(sid, value, cb);
  }
  override destroy(sid: string, cb?: (error?: unknown) => void): void {
    this.calls.destroy++;
    super.destroy(sid, cb);
  }
  /** The stored record of `sid`, parsed (undefined when there is none). */
  record(sid: string): Loose | undefined {
    const text = this.sessions[sid];
    return text === undefined ? undefined : JSON.parse(text);
  }
}

/** The cookie header a browser would send back for the first Set-Cookie line. */
export function cookieOf(answer: Answer): string {
  return (answer.setCookie[0] ?? '').split(';')[0] as string;
}

/** The session id inside the first Set-Cookie line (undefined when none was set). */
export function sidOf(answer: Answer): string | undefined {
  const pair = cookieOf(answer);
  return pair ? idOf(pair.slice(pair.indexOf('=') + 1)) : undefined;
}

const open: Served[] = [];

/**
 * The facade with `options` (over express-session's test defaults: a one-minute cookie and a
 * 12-byte secret) on node:http via {@link serveFacade}; closed by {@link closeServers}.
 */
export async function facadeServer(
  options: SessionOptions,
  handler?: Handler,
  setup?: Handler,
): Promise<Served & { errors: unknown[]; browser: () => Browser }> {
  const middleware = session({ secret: 'keyboard cat', cookie: { maxAge: 60_000 }, ...options });
  const served = await serveFacade(middleware as never, handler, setup);
  open.push(served);
  return { ...served, browser: () => new Browser(served.url) };
}

/** Close every server {@link facadeServer} opened (call in `afterEach`). */
export async function closeServers(): Promise<void> {
  for (const s of open.splice(0)) await s.close();
}

/** Options of the migration tests: a strong secret, no resave/saveUninitialized, a one-hour cookie. */
export const HOUR_SESSION = {
  secret: SECRET,
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 3_600_000 },
} as const;
