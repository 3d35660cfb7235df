/**
 * `sessionkit/adapters/fastify` — sessions for Fastify 5, as a plugin.
 *
 * ```ts
 * await app.register(sessionPlugin, { manager });
 * app.post('/api/counter', async (request) => {
 *   const session = getSession(request, manager); // typed Session<AppData, FlashData>
 *   return { counter: await session.update('counter', (n = 0) => n + 1) };
 * });
 * ```
 *
 * The plugin is registered the way `fastify-plugin` does it (without depending on it): it skips
 * encapsulation, so `request.session` and the hooks reach every route of the instance it is
 * registered on, including routes of sibling and child plugins. The session is started on first
 * use (`request.session` or {@link getSession}; no I/O until it is read) and committed in
 * `onSend`, before Fastify writes the first header byte; a request that never uses it costs one
 * small object in `onRequest` and one check in `onSend`. Replies that bypass `onSend`
 * (`reply.hijack()`, writes to `reply.raw`) are not committed; a used session's scope is released
 * when the response closes (finished, hijacked or aborted), so lock mode never leaks a lock.
 *
 * Errors: a failing commit is thrown into Fastify's error flow, so the app's error handler runs;
 * the error carries `statusCode` (409/503/500) and `expose: false`. A request whose handler threw
 * (any error that reached Fastify's error flow) commits nothing: its writes are discarded and any
 * lock is released; `await session.commit()` first to keep them. A response for a session
 * error always gets `Cache-Control: no-store` (and `Retry-After` on 503), and a body that would
 * carry the error's message (Fastify's default serialization) is replaced by a generic one.
 */

import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { isSessionError, StateError } from '../core/errors.js';
import type { ConcurrencyMode, SessionManager, SessionScope } from '../core/manager.js';
import type { Session } from '../core/session.js';
import type { DefaultData, DefaultFlash } from '../core/types.js';
import { type CsrfOptions, createCsrfProtection } from '../csrf/index.js';
import { renderError } from './_errors.js';
import { appendVary } from './_web.js';

/** Options of {@link sessionPlugin}. */
export interface FastifySessionOptions<
  D extends object = DefaultData,
  F extends object = DefaultFlash,
> {
  /** The session manager (from `createSessionManager`). Required. */
  manager: SessionManager<D, F>;
  /**
   * Concurrency mode for requests through this plugin (overrides the manager's).
   * @default the manager's `concurrency`
   */
  concurrency?: ConcurrencyMode;
}

/**
 * The plugin's type: a callback-style Fastify plugin carrying fastify-plugin's metadata symbols.
 * The client IP comes from `request.ip`, so Fastify's own `trustProxy` option applies.
 */
// biome-ignore lint/suspicious/noExplicitAny: accepts a manager of any data/flash types
export type FastifySessionPlugin = FastifyPluginCallback<FastifySessionOptions<any, any>> & {
  readonly [key: symbol]: unknown;
};

/**
 * One request's session state: a class, so every request's state shares one hidden class. Made in
 * `onRequest` with nothing but the request and reply; the scope is begun on first use.
 */
class RequestState {
  /** `open` until the commit was started or the scope released. */
  phase: 'open' | 'done' = 'open';
  /** An error went through Fastify's error flow for this request. */
  errored = false;
  /** The session error that ends this request, if any. */
  failure: unknown = undefined;
  /** The session's scope, once the session was used. */
  scope: SessionScope<object, object> | null = null;

  constructor(
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly manager: SessionManager<object, object>,
    readonly concurrency: ConcurrencyMode | undefined,
  ) {}

  /**
   * The request's session: begins the scope on first use (parsing only, no I/O). A session first
   * used after the reply was sent (an app's `onResponse` hook reading it) still reads; nothing it
   * writes is committed.
   */
  session(): Session<object, object> {
    if (this.scope !== null) return this.scope.session;
    const { request } = this;
    this.scope = this.manager.begin({
      cookie: request.headers.cookie,
      header: (name) => request.raw.headersDistinct[name],
      ip: () => request.ip,
      userAgent: request.headers['user-agent'],
      concurrency: this.concurrency,
    });
    // A reply that bypasses onSend (hijacked, raw writes) or a client that went away: release
    // the scope without committing when the response closes, so lock mode never leaks a lock.
    this.reply.raw.once('close', () => this.release());
    return this.scope.session;
  }

