/**
 * `sessionkit` — the lifecycle of sealed-cookie sessions (`sessionkit/stores/cookie`): the session
 * travels in the cookie, sealed (`sealed.ts`), split over `name.0`…`name.3` when large
 * (`chunks.ts`). The same steps as the server-side lifecycle, by name — {@link loadSealed},
 * {@link commitSealed}, {@link endSealed} — over the same request state, but the commit produces
 * a cookie instead of a store write, so there is nothing to compare-and-set: parallel responses
 * each carry a cookie and the browser keeps the last one (docs/stateless.md, "Concurrency").
 *
 * Costs: an untouched request parses the `Cookie` header and nothing more; the first read opens
 * the token (one AES-GCM); a read-only request re-seals only once `touchInterval` has passed since
 * the token was sealed (which also moves a token sealed under an older key to the primary).
 */

import {
  type ChunkCookies,
  chunkCookies,
  expiredCookieLines,
  sealedCookieLines,
} from './chunks.js';
import { fingerprintMatches } from './client.js';
import type { SessionPayload } from './codec.js';
import { type Context, emit, emitGuess, short } from './context.js';
import type { ResolvedCookieOptions } from './cookie.js';
import { ConfigError, type KeySize, TooLargeError } from './errors.js';
import type { KeyRing } from './keys.js';
import type { SessionResponse } from './lifecycle.js';
import { applyOps, type SessionOp } from './ops.js';
import { freshPayload, keyFor, keyOf } from './records.js';
import { createSealKeys, type SealKeys, sealSession, unsealSession } from './sealed.js';
import type { SessionState } from './state.js';
import type { SessionStore } from './store.js';

/** Marks a store made by `cookieStore()`; its value is the store's options. */
export const COOKIE_STORE: unique symbol = Symbol.for('sessionkit.cookieStore') as never;

/** Options of `cookieStore()` (`sessionkit/stores/cookie`). */
export interface CookieStoreOptions {
  /**
   * Clock leeway, in ms, when checking a sealed session's `iat`, idle deadline and `exp`: servers'
   * clocks drift. At most 300 000 (5 minutes).
   * @default 5_000
   */
  leeway?: number;
  /**
   * Most cookies one session may span: `1` keeps it in one cookie (`name`), up to `4` allows
   * `name.0`…`name.3`. A session that does not fit fails its commit with `ERR_SESSION_TOO_LARGE`.
   * Four full cookies make a request header of about 16 KiB: raise the server's header limit
   * (Node: `maxHeaderSize`, default 16 KiB for all headers) before allowing them.
   * @default 3
   */
  maxChunks?: number;
}

/** A sealed-cookie store: a `SessionStore` shape the manager recognises. */
export interface CookieStore extends SessionStore {
  readonly [COOKIE_STORE]: Readonly<Required<CookieStoreOptions>>;
}

/** The sealed-cookie settings of a manager, resolved once. @internal */
export interface SealedConfig {
  readonly keys: SealKeys;
  readonly leeway: number;
  readonly maxChunks: number;
  readonly names: ChunkCookies;
}

/** What one request of a sealed-cookie session keeps beside the shared state. @internal */
export interface SealedState {
  /** Cookie names the request presented (see `chunks.ts`): those not rewritten are expired. */
  readonly presented: number;
  /** `iat` of the token the session was opened from (`0`: none). */
  iat: number;
  /** The payload changed outside the op log (a flash consumed, a CSRF secret created). */
  dirty: boolean;
  /** The cookie lines the last commit produced, not yet on a response. */
  lines: string[] | undefined;
}

/** `true` when `store` was made by `cookieStore()`. */
export function isCookieStore(store: SessionStore): store is CookieStore {
  return typeof (store as Partial<CookieStore>)[COOKIE_STORE] === 'object';
}

/**
 * The sealed-cookie settings for `store`, or `undefined` for a server-side store. Derives the
 * `cookie-seal` keys now, once. @internal
 */
