/**
 * `sessionkit` — a user's sessions: the "your devices" list, revocation, and the per-user limit
 * (`maxSessionsPerUser`). All need a store with `listByUser` (revoking all: `deleteByUser`; the
 * `reject` limit: `lock`, for the user lock that makes its count and the write one step).
 */

import { type Context, emit, short } from './context.js';
import { ConfigError, SessionLimitError } from './errors.js';
import { storeDelete, storeDeleteByUser, storeGet, storeListByUser } from './gateway.js';
import { bumpGeneration, revokedFilter, type UserSessionEntry } from './generation.js';
import { confirmLease, dropLease, type Lease, takeLease } from './locks.js';
import { openRecord, userStoreKey } from './records.js';
import type { StoreRecord } from './store.js';

/** One entry of the "your devices" list. */
export interface SessionInfo {
  /** Opaque handle of the session (its store key); pass it to `revokeSession`. */
  handle: string;
  createdAt: number;
  lastSeenAt: number;
  /** When it expires if unused (idle) — never after `absoluteExpiresAt`. */
  expiresAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  persistent: boolean;
  /** `true` for the handle given as `current`. */
  current: boolean;
}

/**
 * Live sessions of `userId`, newest activity first; `current` marks one handle. Throws
 * `ConfigError` without a store `listByUser`; rejects with `StoreError`. @internal
 */
export async function listSessions(
  ctx: Context,
  userId: string,
  current: string | undefined,
): Promise<SessionInfo[]> {
  requireAbility(ctx, 'listByUser');
  const t = ctx.now();
  const out = (await liveSessions(ctx, userId)).map((entry) => ({
    ...infoOf(ctx, entry, t),
    current: entry.key === current,
  }));
  return out.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}

/**
 * Revoke the session `handle` if it belongs to `userId` (event `revoke`). Resolves `false` when
 * it is not theirs or gone. Throws `ConfigError` without a store `listByUser`. @internal
 */
export async function revokeSession(
  ctx: Context,
  userId: string,
  handle: string,
): Promise<boolean> {
  requireAbility(ctx, 'listByUser');
  const record = await storeGet(ctx, handle);
  if (record === undefined || record.userId !== userId) return false; // ownership check
  const deleted = await storeDelete(ctx, handle);
  if (deleted) ctx.onEvent?.({ type: 'revoke', handle: short(handle), userId });
  return deleted;
}

/**
 * Revoke every session of `userId` except the `except` handles; resolves how many went. The
 * revocation is one step — the bump of the user's generation (`generation.ts`): from then on every
 * other session of the user is anonymous, logins in flight included. Deleting their records comes
 * after, as cleanup: should it fail, the revocation stands (the leftovers are dead, and expire),
 * the failure is reported as a `store-error` event and `revokeAll` still resolves. Throws
 * `ConfigError` without a store `deleteByUser`; rejects with `StoreError` when the bump fails
 * (nothing revoked). @internal
 */
export async function revokeAll(
  ctx: Context,
  userId: string,
  except: readonly string[] | undefined,
): Promise<number> {
  requireAbility(ctx, 'deleteByUser');
  const live = await openedSessions(ctx, userId, ctx.now());
  const count = await bumpGeneration(ctx, userId, live, except ?? []);
  await storeDeleteByUser(ctx, userId, except).catch(() => undefined); // reported by the gateway
  return count;
}

/**
 * The user lock a write holds while it admits a session under the `reject` session limit: the
 * count of a user's sessions and the write of the new one must be one step, or parallel logins
 * all count the same sessions and all get in. @internal
 */
export interface Admission {
  /** The lease on the user's key, held from the count until after the write. */
  lease: Lease | undefined;
}

/**
 * Admit a session about to belong to `userId` under `maxSessionsPerUser` (`current` is its key
 * today, not counted). With `reject`: throws `SessionLimitError` when the user already has the
 * maximum of other live sessions, else leaves the user's lease lock in `admission` — renewed, so
 * the write that follows lands within it — for the caller to give back with {@link endAdmission}
 * after its write. A user already full is refused before queueing for the lock. Without a limit
 * or with `evict-oldest`, does nothing. Rejects also with `LockTimeoutError`, `ConflictError`
 * (`lock-lost`) or `StoreError`. @internal
 */
