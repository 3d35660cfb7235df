/**
 * Targets of the attack suite: every adapter × every store, each reachable over real HTTP on
 * 127.0.0.1:0. The adapters are the adapter registry's (`../support/adapters.ts`: the neutral
 * route table mapped onto each framework, with its `csrfMiddleware` and the app's own generic
 * error page); the stores are the store registry's (`../support/backends.ts`: a factory per kind
 * plus what to inspect — the SQL text it ran, the paths it touched, the keys it used). The attack
 * files only speak HTTP to a {@link Harness} and inspect the store.
 *
 * The only stand-in is the probe store (`../support/probe-store.ts`): a store wrapper that records
 * every call and injects faults (throw, hang) on demand — SECURITY.md §20 cannot be tested
 * against a healthy backend.
 */

import net from 'node:net';
import { expect, onTestFinished } from 'vitest';
import { isSessionError } from '../../src/core/errors.js';
import { createKeyRing, generateSecret, hashSessionId } from '../../src/core/keys.js';
import type {
  SessionEvent,
  SessionManager,
  SessionManagerOptions,
} from '../../src/core/manager.js';
import type { Session } from '../../src/core/session.js';
import type { SessionStore } from '../../src/core/store.js';
import type { CsrfOptions } from '../../src/csrf/index.js';
import {
  cookiesNamed,
  type ParsedCookie,
  type Reply,
  type RouteInput,
  type RouteResult,
  type Routes,
} from '../adapters/contract.js';
import { ADAPTERS, type AdapterTarget } from '../support/adapters.js';
import { type Backend, type BackendKind, openBackend } from '../support/backends.js';
import { testManager } from '../support/manager.js';
import { type ProbeStore, probeStore } from '../support/probe-store.js';

export type { ParsedCookie, Reply };

// ---------------------------------------------------------------------------------------------
// Adapters

/** Every adapter the suite attacks: the adapter registry's (`../support/adapters.ts`). */
export { ADAPTERS, type AdapterTarget };

/** The adapters that have a CSRF middleware. */
export const CSRF_ADAPTERS: readonly AdapterTarget[] = ADAPTERS.filter((a) => a.csrf);

// ---------------------------------------------------------------------------------------------
// Stores

/** A store under attack plus what can be inspected of its backend (see {@link Backend}). */
export type StoreHandle = Pick<Backend, 'store' | 'addresses' | 'escaped' | 'dump' | 'secrets'> & {
  close(): Promise<void>;
};

/** One store kind under attack. */
export interface StoreTarget {
  name: string;
  /** A fresh, isolated store on the given clock (ms). */
  create(now: () => number): Promise<StoreHandle>;
}

/** The kinds the suite attacks, in {@link matrix} order (tiered is two of them composed). */
const ATTACKED: readonly BackendKind[] = ['memory', 'file', 'sqlite', 'redis', 'postgres', 'mysql'];

/**
 * Every store the suite attacks: the store registry's (`../support/backends.ts`), with clients
 * that record every SQL text and Redis key the store sends. Add later stores there.
 */
export const STORES: readonly StoreTarget[] = ATTACKED.map((name) => ({
  name,
  async create(now) {
    const { cleanup, ...backend } = await openBackend(name, { now, record: true });
    return { ...backend, close: cleanup };
  },
}));

/**
 * Why each store cannot run here (server unreachable), checked once. Under `CI=true` nothing is
 * skipped: an unreachable server makes its tests fail.
 */
const UNAVAILABLE = new Map<string, string>();
for (const target of STORES) {
  try {
    const handle = await target.create(Date.now);
    await handle.close();
  } catch (error) {
    UNAVAILABLE.set(target.name, `${target.name} unreachable: ${(error as Error).message}`);
  }
}

/**
 * The adapter × store pairs a file attacks: every adapter on the memory store, and every other
 * store under two adapters — node, plus one more in rotation (file → Express, SQLite → Hono,
 * Redis → fetch, PostgreSQL → Fastify, MySQL → Koa) — so every adapter meets a persistent store
 * and every store meets two adapters, while the suite stays under a minute on two cores.
 */
export function matrix(file: string): [AdapterTarget, StoreTarget][] {
  const out: [AdapterTarget, StoreTarget][] = [];
  for (const store of storesToRun(file)) {
    const index = STORES.indexOf(store);
    const rotated = ADAPTERS[1 + ((index - 1 + ADAPTERS.length - 1) % (ADAPTERS.length - 1))];
    for (const adapter of ADAPTERS) {
      if (index === 0 || adapter === ADAPTERS[0] || adapter === rotated) out.push([adapter, store]);
    }
  }
  return out;
}

/**
 * The stores to run: all of them under `CI=true`; otherwise the reachable ones, with a visible
 * warning naming each skipped store and why.
 */