export function resolveSealed(
  store: SessionStore,
  keys: KeyRing,
  cookie: ResolvedCookieOptions,
): SealedConfig | undefined {
  if (!isCookieStore(store)) return undefined;
  const { leeway, maxChunks } = store[COOKIE_STORE];
  return { keys: createSealKeys(keys), leeway, maxChunks, names: chunkCookies(cookie) };
}

/** The `ConfigError` for lock mode on sealed cookies. @internal */
export function lockUnavailable(): ConfigError {
  return new ConfigError(
    'Concurrency mode "lock" is not available with sealed-cookie sessions (cookieStore): the session travels in the cookie, so there is nothing to lock — parallel responses each carry a cookie and the last one wins. Use "merge" (the default) or "none"; see docs/stateless.md.',
  );
}

/** The per-request state of a sealed session whose request presented `presented`. @internal */
export function createSealedState(presented: number): SealedState {
  return { presented, iat: 0, dirty: false, lines: undefined };
}

/**
 * Open the first presented token that authenticates and whose claims hold, with `leeway`: issued
 * no later than now, before its idle deadline and `exp`. Every other one is reported
 * (`invalid-cookie`, `expire`) and skipped; with none the session starts fresh. Never rejects.
 * @internal
 */
export async function loadSealed(ctx: Context, s: SessionState): Promise<void> {
  const sealed = ctx.sealed!;
  const st = s.sealed!;
  const t = ctx.now();
  let malformed = false;
  for (const token of s.cookieValues) {
    const opened = unsealSession(sealed.keys, token, ctx.limits);
    if (opened === 'malformed') {
      malformed = true;
      continue;
    }
    if (opened === 'signature') {
      // A forged or foreign token: a failed guess, counted per client address.
      emitGuess(ctx, { type: 'invalid-cookie', reason: opened, ip: s.client.ip });
      continue;
    }
    if (opened === 'claims') {
      emit(ctx, { type: 'invalid-cookie', reason: opened, ip: s.client.ip });
      continue;
    }
    const { claims, payload } = opened;
    if (claims.iat > t + sealed.leeway) {
      emit(ctx, { type: 'invalid-cookie', reason: 'claims', ip: s.client.ip });
      continue;
    }
    if (claims.exp + sealed.leeway <= t || claims.idle + sealed.leeway <= t) {
      const reason = claims.exp + sealed.leeway <= t ? 'absolute' : 'idle';
      emit(ctx, { type: 'expire', handle: short(keyFor(s, claims.sid)), reason });
      continue;
    }
    s.clientId = claims.sid;
    if (!fingerprintMatches(ctx, payload.meta, s.client)) {
      const policy = ctx.fingerprint!.policy;
      const handle = short(keyFor(s, claims.sid));
      emit(ctx, { type: 'fingerprint-mismatch', handle, policy });
      if (policy === 'destroy') {
        emit(ctx, { type: 'destroy', handle });
        break; // anonymous; the cookie is expired at the end of the request
      }
      s.flagged = true;
    }
    s.id = claims.sid;
    s.expiresAt = claims.idle;
    st.iat = claims.iat;
    if (s.rotation !== 'invalidate') s.base = payload;
    break;
  }
  if (malformed) emit(ctx, { type: 'invalid-cookie', reason: 'malformed', ip: s.client.ip });
  if (s.id === null && s.rotation !== 'invalidate') s.base = freshPayload(ctx, s.client);
  s.loaded = true;
}

/**
 * Apply what the request did to the sealed session and seal the result: nothing when untouched
 * or only read (unless `touchInterval` has passed since the token was sealed — a touch), no
 * cookie after `destroy`/`invalidate`, else a new token (a new session id on create and
 * rotation). Throws `TooLargeError` (`ERR_SESSION_TOO_LARGE`, naming the largest top-level keys)
 * when the session does not fit in `maxChunks` cookies, and `DataError` from `update` functions.
 * @internal
 */