export async function admit(
  ctx: Context,
  admission: Admission,
  userId: string,
  current: string | null,
): Promise<void> {
  const max = ctx.maxSessionsPerUser;
  if (max === undefined || ctx.sessionLimit !== 'reject') return;
  const key = userStoreKey(userId);
  if (admission.lease?.key !== key) {
    await endAdmission(ctx, admission); // a retry for another user (a concurrent login)
    if ((await othersOf(ctx, userId, current)).length >= max) throw new SessionLimitError(max);
    admission.lease = await takeLease(ctx, key);
  }
  if ((await othersOf(ctx, userId, current)).length >= max) throw new SessionLimitError(max);
  await confirmLease(ctx, admission.lease);
}

/** Give back the user lock {@link admit} left, if any (an unlock failure is left to the lease). @internal */
export async function endAdmission(ctx: Context, admission: Admission): Promise<void> {
  const { lease } = admission;
  admission.lease = undefined;
  if (lease !== undefined) await dropLease(ctx, lease).catch(() => undefined);
}

/**
 * With `maxSessionsPerUser` and `evict-oldest`: after `current` was written for `userId`, revoke
 * the least recently used other sessions beyond the limit (event `evict`) — never `replaces`, the
 * session `current` rotates from (about to be retired by its own write, uncounted). @internal
 */
export async function evictOverLimit(
  ctx: Context,
  userId: string,
  current: string,
  replaces: string | null = null,
): Promise<void> {
  const max = ctx.maxSessionsPerUser;
  if (max === undefined || ctx.sessionLimit !== 'evict-oldest') return;
  const others = (await othersOf(ctx, userId, current)).filter((o) => o.handle !== replaces);
  for (const victim of others.slice(0, Math.max(0, others.length + 1 - max))) {
    if (await storeDelete(ctx, victim.handle)) {
      emit(ctx, { type: 'evict', handle: short(victim.handle), userId });
    }
  }
}

/** The live sessions of `userId` other than `current`, least recently used first. */
async function othersOf(
  ctx: Context,
  userId: string,
  current: string | null,
): Promise<Omit<SessionInfo, 'current'>[]> {
  const t = ctx.now();
  return (await liveSessions(ctx, userId))
    .filter(({ key }) => key !== current)
    .map((entry) => infoOf(ctx, entry, t))
    .sort((a, b) => a.lastSeenAt - b.lastSeenAt);
}

/** A listed session of a user, opened. */
interface OpenedSession extends UserSessionEntry {
  record: StoreRecord;
}

/** The sessions of `userId` the store lists, opened, not expired at `t` (revoked ones included). */
async function openedSessions(ctx: Context, userId: string, t: number): Promise<OpenedSession[]> {
  const out: OpenedSession[] = [];
  for (const { key, record } of await storeListByUser(ctx, userId)) {
    const payload = openRecord(ctx, key, record);
    if (payload === undefined || payload.meta.userId !== userId) continue;
    if (record.expiresAt <= t || payload.meta.absoluteExpiresAt <= t) continue;
    out.push({ key, record, payload });
  }
  return out;
}

/** The live sessions of `userId`: listed, opened, neither expired nor revoked by a `revokeAll`. */
async function liveSessions(ctx: Context, userId: string): Promise<OpenedSession[]> {
  const opened = await openedSessions(ctx, userId, ctx.now());
  if (opened.length === 0) return opened; // nothing to check: no read of the user record
  return opened.filter(await revokedFilter(ctx, userId));
}

/** The "your devices" view of a live session. */
function infoOf(ctx: Context, entry: OpenedSession, t: number): Omit<SessionInfo, 'current'> {
  const { key, record } = entry;
  const m = entry.payload.meta;
  return {
    handle: key,
    createdAt: m.createdAt,
    lastSeenAt: Math.max(m.lastSeenAt, Math.min(t, record.expiresAt - ctx.idle)),
    expiresAt: record.expiresAt,
    absoluteExpiresAt: m.absoluteExpiresAt,
    ip: m.ip,
    userAgent: m.userAgent,
    persistent: m.persistent,
  };
}

function requireAbility(ctx: Context, name: 'listByUser' | 'deleteByUser'): void {
  if (typeof ctx.store[name] !== 'function') {
    throw new ConfigError(
      `The ${ctx.store.name} store has no \`${name}\`; per-user features need it.`,
    );
  }
}
