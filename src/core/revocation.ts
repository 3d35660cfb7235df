/**
 * `sessionkit` — revocation for sealed-cookie sessions, through the small server-side store given
 * as `cookieStore({ revocation })` (docs/security.md §6, docs/stateless.md "Revocation").
 *
 * Two kinds of record, both under hashed keys (never a session id or a user id in clear) — the
 * user record's format and its compare-and-set live in `user-record.ts`:
 * - a **denylist** entry per revoked session handle, kept until the session's `exp` (plus the
 *   leeway): logout, `destroy()`, rotation away from a signed-in session, `revokeSession`, an
 *   eviction by `maxSessionsPerUser`;
 * - a **user record** per signed-in user: the revocation generation, the handles that survived
 *   the last `revokeAll` (`except`), and the live sessions ("your devices", the per-user limit).
 *   `revokeAll` bumps the generation; a token sealed with an older one is refused.
 *
 * Only signed-in sessions are checked (one denylist read and one user-record read, in parallel);
 * anonymous sealed requests do no I/O. User records change with a compare-and-set, retried.
 */

import { DENIED_RECORD } from './bookkeeping.js';
import { type Context, emit, short } from './context.js';
import { ConfigError, isSessionError, SessionLimitError } from './errors.js';
import { storeGet, storeSet } from './gateway.js';
import { hashSessionId } from './keys.js';
import {
  changeUser,
  isRevokedBy,
  readUser,
  type UserSession,
  type UserState,
  writeUser,
} from './user-record.js';
import type { SessionInfo } from './users.js';

export type { UserState } from './user-record.js';

/** A session about to belong to a user, for {@link registerSession}. */
export interface NewUserSession {
  handle: string;
  createdAt: number;
  exp: number;
  ip: string | null;
  userAgent: string | null;
  persistent: boolean;
}

/** Most live sessions a user record lists; older ones drop off (and are denylisted). */
const MAX_LISTED = 1000;

/** `true` when the manager's cookie store has a revocation store. @internal */
export function hasRevocation(ctx: Context): boolean {
  return ctx.sealed?.revocation === true;
}

/**
 * Throw the `ConfigError` saying revocation is unavailable, unless the manager's cookie store has
 * a revocation store. @internal
 */
export function requireRevocation(ctx: Context, api: string): void {
  if (!hasRevocation(ctx)) {
    throw new ConfigError(
      `${api} is unavailable: sealed-cookie sessions can only be revoked through a revocation store — pass one as cookieStore({ revocation: store }) (any SessionStore, e.g. redisStore). See docs/stateless.md, "Revocation".`,
    );
  }
}

/**
 * Whether the signed-in session `handle` of `userId`, sealed with generation `gen`, is revoked:
 * denylisted, or older than the user's generation and not kept by the last `revokeAll`. Resolves
 * the user record too (for sealing with the current generation). Rejects with `StoreError`.
 * @internal
 */
export async function checkRevoked(
  ctx: Context,
  handle: string,
  userId: string,
  gen: number,
): Promise<{ revoked: boolean; user: UserState }> {
  const [denied, user] = await Promise.all([storeGet(ctx, denyKey(handle)), readUser(ctx, userId)]);
  const revoked = denied !== undefined || isRevokedBy(user.record, handle, gen);
  return { revoked, user };
}

/**
 * Denylist `handle` until `exp` (plus the leeway) and drop it from `userId`'s list. The denylist
 * entry is the revocation: once it is written the session is over, so a failure of the list
 * update after it (a `StoreError`, reported as `store-error`, or lost races) does not fail the
 * caller — a rotation still delivers its new session, a logout its expired cookie — and leaves a
 * dead entry listed until `exp`. Rejects with `StoreError` when the denylist write fails (nothing
 * changed). @internal
 */
export async function retire(
  ctx: Context,
  handle: string,
  userId: string,
  exp: number,
): Promise<void> {
  await deny(ctx, handle, exp);
  try {
    await changeUser(ctx, userId, (record) => {
      if (!record.s.some((entry) => entry.h === handle)) return undefined;
      return { ...record, s: record.s.filter((entry) => entry.h !== handle) };
    });
  } catch (error) {
    if (
      !isSessionError(error, 'ERR_SESSION_STORE') &&
      !isSessionError(error, 'ERR_SESSION_CONFLICT')
    ) {
      throw error;
    }
  }
}

/**
 * Add a session to `userId`'s list and enforce `maxSessionsPerUser`: `reject` throws
 * `SessionLimitError` before anything is written, `evict-oldest` denylists the least recently
 * seen others (event `evict`). `replaces`, the session it rotates from, does not count against
 * the limit but stays listed until {@link retire} denylists it: if that fails, the old session
 * still works and must stay revocable. Resolves the user's generation, to seal into the new
 * token. Rejects with `StoreError`. @internal
 */
