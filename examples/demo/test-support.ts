/**
 * Helpers for the demo's tests: stores from the store registry (`test/support/backends.ts`), a
 * started demo on port 0, and a tiny HTTP client with a one-cookie jar. Counting and jitter: the
 * probe store of `test/support`.
 */

import { type Backend, type BackendKind, openBackend } from '../../test/support/backends.js';
import { createDemoApp, type DemoApp, type DemoAppOptions, listen } from './app.js';

/** The stores the demo runs on. */
export type StoreKind = Extract<BackendKind, 'memory' | 'file' | 'sqlite'>;

/** A fresh, isolated store and its cleanup. */
export type TestStore = Pick<Backend, 'store' | 'cleanup'>;

/** A fresh store of `kind` from the store registry (file and sqlite in a new temp directory). */
export function createTestStore(kind: StoreKind, now?: () => number): Promise<TestStore> {
  return openBackend(kind, now === undefined ? {} : { now });
}

/** A demo app listening on a free port. */
export interface StartedDemo extends DemoApp {
  url: string;
  close(): Promise<void>;
}

/** Start the demo on 127.0.0.1, port 0. Unexpected server errors fail loudly via `logError`. */
export async function startDemo(options: DemoAppOptions): Promise<StartedDemo> {
  const demo = createDemoApp(options);
  const running = await listen(demo.app, 0);
  return { ...demo, url: running.url, close: running.close };
}

/** A response, read fully. */
export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  setCookies: string[];
  /** The parsed JSON body (throws when the body is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

/** What to send. */
export interface RequestOptions {
  /** Send as `application/x-www-form-urlencoded`. */
  form?: Record<string, string>;
  /** Send as JSON. */
  json?: unknown;
  headers?: Record<string, string>;
  /**
   * Send the client's CSRF token with an unsafe method (as the `_csrf` field of a form, else
   * in `x-csrf-token`), fetching one from `GET /api/session` first when the client has none.
   * `false` sends none (for CSRF tests).
   * @default true
   */
  csrf?: boolean;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * One "browser": remembers the session cookie it is given (name `sid`) and the CSRF token of
 * that session, never follows redirects, and sends a fixed user agent.
 */
export class Client {
  cookie: string | undefined;
  /** The CSRF token last handed out for the current cookie (dropped when the cookie changes). */
  csrfToken: string | undefined;
  readonly #base: string;
  readonly #userAgent: string;
  #fetching: Promise<string> | undefined;

  constructor(base: string, userAgent = 'node-test-client') {
    this.#base = base;
    this.#userAgent = userAgent;
  }

  /** `GET path` with `Accept: application/json`, parsed. */
  async getJson<T = Record<string, unknown>>(path: string): Promise<T> {
    const res = await this.request('GET', path, { headers: { accept: 'application/json' } });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
    return res.json<T>();
  }

  /** The CSRF token of the current session: the one held, else `GET /api/session`'s. */
  async token(): Promise<string> {
    if (this.csrfToken !== undefined) return this.csrfToken;
    this.#fetching ??= this.getJson<{ csrfToken: string }>('/api/session').then(
      (state) => state.csrfToken,
    );
    try {
      return await this.#fetching;
    } finally {
      this.#fetching = undefined;
    }
  }

  /** Send a request with the jar's cookie (and CSRF token); store any session cookie set. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...options.headers };
    let form = options.form;
    if (!SAFE.has(method) && options.csrf !== false) {
      const token = await this.token();
      if (form !== undefined) form = { _csrf: token, ...form };
      else headers['x-csrf-token'] ??= token;
    }
    if (this.cookie !== undefined && headers.cookie === undefined) headers.cookie = this.cookie;
    let body: string | undefined;
    if (form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      headers.accept ??= 'application/json';
      body = JSON.stringify(options.json);
    }
    const res = await fetch(this.#base + path, {
      method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    const setCookies = res.headers.getSetCookie();
    // Only a response for the jar's own cookie updates the jar (not one sent with another cookie).
    const own = options.headers?.cookie === undefined;
    for (const line of own ? setCookies : []) {
      const pair = line.split(';', 1)[0] ?? '';
      if (!pair.startsWith('sid=')) continue;
      const expired = pair === 'sid=' || /;\s*max-age=0\b/i.test(line);
      const next = expired ? undefined : pair;
      // A new session (login, logout, regenerate) has a new CSRF secret.
      if (next !== this.cookie) this.csrfToken = undefined;
      this.cookie = next;
    }
    if (own && /json/.test(res.headers.get('content-type') ?? '') && text !== '') {
      const token = (JSON.parse(text) as { csrfToken?: unknown } | null)?.csrfToken;
      if (typeof token === 'string') this.csrfToken = token;
    }
    return {
      status: res.status,
      headers: res.headers,
      text,
      setCookies,
      json: <T>() => JSON.parse(text) as T,
    };
  }
}
