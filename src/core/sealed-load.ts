/**
 * `sessionkit` — a sealed-cookie request's own state and the load of its session
 * (`stateless.ts` is the rest of the lifecycle): the presented tokens tried in order, each opened
 * by the codec (`sealed.ts`, `jwt.ts`) and checked — issued no later than now, before its idle
 * deadline and `exp`, and where a revocation store or the hybrid store needs it, not revoked nor
 * moved server-side. With the AES-GCM codec and no such read, opening a token is synchronous:
 * the load awaits nothing of its own.
 */

import { fingerprintMatches } from './client.js';
import { type Context, emit, emitGuess, short } from './context.js';
import { freshPayload, keyFor } from './records.js';
import { checkRevoked, isDenied, type UserState } from './revocation.js';
import type { OpenFailure } from './sealed.js';
import type { Unsealed } from './sealed-text.js';
import type { SessionState } from './state.js';

/** What one request of a sealed-cookie session keeps beside the shared state. @internal */
export interface SealedState {
  /** Cookie names the request presented (see `chunks.ts`): those not rewritten are expired. */
  readonly presented: number;
  /** `iat` of the token the session was opened from (`0`: none). */
  iat: number;
  /** The signed-in user of the session as opened or last sealed (`null`: anonymous). */
  userId: string | null;
  /** Its absolute deadline (a denylist entry lives until then). */
  exp: number;
  /** The user's revocation generation to seal with. */
  gen: number;
  /** The user record read at load (signed-in, with a revocation store). */
  user: UserState | undefined;
  /** The fingerprint policy `destroy` refused the opened session: denylist it at commit. */
  refused: boolean;
  /** The payload changed outside the op log (a flash consumed, a CSRF secret created). */
  dirty: boolean;
  /** Hybrid store: the app asked to keep the session server-side (`moveServerSide()`). */
  move: boolean;
  /**
   * What the last commit produced, not yet on a response: the cookie lines, or with a header
   * transport the token alone (one element).
   */
  lines: string[] | undefined;
}

/** The per-request state of a sealed session whose request presented `presented`. @internal */
export function createSealedState(presented: number): SealedState {
  return {
    presented,
    iat: 0,
    userId: null,
    exp: 0,
    gen: 0,
    user: undefined,
    refused: false,
    dirty: false,
    move: false,
    lines: undefined,
  };
}

/**
 * Open the first of `tokens` (by default the presented ones) that authenticates and whose claims
 * hold, with `leeway`: issued no later than now, before its idle deadline and `exp` — and, for a
 * signed-in session with a revocation store, neither denylisted nor older than its user's
 * generation; on a hybrid store's stateless side, anonymous and not moved server-side. Every
 * other one is reported (`invalid-cookie`, `expire`) and skipped; with none the session starts
 * fresh. Rejects only with the store's `StoreError`, after which the session is unusable.
 * @internal
 */
export async function loadSealed(
  ctx: Context,
  s: SessionState,
  tokens: readonly string[] = s.cookieValues,
): Promise<void> {
  try {
    for (const token of tokens) {
      // Opening is synchronous unless the codec or a revocation check is not: no await then.
      const opening = open(ctx, s, token);
      if ((opening instanceof Promise ? await opening : opening) === true) break;
    }
    if (s.id === null && s.rotation !== 'invalidate') s.base = freshPayload(ctx, s.client);
    s.loaded = true;
  } catch (error) {
    s.failed = error;
    throw error;
  }
}

/**
 * Try one presented token; `true` when the search is over (opened, or refused by fingerprint).
 * Synchronous for a synchronous codec (AES-GCM) and a session needing no revocation read (no
 * store, or anonymous): a promise only when the codec or a check does I/O.
 */
function open(ctx: Context, s: SessionState, token: string): boolean | Promise<boolean> {
  const t = ctx.now();
  const result = ctx.sealed!.codec.open(token, ctx.limits, t);
  return result instanceof Promise
    ? result.then((opened) => check(ctx, s, opened, t))
    : check(ctx, s, result, t);
}

/** {@link open}'s checks of what the codec gave for a token, at time `t`. */
function check(
  ctx: Context,
  s: SessionState,
  opened: Unsealed | OpenFailure,
  t: number,
): boolean | Promise<boolean> {
  const sealed = ctx.sealed!;
  if (typeof opened === 'string') {
    const event = { type: 'invalid-cookie', reason: opened, ip: s.client.ip } as const;
    // A forged or foreign token is a failed guess, counted per client address.
    if (opened === 'signature') emitGuess(ctx, event);
    else emit(ctx, event);
    return false;
  }
  const { claims } = opened;
  if (claims.iat > t + sealed.leeway) {
    emit(ctx, { type: 'invalid-cookie', reason: 'claims', ip: s.client.ip });
    return false;
  }
  if (claims.exp + sealed.leeway <= t || claims.idle + sealed.leeway <= t) {
    const reason = claims.exp + sealed.leeway <= t ? 'absolute' : 'idle';
    emit(ctx, { type: 'expire', handle: short(keyFor(s, claims.sid)), reason });
    return false;
  }
  const { userId } = opened.payload.meta;
  if (sealed.hybrid || (userId !== null && sealed.revocation)) return checkStored(ctx, s, opened);
  return adopt(ctx, s, opened);
}

/**
 * The checks of an opened token that read the revocation store: on a hybrid store's stateless
 * side, anonymous and not moved server-side; else, for a signed-in session, neither denylisted
 * nor older than its user's generation. Then {@link adopt}.
 */
async function checkStored(ctx: Context, s: SessionState, opened: Unsealed): Promise<boolean> {
  const { claims } = opened;
  const { userId } = opened.payload.meta;
  if (ctx.sealed!.hybrid) {
    // A hybrid's stateless side is anonymous only (signing in moves a session server-side), and
    // the stateless token of a session that moved is denylisted (`hybrid.ts`): one small read.
    if (userId !== null) {
      emit(ctx, { type: 'invalid-cookie', reason: 'claims', ip: s.client.ip });
      return false;
    }
    if (await isDenied(ctx, keyFor(s, claims.sid))) {
      emit(ctx, { type: 'invalid-cookie', reason: 'revoked', ip: s.client.ip });
      return false;
    }
  } else {
    const check = await checkRevoked(ctx, keyFor(s, claims.sid), userId!, claims.gen);
    if (check.revoked) {
      emit(ctx, { type: 'invalid-cookie', reason: 'revoked', ip: s.client.ip });
      return false;
    }
    s.sealed!.user = check.user;
    s.sealed!.gen = check.user.record.g;
  }
  return adopt(ctx, s, opened);
}

/** Make the opened token the request's session, unless the fingerprint policy refuses it. */
function adopt(ctx: Context, s: SessionState, opened: Unsealed): boolean {
  const st = s.sealed!;
  const { claims, payload } = opened;
  s.clientId = claims.sid;
  st.userId = payload.meta.userId;
  st.exp = claims.exp;
  if (!fingerprintMatches(ctx, payload.meta, s.client)) {
    const policy = ctx.fingerprint!.policy;
    const handle = short(keyFor(s, claims.sid));
    emit(ctx, { type: 'fingerprint-mismatch', handle, policy });
    if (policy === 'destroy') {
      emit(ctx, { type: 'destroy', handle });
      st.refused = true; // anonymous; denylisted and the cookie expired at commit
      return true;
    }
    s.flagged = true;
  }
  s.id = claims.sid;
  s.expiresAt = claims.idle;
  st.iat = claims.iat;
  if (s.rotation !== 'invalidate') s.base = payload;
  return true;
}