export function storesToRun(file: string): StoreTarget[] {
  if (process.env.CI === 'true') return [...STORES];
  for (const [name, reason] of UNAVAILABLE) {
    console.warn(`[${file}] skipping the ${name} store — ${reason}`);
  }
  return STORES.filter((t) => !UNAVAILABLE.has(t.name));
}

// ---------------------------------------------------------------------------------------------
// The application under attack

/** Rendezvous points for forcing interleavings (in-flight writes against logout). */
export interface Gates {
  /** Resolved by `POST /slow-set` once it has loaded its session. */
  loaded: Promise<void>;
  /** Let `POST /slow-set` write. */
  release(): void;
}

/** How many times the CSRF-protected handler ran. */
export interface Counters {
  actions: number;
}

function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function bodyOf(input: RouteInput): Record<string, unknown> {
  return typeof input.body === 'object' && input.body !== null
    ? (input.body as Record<string, unknown>)
    : {};
}

/** A route that reports a refused write as 400 with the error code (the app's choice). */
async function refusing(fn: () => void | Promise<void>): Promise<RouteResult> {
  try {
    await fn();
    return { json: { ok: true } };
  } catch (error) {
    if (isSessionError(error, 'ERR_SESSION_DATA'))
      return { status: 400, json: { error: error.code } };
    throw error;
  }
}

