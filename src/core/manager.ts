/**
 * `sessionkit` — the session manager: the face of the core, shared by every adapter.
 *
 * Adapters hand the manager a neutral request (`Cookie` header, client ip and user agent) and
 * get back a session plus an `end()` that commits and returns what to put on the response
 * (`Set-Cookie` values, `Vary: Cookie`, `Cache-Control`). The work happens in named parts over one
 * per-manager context: `lifecycle.ts` (load → commit → end), `records.ts`, `locks.ts`,
 * `users.ts`, `ops.ts`, with every store call through the gateway in `gateway.ts`.
 */

import { readSealedCookie } from './chunks.js';
import { type Context, createContext, emit } from './context.js';
import { readCookie } from './cookie.js';
import { hybridCandidates } from './hybrid.js';
import type { SessionResponse } from './lifecycle.js';
import * as lifecycle from './lifecycle.js';
import { releaseLock } from './locks.js';
import type { ConcurrencyMode, SessionEvent, SessionManagerOptions } from './options.js';
import { type ResealOptions, type ResealResult, reseal } from './records.js';
import { checkMode, resolveOptions } from './resolve-options.js';
import { listSealed, revokeAllSealed, revokeSealed } from './revocation.js';
import type { Session } from './session.js';
import { SessionImpl } from './session-impl.js';
import { createSessionState, type SessionState } from './state.js';
import { createSealedState } from './stateless.js';
import type { SessionStore } from './store.js';
import { headerToken } from './transport.js';
import type { DefaultData, DefaultFlash } from './types.js';
import { listSessions, revokeAll, revokeSession, type SessionInfo } from './users.js';

export type { BruteForceOptions } from './guesses.js';
export type { SessionResponse } from './lifecycle.js';
export type {
  ConcurrencyMode,
  FingerprintOptions,
  IpPrefixOptions,
  LockOptions,
  SessionEvent,
  SessionManagerOptions,
} from './options.js';
export type { ResealOptions, ResealResult } from './records.js';
export type { HeaderTransportOptions, TokenHeader, TransportOption } from './transport.js';
export type { SessionInfo } from './users.js';

/** What an adapter knows about the request. */
export interface SessionRequest {
  /** The `Cookie` header (string or array of header lines). */
  cookie?: string | readonly string[] | undefined;
  /**
   * Client IP as the adapter determined it (honouring its trust-proxy setting) — or a function
   * returning it, called only if the session needs it (creation, login, fingerprint), so an
   * untouched request never pays for parsing forwarding headers.
   */
  ip?: string | (() => string | undefined) | undefined;
  /** The `User-Agent` header. */
  userAgent?: string | undefined;
  /** Concurrency mode for this request (per-route override). */
  concurrency?: ConcurrencyMode | undefined;
  /**
   * A request header by lower-case name, as received: one string, or one entry per header line
   * where the framework keeps them apart (node's `headersDistinct`). Read only with a header
   * transport, for its one header (`authorization` or the named one).
   */
  header?: ((name: string) => string | readonly string[] | undefined) | undefined;
}

/** One request's session plus its end-of-request hook, for adapters. */
export interface SessionScope<D extends object, F extends object> {
  readonly session: Session<D, F>;
  /**
   * Commit and compute the response headers. Call it before the first header byte. Rejects with
   * a `SessionError` (409 conflict, 503 store outage or lock timeout, 500 misuse); the adapter
   * then sends an error response without the session's cookies. Releases any lock.
   */
  end(): Promise<SessionResponse>;
  /** Give up without committing (releases any lock). */
  abort(): Promise<void>;
  /**
   * `false` while the request has neither read nor written its session (nor destroyed or
   * regenerated it): `end()` would then do nothing and return no headers, so an adapter may send
   * the response at once.
   */
  readonly touched: boolean;
  /**
   * Call `listener` once, synchronously, when the request first reads or writes its session (at
   * once if it already did). Adapters without an async pre-header hook hold the response only
   * from then on, so untouched requests cost nothing.
   */
  onTouch(listener: () => void): void;
}

/** The session manager. */
export interface SessionManager<D extends object = DefaultData, F extends object = DefaultFlash> {
  /** The store in use. */
  readonly store: SessionStore;
  /** Resolved cookie name. */
  readonly cookieName: string;
  /**
   * Where the session token travels (the `transport` option): `'cookie'`, `'bearer'` or
   * `'header'`. The CSRF check applies to the cookie transport only.
   */
  readonly transport: 'cookie' | 'bearer' | 'header';
  /** Start a request's session. No I/O and no crypto happen until the session is used. */
  begin(request: SessionRequest): SessionScope<D, F>;
  /**
   * Live sessions of a user, newest activity first. Needs a store with `listByUser`, or a
   * `cookieStore({ revocation })`; rejects with `ConfigError` otherwise.
   */
  listSessions(userId: string, options?: { current?: string | undefined }): Promise<SessionInfo[]>;
  /**
   * Revoke one of `userId`'s sessions. Resolves `false` when the handle is not theirs or gone.
   * Sealed-cookie sessions need `cookieStore({ revocation })` (else `ConfigError`).
   */
  revokeSession(userId: string, handle: string): Promise<boolean>;
  /**
   * Revoke all of a user's sessions except the given handles. Resolves how many went.
   * Sealed-cookie sessions need `cookieStore({ revocation })` (else `ConfigError`).
   */
  revokeAll(userId: string, options?: { except?: readonly string[] }): Promise<number>;
  /**
   * Hand `event` to the `onEvent` listener (errors it throws are swallowed). For integrations
   * that detect events outside the session lifecycle, such as the CSRF check.
   */
  emit(event: SessionEvent): void;
  /**
   * Re-encrypt every stored record with the primary key — run it after adding a new primary
   * secret, before removing the old one — or, with `plaintext: true`, encrypt records written
   * before `encrypt` was turned on. Each record is rewritten with a compare-and-set, so a request
   * committing at the same moment wins (and writes under the primary anyway). Needs `encrypt`
   * and a store with `ids`; throws `ERR_SESSION_CONFIG` otherwise.
   */
  reseal(options?: ResealOptions): Promise<ResealResult>;
}