  /** Abort the scope unless its commit started (or it was released) already. */
  release(): void {
    if (this.phase !== 'open') return;
    this.phase = 'done';
    void this.scope?.abort().catch(() => undefined);
  }
}

export type { CsrfOptions } from '../csrf/index.js';

/**
 * Where a request's state lives: a symbol-keyed request decorator (`null` until `onRequest`), so
 * every request object has the slot from the start and nothing goes into a WeakMap.
 */
const STATE: unique symbol = Symbol('sessionkit.state');

/** A request's state, or `undefined` when the plugin does not cover it. */
function stateOf(request: FastifyRequest): RequestState | undefined {
  return (
    (request as unknown as Record<typeof STATE, RequestState | null | undefined>)[STATE] ??
    undefined
  );
}

function sessionkitPlugin(
  fastify: FastifyInstance,
  // biome-ignore lint/suspicious/noExplicitAny: see FastifySessionPlugin
  options: FastifySessionOptions<any, any>,
  done: (error?: Error) => void,
): void {
  const manager = options?.manager as SessionManager<object, object> | undefined;
  if (typeof manager?.begin !== 'function') {
    done(
      new StateError(
        'sessionPlugin needs `{ manager }`: pass the manager from createSessionManager().',
      ),
    );
    return;
  }
  const concurrency = options.concurrency;

  // A stable shape: every request object gets the state slot up front (Fastify decorators);
  // `request.session` is a getter on the request prototype that begins the session on first use.
  // The name is typed `string` so an app's own `declare module 'fastify'` typing does not clash.
  const property: string = 'session';
  fastify.decorateRequest(STATE as unknown as string, null);
  fastify.decorateRequest(property, {
    getter(this: FastifyRequest) {
      const state = stateOf(this);
      return state === undefined ? undefined : state.session();
    },
  });

  fastify.addHook('onRequest', function sessionOnRequest(request, reply, next) {
    // No parsing, no I/O and no crypto here: the session is begun on first use.
    (request as unknown as Record<typeof STATE, RequestState>)[STATE] = new RequestState(
      request,
      reply,
      manager,
      concurrency,
    );
    next();
  });

  fastify.addHook('onError', function sessionOnError(request, _reply, error, next) {
    const state = stateOf(request);
    if (state !== undefined) {
      state.errored = true;
      if (isSessionError(error)) state.failure ??= error;
    }
    next();
  });

  // A callback hook, not an async one: an untouched session answers at once, with no promise
  // and no async hop; only a used session (or a failure to render) waits for the commit.
  fastify.addHook('onSend', function sessionOnSend(request, reply, payload, next) {
    const state = stateOf(request);
    if (state === undefined) {
      next(null, payload);
      return;
    }
    if (state.phase === 'open' && !state.errored && !(state.scope?.touched ?? false)) {
      // Never used, or end() would do nothing and return no headers (SessionScope.touched).
      state.phase = 'done';
      next(null, payload);
      return;
    }
    finish(request, reply, payload, state).then(
      (body) => next(null, body),
      (error: Error) => next(error),
    );
  });

  done();
}

/** onSend for a used session: commit it (or abort it after an error), then render a failure. */
async function finish(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  state: RequestState,
): Promise<unknown> {
  const { scope } = state;
  if (state.phase === 'open' && scope !== null) {
    state.phase = 'done';
    if (state.errored) {
      // The request failed (a handler threw, or the session itself failed): its intents are
      // incomplete, so nothing is committed — the same rule as the Koa, Hono and fetch adapters.
      await scope.abort().catch(() => undefined);
    } else {
      try {
        const out = await scope.end();
        // Fastify appends to an existing Set-Cookie instead of replacing it.
        if (out.setCookie.length > 0) reply.header('set-cookie', out.setCookie);
        if (out.vary) {
          const vary = reply.getHeader('vary');
          reply.header(
            'vary',
            appendVary(vary === undefined ? undefined : String(vary), out.varyOn),
          );
        }
        // Responses that read or set a session are never stored by shared caches, whatever
        // the handler said.
        if (out.cacheControl !== undefined) reply.header('cache-control', out.cacheControl);
        if (out.clearSiteData !== undefined) reply.header('clear-site-data', out.clearSiteData);
        if (out.token !== undefined) reply.header(out.token[0], out.token[1]);
        return payload;
      } catch (error) {
        // Into Fastify's error flow: onError hooks, then the app's error handler; this hook
        // sees the error response again and makes it generic.
        state.failure = error;
        throw error;
      }
    }
  }
  if (state.failure === undefined) return payload;
  const body =
    typeof payload === 'string'
      ? payload
      : Buffer.isBuffer(payload)
        ? payload.toString('utf8')
        : undefined;
  const message = (state.failure as { message?: unknown }).message;
  // Fastify's default handler serializes the message as JSON: look for it escaped too (a
  // message with a quote or a backslash would otherwise go out as is).
  const leaks =
    typeof message === 'string' &&
    message !== '' &&
    body !== undefined &&
    (body.includes(message) || body.includes(JSON.stringify(message).slice(1, -1)));
  return genericError(request, reply, state.failure, leaks) ?? payload;
}

