/**
 * Helpers for the express-session facade tests: serve an Express app (5 or 4) on 127.0.0.1 over
 * real HTTP, and a tiny client that keeps one session cookie between requests like a browser.
 */

import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import express4 from 'express4';

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

/** Listen on an ephemeral port of 127.0.0.1. */
export async function serve(app: (req: never, res: never) => void): Promise<Served> {
  const server: Server = await new Promise((resolve) => {
    const s = (
      app as unknown as { listen: (port: number, host: string, cb: () => void) => Server }
    ).listen(0, '127.0.0.1', () => resolve(s));
  });
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
