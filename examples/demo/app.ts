/**
 * The sessionkit demo app: server-rendered pages and a JSON API over the same sessions
 * (routes: PRODUCT.md "The demo app"). `server.ts` runs it; tests start it on port 0.
 *
 * Every state-changing route is a POST behind the CSRF middleware (SECURITY.md §17): forms carry
 * a hidden `_csrf` field, JSON clients send the `csrfToken` of `GET /api/session` (or of the
 * login response) in `x-csrf-token`. Form posts (urlencoded) get a 303 redirect; anything else
 * gets JSON. The counter API and the race button's numbers live in `race.ts`.
 *
 * On sealed cookies (`SESSION_STORE=cookie:…`, {@link storeMode}) the same routes run
 * statelessly: the dashboard says that parallel writes keep only the last response's cookie, and
 * "your devices" answers only with a revocation store (`cookie:<store-url>`).
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import {
  csrfMiddleware,
  type ExpressSessionMiddleware,
  sessionErrorHandler,
  sessionMiddleware,
} from '../../src/adapters/express.js';
import type { SecretsOption } from '../../src/core/keys.js';
import {
  createSessionManager,
  type SessionManager,
  type SessionManagerOptions,
} from '../../src/core/manager.js';
import { COOKIE_STORE, isCookieStore } from '../../src/core/sealed-config.js';
import type { Session } from '../../src/core/session.js';
import type { SessionStore } from '../../src/core/store.js';
import {
  CONTENT_SECURITY_POLICY,
  DEMO_PASSWORD,
  DEMO_USERS,
  dashboardPage,
  devicesPage,
  devicesUnavailablePage,
  loginPage,
  type Messages,
  NO_DEVICES,
  type StoreMode,
} from './pages.js';
import { counterRoutes, createReplayTally } from './race.js';
import { bodyOf, clientErrorStatus, isForm, prefersJson, sendHtml } from './request.js';

/** Session data of the demo. Extra keys are allowed (tests add routes that write them). */
export interface DemoData {
  counter?: number;
  [key: string]: unknown;
}

/** Flash messages of the demo, by kind. */
export interface DemoFlash {
  success: string;
  info: string;
  error: string;
}

/** The demo's session type. */
export type DemoSession = Session<DemoData, DemoFlash>;

/** What {@link DemoAppOptions.extend} receives. */
export interface DemoContext {
  manager: SessionManager<DemoData, DemoFlash>;
  sessions: ExpressSessionMiddleware<DemoData, DemoFlash>;
}

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions {
  /** Where sessions live. The app never closes it. */
  store: SessionStore;
  /** Cookie-signing secrets (32+ random bytes; see `generateSecret()`). */
  secrets: SecretsOption;
  /**
   * Secure cookies (`__Host-sid`, HTTPS only). `false` is the plain-http localhost mode.
   * @default false
   */
  secureCookies?: boolean;
  /** More manager options (timeouts, clock, …) for tests and experiments. */
  manager?: Omit<SessionManagerOptions, 'store' | 'secrets' | 'cookie'>;
  /** Add routes after the demo's own and before the 404/error handlers (used by tests). */
  extend?: (app: Express, context: DemoContext) => void;
  /**
   * Receives unexpected errors (the client only gets a generic 500).
   * @default console.error
   */
  logError?: (error: unknown) => void;
}

/** The demo app plus the session objects behind it. */
export interface DemoApp extends DemoContext {
  app: Express;
  /** How its store keeps sessions. */
  mode: StoreMode;
}

/**
 * How `store` keeps sessions: on the server, or stateless in a sealed cookie (`cookie:` URLs,
 * `cookieStore()`), where "your devices" and revocation need a revocation store.
 */
export function storeMode(store: SessionStore): StoreMode {
  if (!isCookieStore(store)) return { stateless: false, revocable: true };
  return { stateless: true, revocable: store[COOKIE_STORE].revocation };
}

const MAX_FIELD = 256;
const GENERIC_LOGIN_ERROR = 'Invalid username or password.';
const SIGNED_OUT = 'You are signed out.';
const PASSWORD_DIGEST = sha256(DEMO_PASSWORD);

/**
 * Build the demo app over `options.store`. Throws `ConfigError` (`ERR_SESSION_CONFIG`) for weak
 * secrets or invalid manager options. Does not listen: see {@link listen}.
 */
