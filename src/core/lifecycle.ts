/**
 * `sessionkit` — a request's session lifecycle: {@link load} → {@link commit} → {@link end}.
 *
 * `load` verifies the cookie, takes the lock (lock mode) and reads the record (`loads.ts`). `commit` decides
 * what the request's ops and rotation need — nothing, a touch, a delete or a write (`writes.ts`:
 * the ops applied on the freshest record with a compare-and-set, reloaded and replayed after a
 * lost race). `end` commits, releases the lock and computes the response headers.
 */

import { CHUNK_NAMES, expiredCookieLines } from './chunks.js';
import { type Context, emit, short } from './context.js';
import { signCookieValue } from './cookie-value.js';
import { ConflictError } from './errors.js';
import { storeDelete, storeTouch } from './gateway.js';
import { moveServerSide, mustMove, outgrewCookie, splitTokens } from './hybrid.js';
import { DONE, loadStored } from './loads.js';
import { fenceWrite, releaseLock, serialize } from './locks.js';
import { handleOf, keyOf } from './records.js';
import { respond, type SessionResponse } from './response.js';
import type { SessionState } from './state.js';
import { commitSealed, endSealed, loadSealed } from './stateless.js';
import { issueToken, type TokenHeader } from './transport.js';
import { write } from './writes.js';

export type { SessionResponse } from './response.js';

/**
 * Load the session: verify the cookie, lock (lock mode), read the record, check that a signed-in
 * session was not revoked (`checkGeneration`) and the fingerprint. A session with no valid
 * cookie or no live record starts fresh. A sealed session is opened by `loadSealed`; a hybrid
 * request is server-side when its cookie is a signed id of a live record, else sealed. Rejects
 * with `StoreError` or `LockTimeoutError`, after which the session is unusable (`s.failed`).
 * @internal
 */
export function load(ctx: Context, s: SessionState): Promise<void> {
  // Not an async function: the promise of the load itself is returned, as resolving an async
  // function's promise with another promise takes two more microtask turns.
  if (s.sealed === undefined) return loadStored(ctx, s, s.cookieValues);
  return ctx.sealed!.hybrid ? loadHybrid(ctx, s) : loadSealed(ctx, s);
}

/** {@link load} on a hybrid store. */
async function loadHybrid(ctx: Context, s: SessionState): Promise<void> {
  // A signed id names a server-side session; any other token is a stateless one.
  const { signed, sealed } = splitTokens(s.cookieValues);
  if (signed.length > 0) {
    await loadStored(ctx, s, signed);
    if (s.id !== null) {
      s.sealed = undefined;
      return;
    }
    // No live record: the request stays on the sealed side, which takes no lock.
    await releaseLock(ctx, s);
    s.loaded = false;
  }
  await loadSealed(ctx, s, sealed);
}

/**
 * Persist what the request did: nothing when untouched, a delete after `destroy`/`invalidate`, a
 * touch when only read, else a `write` (queued per session in this process). Never reached
 * degraded: `end` returns first, and `session.commit()` throws the outage (`degrade` sets
 * `failed`). Rejects with `ConflictError`, `StoreError`, `SessionLimitError` or the load's error.
 * @internal
 */
export function commit(ctx: Context, s: SessionState): Promise<void> {
  // Not an async function (see `load`): the write of a loaded, writable session with ops (and
  // any rotation: `write` does it) returns the write's own promise. (A destroyed session has no
  // ops — nothing can be written after `destroy()` — but is sent the long way regardless.)
  const plain = s.sealed === undefined && s.failed === undefined && s.loaded && !s.readOnly;
  if (!plain || s.destroyed) return commitAny(ctx, s);
  if (s.ops.length > 0) return writeQueued(ctx, s);
  // Only read: a touch, at most once per `touchInterval`.
  return s.rotation === 'none' ? maybeTouch(ctx, s) : commitAny(ctx, s);
}

/** {@link commit} in every case its fast path (a plain write, a touch check) leaves. */
async function commitAny(ctx: Context, s: SessionState): Promise<void> {
  if (s.sealed !== undefined && ctx.sealed!.hybrid) await settleHybrid(ctx, s);
  if (s.sealed !== undefined) return commitSealed(ctx, s);
  if (s.failed !== undefined) throw s.failed;
  const pending = s.ops.length > 0 || s.rotation !== 'none' || s.destroyed;
  if (!pending && !s.loaded) return; // untouched: no I/O at all
  if (!s.loaded) await load(ctx, s);
  if (s.readOnly) {
    // Loaded through a grace forward: the old id may read, never write.
    if (pending) throw new ConflictError('destroyed');
    return;
  }
  if (s.destroyed || (s.rotation === 'invalidate' && s.ops.length === 0)) {
    await deleteCurrent(ctx, s);
    s.rotation = 'none';
    return;
  }
  if (s.ops.length === 0 && s.rotation === 'none') return maybeTouch(ctx, s);
  await writeQueued(ctx, s);
}

/** `write`, queued behind this process's other commits of the same session. */
function writeQueued(ctx: Context, s: SessionState): Promise<void> {
  const queueKey = handleOf(s);
  if (queueKey === undefined) return write(ctx, s);
  return serialize(ctx, queueKey, () => write(ctx, s));
}

