/**
 * `sessionkit` — the lifecycle of sealed-cookie sessions (`sessionkit/stores/cookie`): the session
 * travels in the cookie, sealed (`sealed.ts`), split over `name.0`…`name.3` when large
 * (`chunks.ts`). The same steps as the server-side lifecycle, by name — {@link loadSealed},
 * {@link commitSealed}, {@link endSealed} — over the same request state, but the commit produces
 * a cookie instead of a store write, so there is nothing to compare-and-set: parallel responses
 * each carry a cookie and the browser keeps the last one (docs/stateless.md, "Concurrency").
 *
 * The request's sealed state and the load are `sealed-load.ts`.
 *
 * Costs: an untouched request parses the `Cookie` header and nothing more; the first read opens
 * the token (one AES-GCM); a read-only request re-seals only once `touchInterval` has passed since
 * the token was sealed (which also moves a token sealed under an older key to the primary).
 */

import { expiredCookieLines, sealedCookieLines } from './chunks.js';
import { type SessionMeta, type SessionPayload, seenAt } from './codec.js';
import { type Context, emit, short } from './context.js';
import { type KeySize, TooLargeError } from './errors.js';
import { applyOps, type SessionOp } from './ops.js';
import type { SessionEvent } from './options.js';
import { keyFor, keyOf } from './records.js';
import { respond, type SessionResponse } from './response.js';
import { type NewUserSession, noteSeen, registerSession, retire } from './revocation.js';
import { loadSealed } from './sealed-load.js';
import type { SealedClaims } from './sealed-text.js';
import type { SessionState } from './state.js';
import { MAX_TOKEN_LENGTH, type TokenHeader } from './transport.js';
import { viewOf } from './view.js';

// The request's sealed state and the load live in their own part; importers find them here.
export { createSealedState, loadSealed, type SealedState } from './sealed-load.js';

/**
 * Apply what the request did to the sealed session and seal the result: nothing when untouched
 * or only read (unless `touchInterval` has passed since the token was sealed — a touch), no
 * cookie after `destroy`/`invalidate`, else a new token (a new session id on create and
 * rotation). With a revocation store, a signed-in session that ends or rotates is denylisted and
 * a login is registered with its user (`maxSessionsPerUser`). Throws `TooLargeError`
 * (`ERR_SESSION_TOO_LARGE`, naming the largest top-level keys) when the session does not fit in
 * `maxChunks` cookies, `SessionLimitError`, `StoreError`, and `DataError` from `update`
 * functions. @internal
 */
export async function commitSealed(ctx: Context, s: SessionState): Promise<void> {
  if (s.failed !== undefined) throw s.failed;
  const st = s.sealed!;
  const changed = s.ops.length > 0 || s.rotation !== 'none' || st.dirty || s.cookieDirty;
  if (!changed && !s.destroyed && !s.loaded) return; // untouched: no crypto at all
  if (!s.loaded) await loadSealed(ctx, s);
  if (st.refused) {
    st.refused = false;
    await retireOpened(ctx, s, s.clientId!);
  }
  const t = ctx.now();
  if (s.destroyed || (s.rotation === 'invalidate' && s.ops.length === 0)) {
    if (s.id !== null) {
      await retireOpened(ctx, s, s.id);
      emit(ctx, { type: 'destroy', handle: short(keyOf(s)) });
    }
    s.id = null;
    s.rotation = 'none';
    st.lines = undefined;
    return;
  }
  if (!changed && (s.id === null || t - st.iat < ctx.touchInterval)) return;
  // The request's view already holds base + ops (each update function ran once, there): no
  // replay, as there is no fresher record to replay on.
  const payload = s.ops.length === 0 ? s.base : viewOf(ctx, s).draft.result();
  const { userId } = payload.meta;
  const meta = seenAt(payload.meta, t);
  let id = s.id;
  let gen = userId === null ? 0 : st.gen;
  // Emitted once sealed: a session too large for its cookie was not created, nor rotated.
  let event: SessionEvent | undefined;
  if (id === null || s.rotation !== 'none') {
    const previous = id;
    id = ctx.generateId();
    const handle = keyFor(s, id);
    if (userId !== null && ctx.sealed!.revocation) {
      const replaces = previous !== null && st.userId === userId ? keyFor(s, previous) : null;
      gen = await registerSession(ctx, userId, newUserSession(handle, meta), replaces);
    }
    if (previous === null) event = { type: 'create', handle: short(handle), userId };
    else {
      await retireOpened(ctx, s, previous);
      event = { type: 'regenerate', handle: short(handle), previous: short(keyFor(s, previous)) };
    }
  } else {
    if (!changed) event = { type: 'touch', handle: short(keyOf(s)) };
    if (userId !== null && st.user !== undefined) await noteSeen(ctx, userId, keyOf(s), st.user);
  }
  const sealedPayload = { data: payload.data, flash: payload.flash, meta };
  const claims = claimsOf(ctx, id, meta, gen);
  // The AES-GCM codec seals synchronously: no await (a microtask) unless the codec is async.
  const token = ctx.sealed!.codec.seal(claims, sealedPayload, ctx.limits);
  setSealed(ctx, s, claims, sealedPayload, typeof token === 'string' ? token : await token);
  if (event !== undefined) emit(ctx, event);
}