export function createDemoApp(options: DemoAppOptions): DemoApp {
  const tally = createReplayTally();
  const onEvent = options.manager?.onEvent;
  const manager = createSessionManager<DemoData, DemoFlash>({
    ...options.manager,
    onEvent(event) {
      tally.onEvent(event);
      onEvent?.(event);
    },
    store: options.store,
    secrets: options.secrets,
    cookie: { secure: options.secureCookies ?? false },
  });
  const sessions = sessionMiddleware(manager);
  const mode = storeMode(options.store);
  const logError = options.logError ?? ((error: unknown) => console.error(error));
  // Users who signed in since this process started: "Welcome" the first time, then "Welcome back".
  const seen = new Set<string>();
  const app = express();
  app.disable('x-powered-by');

  app.use((_req, res, next) => {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'same-origin');
    next();
  });

  // Mounted before the session middleware: a health check must never cost store I/O.
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });

  app.use(sessions);
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));
  app.use(express.json({ limit: '16kb' }));
  // After the body parsers (the token may be the `_csrf` form field) and before every route,
  // including the ones `extend` adds: no unsafe request reaches a handler without a valid token.
  app.use(csrfMiddleware(manager));

  app.get('/', async (req, res) => {
    const session = sessions.get(req);
    const { userId } = await session.meta();
    if (userId === null) {
      // The anonymous visitor gets a pre-session holding the token of the login form.
      const messages = await takeMessages(session);
      sendHtml(res, 200, loginPage({ messages, csrfToken: await session.csrfToken() }));
      return;
    }
    const messages = await takeMessages(session);
    const counter = (await session.get('counter')) ?? 0;
    const csrfToken = await session.csrfToken();
    sendHtml(res, 200, dashboardPage({ user: userId, counter, messages, csrfToken, mode }));
  });

  app.post('/login', async (req, res) => {
    const session = sessions.get(req);
    const body = bodyOf(req);
    const user = checkCredentials(body.username, body.password);
    if (user === null) {
      // Same status and message whether the user exists or not (no enumeration).
      if (isForm(req)) {
        const username = typeof body.username === 'string' ? body.username.slice(0, 64) : '';
        const csrfToken = await session.csrfToken();
        sendHtml(res, 401, loginPage({ error: GENERIC_LOGIN_ERROR, username, csrfToken }));
      } else {
        res.status(401).json({ error: GENERIC_LOGIN_ERROR });
      }
      return;
    }
    const previous = (await session.meta()).userId;
    // Returning: signed in since this process started, or holding sessions from before a restart.
    const returning =
      previous === user ||
      seen.has(user) ||
      (mode.revocable && (await manager.listSessions(user)).length > 0);
    seen.add(user);
    // A different user signing in on this browser must not inherit the previous user's data.
    session.login(user, previous !== null && previous !== user ? { keep: false } : {});
    session.flash.add('success', `${returning ? 'Welcome back' : 'Welcome'}, ${user}`);
    if (isForm(req)) res.redirect(303, '/');
    // login() rotated the CSRF token: hand JSON clients the new one.
    else res.json({ authenticated: true, user, csrfToken: await session.csrfToken() });
  });

  app.post('/logout', (req, res) => {
    signOut(sessions.get(req), req, res);
  });

  app.get('/api/session', async (req, res) => {
    const session = sessions.get(req);
    const { userId } = await session.meta();
    const counter = (await session.get('counter')) ?? 0;
    const flash = await takeMessages(session);
    const csrfToken = await session.csrfToken();
    res.json({ authenticated: userId !== null, user: userId, counter, flash, csrfToken });
  });

  counterRoutes(app, sessions, tally);

  app.get('/sessions', async (req, res) => {
    const session = sessions.get(req);
    const { userId } = await session.meta();
    if (userId === null) {
      if (prefersJson(req)) res.status(401).json({ error: 'Sign in first.' });
      else res.redirect(303, '/');
      return;
    }
    if (!mode.revocable) {
      // Sealed cookies without a revocation store: nothing on the server lists or ends them.
      if (prefersJson(req)) res.status(501).json({ error: NO_DEVICES });
      else {
        const messages = await takeMessages(session);
        const csrfToken = await session.csrfToken();
        sendHtml(res, 200, devicesUnavailablePage({ user: userId, messages, csrfToken }));
      }
      return;
    }
    const current = await session.handle();
    const list = await manager.listSessions(userId, { current });
    if (prefersJson(req)) {
      res.json({ sessions: list });
      return;
    }
    const messages = await takeMessages(session);
    const csrfToken = await session.csrfToken();
    sendHtml(res, 200, devicesPage({ user: userId, sessions: list, messages, csrfToken }));
  });

  app.post('/sessions/revoke', async (req, res) => {
    const session = sessions.get(req);
    const { userId } = await session.meta();
    const form = isForm(req);
    if (userId === null) {
      if (form) res.redirect(303, '/');
      else res.status(401).json({ error: 'Sign in first.' });
      return;
    }
    if (!mode.revocable) {
      if (form) res.redirect(303, '/sessions');
      else res.status(501).json({ error: NO_DEVICES });
      return;
    }
    const body = bodyOf(req);
    const current = await session.handle();
    let revoked: number;
    if (body.all === '1' || body.all === true || body.all === 1) {
      revoked = await manager.revokeAll(userId, { except: current === undefined ? [] : [current] });
      session.flash.add('info', `Signed out ${revoked} other session${revoked === 1 ? '' : 's'}.`);
    } else if (typeof body.handle === 'string' && body.handle.length <= MAX_FIELD) {
      if (body.handle === current) {
        // Revoking this very session is a logout.
        signOut(session, req, res, { revoked: 1, current: true });
        return;
      }
      revoked = (await manager.revokeSession(userId, body.handle)) ? 1 : 0;
      if (revoked === 1) session.flash.add('info', 'Signed out that session.');
      else session.flash.add('error', 'That session no longer exists.');
    } else {
      if (form) res.redirect(303, '/sessions');
      else res.status(400).json({ error: 'Send `handle` or `all=1`.' });
      return;
    }
    if (form) res.redirect(303, '/sessions');
    else res.json({ revoked });
  });

  options.extend?.(app, { manager, sessions });

  app.use((req, res) => {
    if (prefersJson(req)) res.status(404).json({ error: 'Not Found' });
    else res.status(404).type('text/plain').send('Not Found');
  });
  app.use(sessionErrorHandler());
  // Anything else: a generic answer, never a stack trace (SECURITY.md §24).
  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = clientErrorStatus(error);
    if (status === 500) logError(error);
    const message = STATUS_CODES[status] ?? 'Error';
    if (prefersJson(req) || req.is('application/json') === 'application/json') {
      res.status(status).json({ error: message });
    } else {
      res.status(status).type('text/plain').send(message);
    }
  });

  return { app, manager, sessions, mode };
}