/**
 * Commit, release the lock, and compute the response: the cookie to set (new id, re-signed,
 * persistence changed) or expire (session gone) — none once degraded — and `Vary: Cookie` and
 * `Cache-Control` when the session was used. Rejects like {@link commit}; the lock is released
 * either way. @internal
 */
export function end(ctx: Context, s: SessionState): Promise<SessionResponse> {
  // A sealed cookie's end returned as it is (see `load`); every other case through `endAny`.
  if (!s.degraded && s.sealed !== undefined && !ctx.sealed!.hybrid) return endSealed(ctx, s);
  return endAny(ctx, s);
}

/** {@link end}, once degraded, on a hybrid store, or of a server-side session. */
function endAny(ctx: Context, s: SessionState): Promise<SessionResponse> {
  // Not an async function either: a server-side session outside lock mode (the common case) is
  // its commit's promise and one reaction. (In lock mode the commit's load may take the lock,
  // which the slow path releases.)
  if (s.degraded || s.sealed !== undefined || s.lease !== undefined || s.mode === 'lock') {
    return endSlow(ctx, s);
  }
  return commit(ctx, s).then(() => endResponse(ctx, s, 0));
}

/** {@link endAny} once degraded, on a hybrid store, or in lock mode. */
async function endSlow(ctx: Context, s: SessionState): Promise<SessionResponse> {
  if (s.degraded) {
    // The handler answers without its session: no write, and the client keeps the cookie (and
    // the site data) it has, whatever the request got to before failing. The page still
    // depended on the session.
    if (s.lease !== undefined) await releaseLock(ctx, s).catch(ignore);
    return {
      setCookie: [],
      vary: true,
      varyOn: ctx.transport.varyOn,
      token: undefined,
      cacheControl: ctx.cacheControl,
      clearSiteData: undefined,
    };
  }
  // Hybrid: the sealed chunks a request presented, expired if its session is server-side now.
  const chunks = s.sealed === undefined ? 0 : s.sealed.presented & CHUNK_NAMES;
  if (s.sealed !== undefined && ctx.sealed!.hybrid) await settleHybrid(ctx, s);
  if (s.sealed !== undefined) return endSealed(ctx, s);
  try {
    await commit(ctx, s);
  } finally {
    if (s.lease !== undefined) await releaseLock(ctx, s).catch(ignore);
  }
  return endResponse(ctx, s, chunks);
}

/**
 * The response of a committed server-side session: the cookie to set (new id, re-signed) or
 * expire (session gone), and the sealed `chunks` a hybrid request presented, expired.
 */
function endResponse(ctx: Context, s: SessionState, chunks: number): SessionResponse {
  const setCookie: string[] = [];
  const t = ctx.now();
  let token: TokenHeader | undefined;
  if (s.id !== null && (s.id !== s.clientId || s.cookieDirty)) {
    const maxAge = s.base.meta.persistent ? s.base.meta.absoluteExpiresAt - t : undefined;
    const value = signCookieValue(ctx.keys, s.id);
    token = issueToken(ctx.transport, ctx.cookie, setCookie, value, maxAge, t);
  } else if (s.id === null && s.clientId !== null) {
    token = issueToken(ctx.transport, ctx.cookie, setCookie, '', 0, t);
  }
  if (chunks !== 0) setCookie.push(...expiredCookieLines(ctx.sealed!.names, chunks, t));
  s.clientId = s.id;
  s.cookieDirty = false;
  return respond(ctx, s, setCookie, token);
}

/**
 * Hybrid, on the stateless side: load a session the request used (which may find it
 * server-side), then commit it as a sealed cookie — unless it must move, or outgrew its cookie,
 * and moves server-side instead (`hybrid.ts`). Idempotent, like `commitSealed`.
 */
async function settleHybrid(ctx: Context, s: SessionState): Promise<void> {
  if (s.failed !== undefined) throw s.failed;
  const st = s.sealed!;
  const used = s.ops.length > 0 || s.rotation !== 'none' || s.destroyed || s.cookieDirty;
  if (!s.loaded && (used || st.dirty || st.move)) await load(ctx, s);
  if (s.sealed === undefined || !s.loaded) return;
  if (!mustMove(s)) {
    try {
      return await commitSealed(ctx, s);
    } catch (error) {
      if (!outgrewCookie(error)) throw error;
    }
  }
  await moveServerSide(ctx, s);
}

async function deleteCurrent(ctx: Context, s: SessionState): Promise<void> {
  if (s.id === null) return;
  const key = keyOf(s);
  if (s.lease !== undefined) await fenceWrite(ctx, s);
  await storeDelete(ctx, key);
  emit(ctx, { type: 'destroy', handle: short(key) });
  s.id = null;
  s.version = 0;
}

/** Slide an unmodified session's expiry, at most once per `touchInterval`. */
function maybeTouch(ctx: Context, s: SessionState): Promise<void> {
  if (s.id === null) return DONE;
  const next = Math.min(ctx.now() + ctx.idle, s.base.meta.absoluteExpiresAt);
  if (next - s.expiresAt < ctx.touchInterval) return DONE;
  const key = keyOf(s);
  return storeTouch(ctx, key, next).then((touched) => {
    if (!touched) return;
    s.expiresAt = next;
    emit(ctx, { type: 'touch', handle: short(key) });
  });
}

function ignore(): undefined {
  return undefined;
}