/**
 * Create a session manager. Validates every option eagerly and throws `ConfigError`
 * (`ERR_SESSION_CONFIG`) naming the option and the fix.
 */
export function createSessionManager<
  D extends object = DefaultData,
  F extends object = DefaultFlash,
>(options: SessionManagerOptions): SessionManager<D, F> {
  const ctx = createContext(resolveOptions(options));
  const { store } = ctx;
  const serverUsers = ctx.sealed === undefined || ctx.sealed.hybrid;
  return {
    store,
    cookieName: ctx.cookie.name,
    transport: ctx.transport.kind,
    begin(request) {
      const requested = request.concurrency;
      const mode = requested === undefined ? ctx.mode : checkMode(requested, store);
      const { transport } = ctx;
      if (transport.kind !== 'cookie') {
        // A header transport reads its one header, strictly; the cookie is never looked at.
        const values = headerToken(transport, request.header?.(transport.requestHeader));
        const state = createSessionState(values, clientOf(request), mode);
        if (ctx.sealed !== undefined) state.sealed = createSealedState(0);
        return new Scope<D, F>(ctx, state);
      }
      if (ctx.sealed !== undefined) {
        // Sealed cookie: collect both shapes now (parsing only); nothing is opened until read.
        const presented = readSealedCookie(request.cookie, ctx.cookie.name);
        const tokens = ctx.sealed.hybrid ? hybridCandidates(presented) : presented.tokens;
        const state = createSessionState(tokens, clientOf(request), mode);
        state.sealed = createSealedState(presented.presented);
        return new Scope<D, F>(ctx, state);
      }
      const values = readCookie(request.cookie, ctx.cookie.name);
      return new Scope<D, F>(ctx, createSessionState(values, clientOf(request), mode));
    },
    // Sealed-cookie sessions keep their users' sessions in the revocation store (revocation.ts);
    // a hybrid store's signed-in sessions are all server-side.
    listSessions: (userId, opts = {}) =>
      serverUsers ? listSessions(ctx, userId, opts.current) : listSealed(ctx, userId, opts.current),
    revokeSession: (userId, handle) =>
      serverUsers ? revokeSession(ctx, userId, handle) : revokeSealed(ctx, userId, handle),
    revokeAll: (userId, opts = {}) =>
      serverUsers ? revokeAll(ctx, userId, opts.except) : revokeAllSealed(ctx, userId, opts.except),
    reseal: (opts = {}) => reseal(ctx, opts),
    emit: (event) => emit(ctx, event),
  };
}

/** One request's scope: a class rather than a closure bag, since one is made per request. */
class Scope<D extends object, F extends object> implements SessionScope<D, F> {
  readonly session: Session<D, F>;
  readonly #ctx: Context;
  readonly #state: SessionState;

  constructor(ctx: Context, state: SessionState) {
    this.#ctx = ctx;
    this.#state = state;
    this.session = new SessionImpl<D, F>(ctx, state);
  }

  end(): Promise<SessionResponse> {
    return lifecycle.end(this.#ctx, this.#state);
  }

  abort(): Promise<void> {
    return releaseLock(this.#ctx, this.#state);
  }

  get touched(): boolean {
    return this.#state.accessed;
  }

  onTouch(listener: () => void): void {
    if (this.#state.accessed) listener();
    else this.#state.onAccess = listener;
  }
}

/** What the core keeps of `request`'s client: a {@link Client}. @internal */
export function clientOf(request: SessionRequest): SessionState['client'] {
  return new Client(request.ip, clip(request.userAgent));
}

/**
 * What the core keeps of a request's client: one class, so every request's client shares one
 * hidden class (an object literal with a getter made a new one per request). A function address
 * is resolved on first read, once.
 */
export class Client {
  #ip: SessionRequest['ip'] | null;
  #resolved: boolean;

  constructor(
    ip: SessionRequest['ip'],
    readonly userAgent: string | null,
  ) {
    this.#ip = ip ?? null;
    this.#resolved = typeof ip !== 'function';
  }

  get ip(): string | null {
    if (!this.#resolved) {
      this.#ip = (this.#ip as () => string | undefined)() ?? null;
      this.#resolved = true;
    }
    return this.#ip as string | null;
  }
}

function clip(userAgent: string | undefined): string | null {
  return userAgent === undefined ? null : userAgent.slice(0, 512);
}