/** A listening demo server. */
export interface RunningServer {
  server: Server;
  /** `http://host:port` */
  url: string;
  /** Stop accepting connections, end idle keep-alive ones, and resolve when closed. */
  close(): Promise<void>;
}

/** Listen on `port` (`0` picks a free one) and `host`. Rejects when the port is taken. */
export function listen(app: Express, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => {
      if (error !== undefined) {
        reject(error);
        return;
      }
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        server,
        url: `http://${shownHost}:${address.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((closeError) => (closeError ? fail(closeError) : done()));
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/**
 * The account name when `username` is a demo account and `password` is right, else `null`.
 * Both checks always run and the password is compared as fixed-length digests in constant time.
 */
export function checkCredentials(username: unknown, password: unknown): string | null {
  if (typeof username !== 'string' || typeof password !== 'string') return null;
  if (username.length > MAX_FIELD || password.length > MAX_FIELD) return null;
  const passwordOk = timingSafeEqual(sha256(password), PASSWORD_DIGEST);
  const user = DEMO_USERS.find((u) => u === username.trim()) ?? null;
  return passwordOk && user !== null ? user : null;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Sign out. Either way the signed-in record is deleted (SECURITY.md §6). A form post gets a new,
 * empty anonymous session carrying the "signed out" flash, and a 303 to `/` that shows it; a JSON
 * client gets `json` and an expired cookie (it has no next page to show a flash on).
 */
function signOut(
  session: DemoSession,
  req: Request,
  res: Response,
  json: Record<string, unknown> = { authenticated: false },
): void {
  if (isForm(req)) {
    session.logout();
    session.flash.add('info', SIGNED_OUT);
    res.redirect(303, '/');
  } else {
    session.destroy();
    res.json(json);
  }
}

async function takeMessages(session: DemoSession): Promise<Messages> {
  return {
    success: await session.flash.messages('success'),
    info: await session.flash.messages('info'),
    error: await session.flash.messages('error'),
  };
}