export async function commitSealed(ctx: Context, s: SessionState): Promise<void> {
  if (s.failed !== undefined) throw s.failed;
  const st = s.sealed!;
  const changed = s.ops.length > 0 || s.rotation !== 'none' || st.dirty || s.cookieDirty;
  if (!changed && !s.destroyed && !s.loaded) return; // untouched: no crypto at all
  if (!s.loaded) await loadSealed(ctx, s);
  const t = ctx.now();
  if (s.destroyed || (s.rotation === 'invalidate' && s.ops.length === 0)) {
    if (s.id !== null) emit(ctx, { type: 'destroy', handle: short(keyOf(s)) });
    s.id = null;
    s.rotation = 'none';
    st.lines = undefined;
    return;
  }
  if (!changed && (s.id === null || t - st.iat < ctx.touchInterval)) return;
  const payload = applyOps(s.base, s.ops, ctx.limits.maxDepth);
  let id = s.id;
  if (id === null || s.rotation !== 'none') {
    const previous = id;
    id = ctx.generateId();
    const handle = short(keyFor(s, id));
    if (previous === null) emit(ctx, { type: 'create', handle, userId: payload.meta.userId });
    else emit(ctx, { type: 'regenerate', handle, previous: short(keyFor(s, previous)) });
  } else if (!changed) {
    emit(ctx, { type: 'touch', handle: short(keyOf(s)) });
  }
  const meta = { ...payload.meta, lastSeenAt: t };
  const next: SessionPayload = { ...payload, meta };
  const idle = Math.min(t + ctx.idle, meta.absoluteExpiresAt);
  const claims = { sid: id, iat: t, idle, exp: meta.absoluteExpiresAt, gen: 0 };
  const token = sealSession(ctx.sealed!.keys, claims, next, ctx.limits);
  const maxAge = meta.persistent ? meta.absoluteExpiresAt - t : undefined;
  const lines = sealedCookieLines(
    ctx.sealed!.names,
    token,
    maxAge,
    t,
    ctx.sealed!.maxChunks,
    st.presented,
  );
  if (!Array.isArray(lines)) {
    throw new TooLargeError(
      'The sealed session cookie',
      lines.size,
      lines.limit,
      largestKeys(next),
    );
  }
  keyFor(s, id);
  s.id = id;
  s.expiresAt = idle;
  s.base = next;
  s.ops = [];
  s.observed = undefined;
  s.rotation = 'none';
  s.cookieDirty = false;
  st.iat = t;
  st.dirty = false;
  st.lines = lines;
}

/**
 * Commit, then the response: the lines the commit produced, or — when the session ended or the
 * client's cookie was refused by the fingerprint policy — lines expiring every name the request
 * presented. Rejects like {@link commitSealed}. @internal
 */
export async function endSealed(ctx: Context, s: SessionState): Promise<SessionResponse> {
  await commitSealed(ctx, s);
  const st = s.sealed!;
  let setCookie: string[] = [];
  if (st.lines !== undefined) setCookie = st.lines;
  else if (s.id === null && s.clientId !== null) {
    setCookie = expiredCookieLines(ctx.sealed!.names, st.presented, ctx.now());
  }
  st.lines = undefined;
  s.clientId = s.id;
  const touched = s.accessed || setCookie.length > 0;
  return {
    setCookie,
    vary: touched,
    cacheControl: touched ? ctx.cacheControl : undefined,
    clearSiteData: s.clearSiteData,
  };
}

/**
 * The sealed form of `commitEarly` (flash consumption, CSRF secret creation): the op is applied
 * to this request's view at once and sealed at commit. A sealed cookie cannot be consumed
 * atomically across parallel requests: each request holding the same cookie sees the same
 * values (docs/stateless.md, "Concurrency"). @internal
 */
export function commitEarlySealed<T extends SessionOp>(
  ctx: Context,
  s: SessionState,
  makeOp: () => T,
  needed: (payload: SessionPayload) => boolean,
): T | undefined {
  if (s.id === null || !needed(s.base)) return undefined;
  const op = makeOp();
  s.base = applyOps(s.base, [op], ctx.limits.maxDepth);
  s.sealed!.dirty = true;
  return op;
}

/** The three largest top-level keys of `payload`'s data, by encoded size. */
function largestKeys(payload: SessionPayload): KeySize[] {
  return Object.keys(payload.data)
    .map((key) => ({ key, bytes: Buffer.byteLength(JSON.stringify(payload.data[key])) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 3);
}