export async function registerSession(
  ctx: Context,
  userId: string,
  session: NewUserSession,
  replaces: string | null,
): Promise<number> {
  const t = ctx.now();
  const max = ctx.maxSessionsPerUser;
  let evicted: UserSession[] = [];
  const record = await changeUser(ctx, userId, (current) => {
    const others = current.s
      .filter((entry) => entry.h !== replaces && entry.h !== session.handle && entry.e > t)
      .sort((a, b) => a.l - b.l);
    if (max !== undefined && ctx.sessionLimit === 'reject' && others.length >= max) {
      throw new SessionLimitError(max);
    }
    const keep = Math.min(MAX_LISTED, max ?? MAX_LISTED) - 1;
    evicted = others.slice(0, Math.max(0, others.length - keep));
    const entry: UserSession = {
      h: session.handle,
      c: session.createdAt,
      l: t,
      e: session.exp,
      ip: session.ip,
      ua: session.userAgent,
      p: session.persistent,
    };
    const replaced = current.s.filter((e) => e.h === replaces && replaces !== session.handle);
    return { ...current, s: [...others.slice(evicted.length), ...replaced, entry] };
  });
  for (const victim of evicted) {
    await deny(ctx, victim.h, victim.e);
    emit(ctx, { type: 'evict', handle: short(victim.h), userId });
  }
  return record.g;
}

/**
 * Record that the session `handle` of `userId` was seen now, when its entry is older than
 * `touchInterval`: one compare-and-set against the record read at load, not retried (a lost race
 * means another request just wrote the record). Rejects with `StoreError`. @internal
 */
export async function noteSeen(
  ctx: Context,
  userId: string,
  handle: string,
  user: UserState,
): Promise<void> {
  const t = ctx.now();
  const entry = user.record.s.find((e) => e.h === handle);
  if (entry === undefined || t - entry.l < ctx.touchInterval) return;
  const s = user.record.s.map((e) => (e === entry ? { ...e, l: t } : e));
  await writeUser(ctx, userId, { ...user.record, s }, user.version);
}

/**
 * Revoke the session `handle` if `userId`'s list has it (event `revoke`). Resolves `false` when
 * it is not theirs or gone. Throws `ConfigError` without a revocation store. @internal
 */
export async function revokeSealed(ctx: Context, userId: string, handle: string): Promise<boolean> {
  requireRevocation(ctx, 'revokeSession()');
  const { record } = await readUser(ctx, userId);
  const entry = record.s.find((e) => e.h === handle && e.e > ctx.now());
  if (entry === undefined) return false; // ownership check: only the user's own sessions
  await retire(ctx, handle, userId, entry.e);
  emit(ctx, { type: 'revoke', handle: short(handle), userId });
  return true;
}

/**
 * Revoke every session of `userId` except the `except` handles, by bumping the user's
 * generation; resolves how many listed sessions went (event `revoke`). Throws `ConfigError`
 * without a revocation store. @internal
 */
export async function revokeAllSealed(
  ctx: Context,
  userId: string,
  except: readonly string[] | undefined,
): Promise<number> {
  requireRevocation(ctx, 'revokeAll()');
  const kept = new Set(except ?? []);
  let count = 0;
  await changeUser(ctx, userId, (record) => {
    const t = ctx.now();
    const live = record.s.filter((e) => e.e > t);
    const s = live.filter((e) => kept.has(e.h));
    count = live.length - s.length;
    return { g: record.g + 1, k: s.map((e) => e.h), s };
  });
  if (count > 0) emit(ctx, { type: 'revoke', handle: '*', userId });
  return count;
}

/**
 * The live sessions of `userId`, newest activity first (`current` marks one handle). Throws
 * `ConfigError` without a revocation store. @internal
 */
export async function listSealed(
  ctx: Context,
  userId: string,
  current: string | undefined,
): Promise<SessionInfo[]> {
  requireRevocation(ctx, 'listSessions()');
  const t = ctx.now();
  const { record } = await readUser(ctx, userId);
  return record.s
    .filter((e) => e.e > t)
    .map((e) => ({
      handle: e.h,
      createdAt: e.c,
      lastSeenAt: e.l,
      expiresAt: Math.min(e.l + ctx.idle, e.e),
      absoluteExpiresAt: e.e,
      ip: e.ip,
      userAgent: e.ua,
      persistent: e.p,
      current: e.h === current,
    }))
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}

/** The denylist key of a handle: hashed again, with its own prefix. */
function denyKey(handle: string): string {
  return hashSessionId(`sessionkit/revoked\0${handle}`);
}

/**
 * `true` when `handle` is denylisted: a revoked sealed session, or the stateless side of a hybrid
 * session that moved server-side. One store read. Rejects with `StoreError`. @internal
 */
export async function isDenied(ctx: Context, handle: string): Promise<boolean> {
  return (await storeGet(ctx, denyKey(handle))) !== undefined;
}

/**
 * Denylist `handle` until `exp` plus the leeway (nothing once that has passed: the token is
 * refused as expired anyway). Rejects with `StoreError`. @internal
 */
export async function deny(ctx: Context, handle: string, exp: number): Promise<void> {
  const expiresAt = exp + ctx.sealed!.leeway;
  if (expiresAt <= ctx.now()) return; // the token is refused as expired anyway
  await storeSet(ctx, denyKey(handle), {
    data: DENIED_RECORD,
    version: 1,
    expiresAt,
    userId: null,
  });
}