/** The routes every target serves. */
export function securityRoutes(
  manager: SessionManager,
  counters: Counters,
  slow: { loaded: () => void; released: Promise<void> },
): Routes {
  const userOf = async (session: Session): Promise<string | null> => (await session.meta()).userId;
  return {
    'GET /untouched': async () => ({ json: { ok: true } }),
    'GET /whoami': async (session) => ({
      json: { data: await session.all(), userId: await userOf(session), flagged: session.flagged },
    }),
    'POST /set': async (session, input) =>
      refusing(() => {
        const values = bodyOf(input).values;
        for (const [k, v] of Object.entries((values ?? {}) as object)) session.set(k, v);
      }),
    'POST /set-path': async (session, input) =>
      refusing(() => {
        const { path, value } = bodyOf(input);
        session.set(String(path), value);
      }),
    'POST /merge': async (session, input) =>
      refusing(() => session.merge(bodyOf(input).patch as Record<string, unknown>)),
    'POST /big': async (session, input) => {
      session.set('blob', 'x'.repeat(Number(bodyOf(input).bytes)));
      return { json: { ok: true } };
    },
    'POST /login': async (session, input) => {
      const { userId = 'alice', persistent } = bodyOf(input);
      session.login(String(userId), persistent === undefined ? {} : { persistent: !!persistent });
      return { json: { ok: true } };
    },
    // Degraded mode: a page that can be served without its session, on an outage.
    'GET /whoami-degraded': async (session) => {
      try {
        const data = await session.all();
        return { json: { data, userId: await userOf(session), degraded: false } };
      } catch (error) {
        session.degrade(error); // rethrows anything but an outage
        return { json: { data: {}, userId: null, degraded: true } };
      }
    },
    'POST /login-degraded': async (session, input) => {
      session.login(String(bodyOf(input).userId ?? 'alice'));
      try {
        await session.commit();
        return { json: { degraded: false } };
      } catch (error) {
        session.degrade(error);
        return { status: 202, json: { degraded: true } };
      }
    },
    'POST /regenerate': async (session) => {
      session.regenerate();
      return { json: { ok: true } };
    },
    'POST /logout': async (session) => {
      session.logout();
      return { json: { ok: true } };
    },
    'POST /logout-everywhere': async (session) => {
      const userId = await userOf(session);
      if (userId === null) return { status: 401, json: { error: 'anonymous' } };
      const count = await manager.revokeAll(userId);
      return { json: { count } };
    },
    'POST /revoke': async (session, input) => {
      const userId = await userOf(session);
      if (userId === null) return { status: 401, json: { error: 'anonymous' } };
      return {
        json: { revoked: await manager.revokeSession(userId, String(bodyOf(input).handle)) },
      };
    },
    'POST /slow-set': async (session) => {
      await session.load();
      slow.loaded();
      await slow.released;
      session.set('late', true);
      return { json: { ok: true } };
    },
    'POST /slow-increment': async (session) => {
      const n = ((await session.get('n')) as number | undefined) ?? 0;
      slow.loaded();
      await slow.released;
      session.set('n', n + 1);
      return { json: { n: n + 1 } };
    },
    'POST /increment': async (session) => ({
      json: { n: await session.update('n', (n) => ((n as number | undefined) ?? 0) + 1) },
    }),
    'GET /csrf-token': async (session) => ({ json: { token: await session.csrfToken() } }),
    'POST /action': async (session) => {
      counters.actions += 1;
      session.set('acted', counters.actions);
      return { json: { ok: true } };
    },
    'PUT /action': async () => {
      counters.actions += 1;
      return { json: { ok: true } };
    },
    'DELETE /action': async () => {
      counters.actions += 1;
      return { json: { ok: true } };
    },
    'PATCH /action': async () => {
      counters.actions += 1;
      return { json: { ok: true } };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Harness

/** A controllable clock shared by the manager and the store. */
export interface Clock {
  now(): number;
  advance(ms: number): void;
}

/** A clock that starts now and moves only by `advance`. */
export function newClock(): Clock {
  let t = Date.now();
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

/**
 * A fresh `storeTarget` store on a new clock, wrapped in the probe store — for a store the
 * manager reaches through another (a sealed cookie's revocation store, a hybrid's server side),
 * to pass to {@link start} as `backend` and `clock`. Closed when the test ends.
 */
export async function probedBackend(
  storeTarget: StoreTarget,
): Promise<{ clock: Clock; backend: StoreHandle; probe: ProbeStore }> {
  const clock = newClock();
  const backend = await storeTarget.create(clock.now);
  onTestFinished(() => backend.close());
  return { clock, backend, probe: probeStore(backend.store) };
}

/** Options of {@link start}. */
export interface StartOptions {
  /** Extra manager options (default: secure cookie defaults, one fresh secret). */
  manager?: Partial<SessionManagerOptions>;
  /** Install the adapter's CSRF middleware. */
  csrf?: CsrfOptions;
  /** Reuse the backend of an earlier harness (another app, or the same app after a restart). */
  backend?: StoreHandle;
  /** Shared clock (with `backend`). */
  clock?: Clock;
}

/** Request options of {@link Harness.req}. */
export interface RequestOptions {
  cookie?: string | undefined;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is, with `contentType`. */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A running target: one adapter, one store, one manager, observed from outside. */
export interface Harness {
  url: string;
  manager: SessionManager;
  /** The wrapped store the manager uses (record calls, inject faults). */
  probe: ProbeStore;
  /** The unwrapped store, for planting and reading records directly. */
  raw: SessionStore;
  backend: StoreHandle;
  clock: Clock;
  secrets: string[];
  /** Every event the manager emitted. */
  events: SessionEvent[];
  /** Every response body seen, for leak scans. */
  bodies: string[];
  /** Every raw session id issued to the client (from Set-Cookie). */
  ids: Set<string>;
  counters: Counters;
  gates: Gates;
  req(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** The session cookie lines of a reply. */
  cookies(reply: Reply): ParsedCookie[];
  /** A new session holding `values`; resolves its `Cookie` pair. */
  newSession(values?: Record<string, unknown>): Promise<string>;
  /** A signed-in session of `userId`; resolves its `Cookie` pair. */
  login(userId?: string, cookie?: string): Promise<string>;
  /** Raw id of a `name=id.sig` pair. */
  idOf(pair: string): string;
  /** Store key of a `name=id.sig` pair. */
  keyOf(pair: string): string;
  /** Strings that must never reach a client: secrets, derived keys, raw ids, full store keys. */
  forbidden(): string[];
}

/** Start `adapter` over a fresh `storeTarget` store. Closed automatically when the test ends. */
export async function start(
  adapter: AdapterTarget,
  storeTarget: StoreTarget,
  options: StartOptions = {},
): Promise<Harness> {
  const clock = options.clock ?? newClock();
  const owned = options.backend === undefined;
  const backend = options.backend ?? (await storeTarget.create(clock.now));
  const probe = probeStore(backend.store);
  const secret = generateSecret();
  const manager = testManager({
    store: probe,
    secrets: [secret],
    cookie: {}, // the library's defaults: Secure, __Host- prefix
    now: clock.now,
    ...options.manager,
  });
  const { events } = manager;
  const secrets = [secret, ...backend.secrets];
  const configured = options.manager?.secrets;
  if (configured !== undefined) {
    const list = Array.isArray(configured) ? configured : [configured];
    for (const entry of list as unknown[]) {
      const s =
        typeof entry === 'object' && entry !== null && 'secret' in entry ? entry.secret : entry;
      if (typeof s === 'string') secrets.push(s);
    }
  }
  const counters: Counters = { actions: 0 };
  const loaded = gate();
  const released = gate();
  const routes = securityRoutes(manager, counters, {
    loaded: loaded.resolve,
    released: released.promise,
  });
  const server = await adapter.serve(manager, routes, { csrf: options.csrf, appErrorPage: true });
  onTestFinished(async () => {
    released.resolve();
    await server.close();
    if (owned) await backend.close();
  });
  const bodies: string[] = [];
  const ids = new Set<string>();
  const name = manager.cookieName;
  const h: Harness = {
    url: server.url,
    manager,
    probe,
    raw: backend.store,
    backend,
    clock,
    secrets,
    events,
    bodies,
    ids,
    counters,
    gates: { loaded: loaded.promise, release: released.resolve },
    async req(method, path, opts = {}) {
      const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
      if (opts.cookie !== undefined) headers.cookie = opts.cookie;
      let body: string | undefined;
      if (opts.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.json);
      } else if (opts.raw !== undefined) {
        if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
        body = opts.raw;
      }
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers,
        body: body ?? null,
        redirect: 'manual',
      });
      const text = await res.text();
      bodies.push(text);
      let json: unknown;
      if (res.headers.get('content-type')?.includes('json')) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      const reply: Reply = {
        status: res.status,
        headers: res.headers,
        setCookies: res.headers.getSetCookie(),
        text,
        json,
      };
      for (const c of cookiesNamed(reply, name)) if (c.value !== '') ids.add(c.value.slice(0, 43));
      return reply;
    },
    cookies: (reply) => cookiesNamed(reply, name),
    async newSession(values = { seeded: true }) {
      const reply = await h.req('POST', '/set', { json: { values } });
      const [cookie] = h.cookies(reply);
      if (reply.status !== 200 || cookie === undefined) {
        throw new Error(`could not create a session: ${reply.status}`);
      }
      return cookie.pair;
    },
    async login(userId = 'alice', cookie) {
      const reply = await h.req('POST', '/login', { cookie, json: { userId } });
      const [set] = h.cookies(reply);
      if (reply.status !== 200 || set === undefined)
        throw new Error(`login failed: ${reply.status}`);
      return set.pair;
    },
    idOf: (pair) => pair.slice(pair.indexOf('=') + 1, pair.indexOf('=') + 44),
    keyOf: (pair) => hashSessionId(h.idOf(pair)),
    forbidden() {
      const out = [...secrets];
      for (const s of secrets) {
        try {
          const ring = createKeyRing(s);
          for (const purpose of [
            'cookie-sign',
            'payload-encrypt',
            'csrf',
            'fingerprint',
          ] as const) {
            const key = Buffer.from(ring.primary(purpose));
            out.push(key.toString('base64url'), key.toString('hex'), key.toString('base64'));
          }
        } catch {
          // a store secret such as a directory is not a key
        }
      }
      for (const id of ids) out.push(id, hashSessionId(id));
      return out;
    },
  };
  return h;
}

/** Signs of a stack trace or an internal error class in client-facing text. */
export const STACK_MARKERS: readonly string[] = [
  '\n    at ',
  '.ts:',
  '.js:',
  'node_modules',
  'StoreError',
  'ConflictError',
  'ECONNREFUSED',
  'hunter2',
];

/**
 * Check that `reply` is a generic failure with `status`: `Cache-Control: no-store`, no
 * `Set-Cookie` (the client keeps its cookie), a short body without a stack or a secret of `h`.
 */
export function expectGenericFailure(h: Harness, reply: Reply, status: number): void {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('cache-control')).toBe('no-store');
  expect(reply.setCookies).toEqual([]);
  expect(reply.text.length).toBeLessThan(100);
  for (const marker of [...STACK_MARKERS, ...h.forbidden()])
    expect(reply.text).not.toContain(marker);
}

/**
 * Send a raw HTTP/1.1 request over a socket (for bytes `fetch` refuses to send: CR, LF, NUL,
 * oversized headers). Resolves the status code (0 when the server closed without answering)
 * and the whole response text.
 */
export function rawRequest(
  url: string,
  head: Buffer | string,
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish();
      else reject(error);
    });
    socket.on('end', finish);
    socket.on('close', finish);
    let done = false;
    function finish(): void {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match === null ? 0 : Number(match[1]), text });
    }
    socket.end(head);
  });
}

/** Replace the character at `index` of `text` by a different base64url character. */
export function flip(text: string, index: number): string {
  const c = text[index]!;
  return `${text.slice(0, index)}${c === 'A' ? 'B' : 'A'}${text.slice(index + 1)}`;
}

/**
 * The positions of a sealed token (`<kid>.<iv>.<body>`) worth flipping: the `leading` ones (in
 * the key id), every IV character, `bodySamples` spread evenly over the body, and the last 22
 * characters (the 16-byte tag).
 */
export function sealedFlipPositions(
  token: string,
  bodySamples: number,
  leading: readonly number[] = [0],
): Set<number> {
  const [kid, iv, body] = token.split('.') as [string, string, string];
  const ivStart = kid.length + 1;
  const bodyStart = ivStart + iv.length + 1;
  return new Set<number>([
    ...leading,
    ...Array.from({ length: iv.length }, (_, i) => ivStart + i),
    ...Array.from(
      { length: bodySamples },
      (_, i) => bodyStart + Math.floor((i * (body.length - 1)) / (bodySamples - 1)),
    ),
    ...Array.from({ length: 22 }, (_, i) => token.length - 22 + i),
  ]);
}