/** The claims of `payload` sealed now (`meta.lastSeenAt`) under session `id`. */
function claimsOf(ctx: Context, id: string, meta: SessionMeta, gen: number): SealedClaims {
  const t = meta.lastSeenAt;
  const idle = Math.min(t + ctx.idle, meta.absoluteExpiresAt);
  return { sid: id, iat: t, idle, exp: meta.absoluteExpiresAt, gen };
}

/**
 * Put `token`, the sealed `payload`, into the cookie lines (or the token header); the request
 * now works on it. Throws `TooLargeError` when it does not fit.
 */
function setSealed(
  ctx: Context,
  s: SessionState,
  claims: SealedClaims,
  payload: SessionPayload,
  token: string,
): void {
  const sealed = ctx.sealed!;
  const st = s.sealed!;
  const { meta } = payload;
  const { sid: id, iat: t, idle, gen } = claims;
  const maxAge = meta.persistent ? meta.absoluteExpiresAt - t : undefined;
  const lines =
    ctx.transport.responseHeader === undefined
      ? sealedCookieLines(sealed.names, token, maxAge, t, sealed.maxChunks, st.presented)
      : token.length <= MAX_TOKEN_LENGTH
        ? [token]
        : { size: token.length, limit: MAX_TOKEN_LENGTH };
  if (!Array.isArray(lines)) {
    const what = ctx.transport.responseHeader === undefined ? 'cookie' : 'token';
    throw new TooLargeError(
      `The sealed session ${what}`,
      lines.size,
      lines.limit,
      largestKeys(payload),
    );
  }
  s.id = id;
  s.expiresAt = idle;
  s.base = payload;
  s.ops = [];
  s.observed = undefined;
  s.rotation = 'none';
  s.cookieDirty = false;
  st.iat = t;
  st.userId = meta.userId;
  st.exp = meta.absoluteExpiresAt;
  st.gen = gen;
  st.user = undefined;
  st.dirty = false;
  st.lines = lines;
}

/**
 * The session opened from the request's token, `id`, ends (destroy, logout, rotation, refused by
 * fingerprint): with a revocation store and a signed-in user, denylist it so a copy of the token
 * is refused too.
 */
async function retireOpened(ctx: Context, s: SessionState, id: string): Promise<void> {
  const st = s.sealed!;
  if (id !== s.clientId || st.userId === null || !ctx.sealed!.revocation) return;
  await retire(ctx, keyFor(s, id), st.userId, st.exp);
}

function newUserSession(handle: string, meta: SessionMeta): NewUserSession {
  return {
    handle,
    createdAt: meta.createdAt,
    exp: meta.absoluteExpiresAt,
    ip: meta.ip,
    userAgent: meta.userAgent,
    persistent: meta.persistent,
  };
}

/**
 * Commit, then the response: the lines the commit produced, or — when the session ended or the
 * client's cookie was refused by the fingerprint policy — lines expiring every name the request
 * presented. Rejects like {@link commitSealed}. @internal
 */
export async function endSealed(ctx: Context, s: SessionState): Promise<SessionResponse> {
  await commitSealed(ctx, s);
  const st = s.sealed!;
  const { responseHeader } = ctx.transport;
  let setCookie: string[] = [];
  let token: TokenHeader | undefined;
  if (st.lines !== undefined) {
    if (responseHeader === undefined) setCookie = st.lines;
    else token = [responseHeader, st.lines[0]!];
  } else if (s.id === null && s.clientId !== null) {
    if (responseHeader === undefined) {
      setCookie = expiredCookieLines(ctx.sealed!.names, st.presented, ctx.now());
    } else token = [responseHeader, ''];
  }
  st.lines = undefined;
  s.clientId = s.id;
  return respond(ctx, s, setCookie, token);
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