/**
 * The Fastify plugin. Register it once, on the instance whose routes use sessions (usually the
 * root): `await app.register(sessionPlugin, { manager, concurrency? })`. It decorates
 * `request.session` (typed through your own `declare module 'fastify'`, or use
 * {@link getSession}) and commits in `onSend`. Throws `ERR_SESSION_STATE` at registration without
 * a manager; Fastify refuses a second registration that decorates `session` again.
 */
export const sessionPlugin: FastifySessionPlugin = Object.assign(sessionkitPlugin, {
  // What fastify-plugin sets: no encapsulation, a display name, and the supported Fastify range.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'sessionkit',
  [Symbol.for('plugin-meta')]: { fastify: '5.x', name: 'sessionkit' },
});

/**
 * The typed session of a request handled by {@link sessionPlugin}. Pass the manager to infer its
 * `AppData`/`FlashData` types (and to check the session came from that manager), or give the
 * types explicitly: `getSession<AppData, FlashData>(request)`. Throws `ERR_SESSION_STATE` when
 * the plugin does not cover this request, or when the session belongs to another manager.
 */
export function getSession<D extends object = DefaultData, F extends object = DefaultFlash>(
  request: FastifyRequest,
  manager?: SessionManager<D, F>,
): Session<D, F> {
  const state = stateOf(request);
  if (state === undefined) {
    throw new StateError(
      'No session on this request: register sessionkit’s sessionPlugin on this instance first.',
    );
  }
  if (manager !== undefined && (manager as unknown) !== state.manager) {
    throw new StateError('This request’s session belongs to another session manager.');
  }
  return state.session() as unknown as Session<D, F>;
}

/** Put a generic error response on `reply` (when `replaceBody`), and no-store headers always. */
function genericError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  replaceBody: boolean,
): string | undefined {
  const response = renderError(error, request.headers.accept);
  // An outage or conflict response is never cached; a 503 says when to retry.
  reply.header('cache-control', 'no-store');
  const retry = response.headers['retry-after'];
  if (retry !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', retry);
  if (!replaceBody) return undefined;
  reply.removeHeader('set-cookie');
  reply.code(response.status);
  reply.header('content-type', response.headers['content-type']);
  return response.body;
}

/**
 * Fastify CSRF check (options and rules: `sessionkit/csrf`), as a `preHandler` hook:
 * `app.addHook('preHandler', csrfMiddleware(manager, options))` after registering
 * {@link sessionPlugin}. Unsafe requests (anything but GET, HEAD, OPTIONS) need a valid token,
 * and cross-site ones are refused. The token comes from the `x-csrf-token` header or the `_csrf` field of
 * `request.body` (JSON out of the box; urlencoded and multipart need their content-type parsers,
 * e.g. `@fastify/formbody`, `@fastify/multipart` with `attachFieldsToBody`), never from the URL.
 * A failure throws `CsrfError` (`ERR_SESSION_CSRF`, 403) into Fastify's error flow; the plugin
 * makes the response generic and the route handler never runs. Throws `ERR_SESSION_CONFIG` for
 * invalid options.
 */
export function csrfMiddleware<D extends object = DefaultData, F extends object = DefaultFlash>(
  manager: SessionManager<D, F>,
  options: CsrfOptions = {},
): (request: FastifyRequest) => Promise<void> {
  const csrf = createCsrfProtection(manager, options);
  return async function csrfPreHandler(request) {
    const path = request.url.split('?')[0] ?? '/';
    await csrf.verify(
      {
        method: request.method,
        path,
        headers: (name) => {
          const value = request.headers[name];
          return Array.isArray(value) ? value.join(', ') : value;
        },
        body: request.body,
        scheme: request.protocol === 'https' ? 'https' : 'http',
      },
      getSession(request, manager),
    );
  };
}
